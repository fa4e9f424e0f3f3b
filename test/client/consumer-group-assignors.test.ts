// The partition assignors as tables: Kafka's RangeAssignor and RoundRobinAssignor results (including
// the examples in their Javadoc), and CooperativeStickyAssignor's balance, stickiness and
// cooperative hand-over, plus seeded random scenarios checked against the invariants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor, resolveAssignors, rebalanceProtocolOf, type MemberSubscription, type PartitionAssignor } from '../../src/client/group/index.js';
import type { TopicPartition } from '../../src/client/consumer/index.js';

/** "t0-1" names partition 1 of t0. */
const tp = (s: string): TopicPartition => {
  const i = s.lastIndexOf('-');
  return { topic: s.slice(0, i), partition: Number(s.slice(i + 1)) };
};
const name = (p: TopicPartition): string => `${p.topic}-${p.partition}`;

interface M {
  id: string;
  topics: string[];
  owned?: string[];
  generation?: number;
  instance?: string;
}

function members(list: readonly M[]): MemberSubscription[] {
  return list.map((m) => ({ memberId: m.id, groupInstanceId: m.instance ?? null, topics: m.topics, ownedPartitions: (m.owned ?? []).map(tp), generationId: m.generation ?? -1 }));
}

function run(a: PartitionAssignor, topics: Record<string, number>, list: readonly M[]): Record<string, string[]> {
  const out = a.assign(new Map(Object.entries(topics)), members(list));
  const r: Record<string, string[]> = {};
  for (const [id, parts] of out) r[id] = parts.map(name).sort(byTopicPartition);
  return r;
}

function byTopicPartition(a: string, b: string): number {
  const x = tp(a);
  const y = tp(b);
  return x.topic === y.topic ? x.partition - y.partition : x.topic < y.topic ? -1 : 1;
}

interface Case {
  name: string;
  topics: Record<string, number>;
  members: M[];
  expect: Record<string, string[]>;
}

const rangeCases: Case[] = [
  { name: 'one topic, partitions divide evenly', topics: { t0: 4 }, members: [{ id: 'b', topics: ['t0'] }, { id: 'a', topics: ['t0'] }], expect: { a: ['t0-0', 't0-1'], b: ['t0-2', 't0-3'] } },
  { name: 'the first members get the remainder', topics: { t0: 3, t1: 3 }, members: [{ id: 'c0', topics: ['t0', 't1'] }, { id: 'c1', topics: ['t0', 't1'] }], expect: { c0: ['t0-0', 't0-1', 't1-0', 't1-1'], c1: ['t0-2', 't1-2'] } },
  { name: 'per topic: only its subscribers share it', topics: { t0: 2, t1: 2 }, members: [{ id: 'a', topics: ['t0'] }, { id: 'b', topics: ['t0', 't1'] }], expect: { a: ['t0-0'], b: ['t0-1', 't1-0', 't1-1'] } },
  { name: 'more members than partitions', topics: { t0: 2 }, members: [{ id: 'a', topics: ['t0'] }, { id: 'b', topics: ['t0'] }, { id: 'c', topics: ['t0'] }], expect: { a: ['t0-0'], b: ['t0-1'], c: [] } },
  { name: 'a topic that does not exist is skipped', topics: { t0: 2 }, members: [{ id: 'a', topics: ['t0', 'missing'] }], expect: { a: ['t0-0', 't0-1'] } },
  { name: 'static members come first, by instance id', topics: { t0: 3 }, members: [{ id: 'a', topics: ['t0'] }, { id: 'z', topics: ['t0'], instance: 'i2' }, { id: 'y', topics: ['t0'], instance: 'i1' }], expect: { y: ['t0-0'], z: ['t0-1'], a: ['t0-2'] } },
  { name: 'six partitions, three members', topics: { t: 6 }, members: [{ id: 'm1', topics: ['t'] }, { id: 'm2', topics: ['t'] }, { id: 'm3', topics: ['t'] }], expect: { m1: ['t-0', 't-1'], m2: ['t-2', 't-3'], m3: ['t-4', 't-5'] } },
];

const roundRobinCases: Case[] = [
  // RoundRobinAssignor's Javadoc, first example.
  { name: 'same subscriptions: dealt in turn', topics: { t0: 3, t1: 3 }, members: [{ id: 'C0', topics: ['t0', 't1'] }, { id: 'C1', topics: ['t0', 't1'] }], expect: { C0: ['t0-0', 't0-2', 't1-1'], C1: ['t0-1', 't1-0', 't1-2'] } },
  // RoundRobinAssignor's Javadoc, second example.
  {
    name: 'different subscriptions: members not subscribed are skipped',
    topics: { t0: 1, t1: 2, t2: 3 },
    members: [{ id: 'C0', topics: ['t0'] }, { id: 'C1', topics: ['t0', 't1'] }, { id: 'C2', topics: ['t0', 't1', 't2'] }],
    expect: { C0: ['t0-0'], C1: ['t1-0'], C2: ['t1-1', 't2-0', 't2-1', 't2-2'] },
  },
  { name: 'topics and members sorted first', topics: { b: 2, a: 2 }, members: [{ id: 'y', topics: ['b', 'a'] }, { id: 'x', topics: ['a', 'b'] }], expect: { x: ['a-0', 'b-0'], y: ['a-1', 'b-1'] } },
  { name: 'static members first', topics: { t: 3 }, members: [{ id: 'a', topics: ['t'] }, { id: 'b', topics: ['t'], instance: 'static' }], expect: { b: ['t-0', 't-2'], a: ['t-1'] } },
];

const stickyCases: Case[] = [
  { name: 'fresh group: balanced', topics: { t: 6 }, members: [{ id: 'a', topics: ['t'] }, { id: 'b', topics: ['t'] }, { id: 'c', topics: ['t'] }], expect: { a: ['t-0', 't-3'], b: ['t-1', 't-4'], c: ['t-2', 't-5'] } },
  {
    name: 'two join an owner of all: it keeps its share, the rest waits for its revocation',
    topics: { t: 6 },
    members: [{ id: 'a', topics: ['t'], owned: ['t-0', 't-1', 't-2', 't-3', 't-4', 't-5'], generation: 1 }, { id: 'b', topics: ['t'] }, { id: 'c', topics: ['t'] }],
    expect: { a: ['t-0', 't-1'], b: [], c: [] },
  },
  {
    name: 'the second rebalance hands over what was revoked',
    topics: { t: 6 },
    members: [{ id: 'a', topics: ['t'], owned: ['t-0', 't-1'], generation: 2 }, { id: 'b', topics: ['t'], generation: 2 }, { id: 'c', topics: ['t'], generation: 2 }],
    expect: { a: ['t-0', 't-1'], b: ['t-2', 't-4'], c: ['t-3', 't-5'] },
  },
  {
    name: 'a member leaves: the others keep theirs and split its partitions',
    topics: { t: 6 },
    members: [{ id: 'a', topics: ['t'], owned: ['t-0', 't-1'], generation: 3 }, { id: 'b', topics: ['t'], owned: ['t-2', 't-3'], generation: 3 }],
    expect: { a: ['t-0', 't-1', 't-4'], b: ['t-2', 't-3', 't-5'] },
  },
  {
    name: 'sticky when balanced: nothing moves',
    topics: { t: 4 },
    members: [{ id: 'a', topics: ['t'], owned: ['t-1', 't-3'], generation: 5 }, { id: 'b', topics: ['t'], owned: ['t-0', 't-2'], generation: 5 }],
    expect: { a: ['t-1', 't-3'], b: ['t-0', 't-2'] },
  },
  {
    name: 'the newest generation wins a contested partition',
    topics: { t: 2 },
    members: [{ id: 'a', topics: ['t'], owned: ['t-0'], generation: 4 }, { id: 'b', topics: ['t'], owned: ['t-0', 't-1'], generation: 3 }],
    expect: { a: ['t-0'], b: ['t-1'] },
  },
  {
    name: 'two claims at the same generation: withheld from both this round',
    topics: { t: 2 },
    members: [{ id: 'a', topics: ['t'], owned: ['t-0'], generation: 4 }, { id: 'b', topics: ['t'], owned: ['t-0', 't-1'], generation: 4 }],
    expect: { a: [], b: ['t-1'] },
  },
  {
    name: 'owned partitions of an unsubscribed or deleted topic do not count',
    topics: { t: 2, u: 1 },
    members: [{ id: 'a', topics: ['t'], owned: ['u-0', 'gone-0', 't-5'], generation: 2 }, { id: 'b', topics: ['t', 'u'], generation: 2 }],
    expect: { a: ['t-0'], b: ['t-1', 'u-0'] },
  },
  {
    name: 'different subscriptions: balanced as far as subscriptions allow',
    topics: { t1: 2, t2: 2 },
    members: [{ id: 'a', topics: ['t1'] }, { id: 'b', topics: ['t1', 't2'] }],
    expect: { a: ['t1-0', 't1-1'], b: ['t2-0', 't2-1'] },
  },
];

for (const [assignor, cases] of [[rangeAssignor, rangeCases], [roundRobinAssignor, roundRobinCases], [cooperativeStickyAssignor, stickyCases]] as const) {
  for (const c of cases) {
    test(`${assignor.name}: ${c.name}`, () => {
      assert.deepEqual(run(assignor, c.topics, c.members), c.expect);
    });
  }
}

/** A seeded generator (tests stay reproducible). */
function lcg(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % n;
  };
}

test('cooperative-sticky: random groups stay valid, balanced, sticky and cooperative over many rebalances', () => {
  const rand = lcg(42);
  const topicNames = ['a', 'b', 'c', 'd'];
  for (let scenario = 0; scenario < 40; scenario++) {
    const topics: Record<string, number> = {};
    for (const t of topicNames) topics[t] = 1 + rand(8);
    const uniform = scenario % 2 === 0;
    let group: M[] = Array.from({ length: 1 + rand(5) }, (_, i) => ({ id: `m${scenario}-${i}`, topics: uniform ? topicNames : topicNames.filter(() => rand(2) === 0).concat(['a']) }));
    let generation = 1;
    for (let round = 0; round < 8; round++) {
      const result = run(cooperativeStickyAssignor, topics, group);
      // Valid: each partition at most once, only to a subscriber.
      const seen = new Map<string, string>();
      for (const m of group) {
        for (const p of result[m.id]!) {
          assert.ok(!seen.has(p), `${p} assigned twice`);
          seen.set(p, m.id);
          assert.ok(m.topics.includes(tp(p).topic), `${p} given to ${m.id}, not subscribed`);
        }
      }
      // Cooperative: nothing goes to a member while another still owns it.
      for (const m of group) for (const p of result[m.id]!) for (const o of group) if (o !== m) assert.ok(!(o.owned ?? []).includes(p), `${p} moved from ${o.id} to ${m.id} in one rebalance`);
      // Sticky: with equal subscriptions a member keeps its owned partitions up to its fair share.
      const total = Object.values(topics).reduce((x, y) => x + y, 0);
      if (uniform) {
        for (const m of group) {
          const kept = (m.owned ?? []).filter((p) => result[m.id]!.includes(p)).length;
          assert.ok(kept >= Math.min((m.owned ?? []).length, Math.floor(total / group.length)), `${m.id} kept ${kept} of ${(m.owned ?? []).length}`);
        }
      }
      // Balanced after the hand-over round (no owner left to revoke from): uniform groups within one.
      const everyoneSettled = group.every((m) => (m.owned ?? []).every((p) => result[m.id]!.includes(p)));
      if (uniform && everyoneSettled) {
        const sizes = group.map((m) => result[m.id]!.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unbalanced: ${JSON.stringify(sizes)}`);
        assert.equal(sizes.reduce((x, y) => x + y, 0), total, 'every partition assigned once settled');
      }
      // Next round: members own what they got; someone may join or leave.
      generation++;
      group = group.map((m) => ({ ...m, owned: result[m.id]!, generation }));
      const change = rand(4);
      if (change === 0 && group.length > 1) group.splice(rand(group.length), 1);
      else if (change === 1) group.push({ id: `m${scenario}-new${round}`, topics: uniform ? topicNames : ['a', 'c'] });
    }
  }
});

test('cooperative-sticky: after a join, the second rebalance moves exactly what the first revoked', () => {
  const topics = { t: 9 };
  const first = run(cooperativeStickyAssignor, topics, [{ id: 'a', topics: ['t'], owned: ['t-0', 't-1', 't-2', 't-3', 't-4'], generation: 1 }, { id: 'b', topics: ['t'], owned: ['t-5', 't-6', 't-7', 't-8'], generation: 1 }, { id: 'c', topics: ['t'] }]);
  assert.deepEqual(first, { a: ['t-0', 't-1', 't-2'], b: ['t-5', 't-6', 't-7'], c: [] });
  const second = run(cooperativeStickyAssignor, topics, [{ id: 'a', topics: ['t'], owned: first.a, generation: 2 }, { id: 'b', topics: ['t'], owned: first.b, generation: 2 }, { id: 'c', topics: ['t'], owned: [], generation: 2 }]);
  assert.deepEqual(second, { a: ['t-0', 't-1', 't-2'], b: ['t-5', 't-6', 't-7'], c: ['t-3', 't-4', 't-8'] });
});

test('assignor configuration: names resolve, duplicates and unknown names are rejected, protocol follows the weakest', () => {
  assert.deepEqual(resolveAssignors(['range', 'cooperative-sticky']).map((a) => a.name), ['range', 'cooperative-sticky']);
  assert.throws(() => resolveAssignors([]), /at least one/);
  assert.throws(() => resolveAssignors(['sticky' as 'range']), /unknown partition assignor/);
  assert.throws(() => resolveAssignors(['range', 'range']), /more than once/);
  assert.equal(rebalanceProtocolOf(resolveAssignors(['range', 'cooperative-sticky'])), 'eager');
  assert.equal(rebalanceProtocolOf(resolveAssignors(['cooperative-sticky'])), 'cooperative');
  const custom: PartitionAssignor = { name: 'mine', supportedProtocols: ['cooperative'], assign: (_t, ms) => new Map(ms.map((m) => [m.memberId, []])) };
  assert.equal(rebalanceProtocolOf(resolveAssignors([custom, 'cooperative-sticky'])), 'cooperative');
});
