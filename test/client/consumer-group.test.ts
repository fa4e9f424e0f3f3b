// Consumer group membership against the embedded broker: subscribe, rebalances (eager and
// cooperative) with their listeners, committed offsets, eviction of a member that stops
// heartbeating, max.poll.interval.ms, static membership, regex subscriptions, commit errors, and
// the group features of assign().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, createProducer, type Producer, type RunningBroker } from '../../src/index.js';
import { tcpConnector } from '../../src/io/tcp-connector.js';
import type { Connector, Transport } from '../../src/client/transport.js';
import { ClientError } from '../../src/client/errors.js';
import {
  createConsumer, CommitFailedError, NoOffsetForPartitionError, RebalanceInProgressError,
  type Consumer, type ConsumerOptions, type ConsumerRecord, type RebalanceListener, type TopicPartition,
} from '../../src/client/consumer/index.js';

type Rec = ConsumerRecord<Buffer | null, Buffer | null>;
type C = Consumer<Buffer | null, Buffer | null>;

let broker: RunningBroker;
let producer: Producer;

before(async () => {
  // Low session timeouts keep eviction tests fast; no initial delay so a lone member joins at once.
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '100' } });
  producer = createProducer({ bootstrapServers: broker.bootstrapServers, lingerMs: 0 });
});

after(async () => {
  await producer.close();
  await broker.close();
});

/** Fast group timings: heartbeats every 100 ms, sessions of 2 s. */
const FAST = {
  sessionTimeoutMs: 2_000,
  heartbeatIntervalMs: 100,
  autoOffsetReset: 'earliest',
  retryBackoffMs: 50,
  fetchMaxWaitMs: 100,
  autoCommitIntervalMs: 200,
} as const;

function member(groupId: string, extra: Partial<ConsumerOptions<Buffer | null, Buffer | null>> = {}): C {
  return createConsumer({ bootstrapServers: broker.bootstrapServers, groupId, ...FAST, ...extra });
}

function topic(name: string, partitions: number): string {
  broker.broker.createTopic(name, partitions, 1, {});
  return name;
}

async function produce(t: string, partitions: number, perPartition: number, tag = 'v'): Promise<void> {
  const sends = [];
  for (let p = 0; p < partitions; p++) for (let i = 0; i < perPartition; i++) sends.push(producer.send({ topic: t, partition: p, key: Buffer.from(`k${i}`), value: Buffer.from(`${tag}-${p}-${i}`) }));
  await Promise.all(sends);
}

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const names = (tps: readonly TopicPartition[]): string[] => tps.map((tp) => `${tp.topic}-${tp.partition}`).sort();

/** A member polling in the background, as an application would, recording records and callbacks. */
class Runner {
  readonly records: Rec[] = [];
  readonly events: Array<[string, string[]]> = [];
  readonly errors: unknown[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(readonly c: C) {}

  readonly listener: RebalanceListener = {
    onPartitionsAssigned: (p) => void this.events.push(['assigned', names(p)]),
    onPartitionsRevoked: (p) => void this.events.push(['revoked', names(p)]),
    onPartitionsLost: (p) => void this.events.push(['lost', names(p)]),
  };

  start(): this {
    this.stopped = false;
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          this.records.push(...(await this.c.poll({ timeoutMs: 50 })));
        } catch (err) {
          this.errors.push(err);
        }
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.loop = null;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.c.close();
  }

  assigned(): string[] {
    return names(this.c.assignment());
  }

  kinds(): string[] {
    return this.events.map(([k]) => k);
  }
}

function groupState(groupId: string): { state: string; generation: number; members: number } {
  const g = broker.broker.groups.coordinator.group(groupId);
  return g === undefined ? { state: 'none', generation: -1, members: 0 } : { state: g.state, generation: g.generation, members: g.members.size };
}

function committedOf(groupId: string, t: string, p: number): bigint | null {
  return broker.broker.groups.coordinator.group(groupId)?.offsets.get(`${t}\u0000${p}`)?.offset ?? null;
}

test('subscribe, consume, commit and close; a new member resumes after the committed offsets', async () => {
  const t = topic('g-resume', 2);
  await produce(t, 2, 5, 'first');
  const c1 = member('g-resume', { enableAutoCommit: false });
  c1.subscribe([t]);
  assert.deepEqual(c1.subscription(), [t]);
  const got: Rec[] = [];
  const deadline = Date.now() + 15_000;
  while (got.length < 10 && Date.now() < deadline) got.push(...(await c1.poll({ timeoutMs: 100 })));
  assert.equal(got.length, 10);
  assert.deepEqual(names(c1.assignment()), [`${t}-0`, `${t}-1`]);
  const meta = c1.groupMetadata();
  assert.equal(meta.groupId, 'g-resume');
  assert.ok(meta.generationId >= 1 && meta.memberId !== '', JSON.stringify(meta));
  // Commit everything delivered except the last record of partition 1.
  await c1.commit([{ topic: t, partition: 0, offset: 5n }, { topic: t, partition: 1, offset: 4n, metadata: 'almost' }]);
  const committed = await c1.committed([{ topic: t, partition: 0 }, { topic: t, partition: 1 }]);
  assert.deepEqual(committed.map((c) => [c.partition, c.offset, c.metadata]), [[0, 5n, ''], [1, 4n, 'almost']]);
  await c1.close();
  assert.deepEqual(groupState('g-resume'), { state: 'Empty', generation: groupState('g-resume').generation, members: 0 }, 'close() left the group');

  await produce(t, 2, 2, 'second');
  const c2 = member('g-resume', { enableAutoCommit: false });
  c2.subscribe([t]);
  const again: Rec[] = [];
  const d2 = Date.now() + 15_000;
  while (again.length < 5 && Date.now() < d2) again.push(...(await c2.poll({ timeoutMs: 100 })));
  assert.deepEqual(again.map((r) => `${r.partition}:${r.offset}:${r.value!.toString()}`).sort(), ['0:5:second-0-0', '0:6:second-0-1', '1:4:first-1-4', '1:5:second-1-0', '1:6:second-1-1']);
  assert.equal(await c2.position({ topic: t, partition: 0 }), 7n);
  // commitAsync reports to its callback; commit() without offsets commits every delivered position.
  const asyncResult = await new Promise<[Error | null, string[]]>((resolve) => c2.commitAsync([{ topic: t, partition: 0, offset: 6n }], (err, offsets) => resolve([err, offsets.map((o) => `${o.partition}:${o.offset}`)])));
  assert.deepEqual(asyncResult, [null, ['0:6']]);
  assert.equal(committedOf('g-resume', t, 0), 6n);
  await c2.commit();
  assert.equal(committedOf('g-resume', t, 0), 7n);
  assert.equal(committedOf('g-resume', t, 1), 7n);
  await c2.close();
  await assert.rejects(c2.commit(), (e: unknown) => e instanceof ClientError && e.code === 'CLIENT_CLOSED');
});

test('auto-commit: delivered positions are committed periodically and on close', async () => {
  const t = topic('g-auto', 1);
  await produce(t, 1, 4);
  const c = member('g-auto');
  c.subscribe([t]);
  const got: Rec[] = [];
  const deadline = Date.now() + 15_000;
  while (got.length < 4 && Date.now() < deadline) got.push(...(await c.poll({ timeoutMs: 100, maxRecords: 4 - got.length })));
  assert.equal(got.length, 4);
  // The next polls (within autoCommitIntervalMs) commit what the previous ones returned.
  const d2 = Date.now() + 5_000;
  while (committedOf('g-auto', t, 0) !== 4n && Date.now() < d2) await c.poll({ timeoutMs: 50 });
  assert.equal(committedOf('g-auto', t, 0), 4n);
  await produce(t, 1, 1);
  const more: Rec[] = [];
  const d3 = Date.now() + 10_000;
  while (more.length < 1 && Date.now() < d3) more.push(...(await c.poll({ timeoutMs: 100 })));
  await c.close();
  assert.equal(committedOf('g-auto', t, 0), 5n, 'close() commits what was delivered');
});

test('three members split six partitions evenly and every record is consumed exactly once', async () => {
  const t = topic('g-split', 6);
  const runners = [0, 1, 2].map(() => new Runner(member('g-split')));
  for (const r of runners) {
    r.c.subscribe([t], r.listener);
    r.start();
  }
  await waitFor('an even split', () => runners.every((r) => r.assigned().length === 2) && new Set(runners.flatMap((r) => r.assigned())).size === 6 && groupState('g-split').state === 'Stable');
  // Subscribing again to the same topics changes nothing: no rebalance.
  const generation = groupState('g-split').generation;
  runners[0]!.c.subscribe([t], runners[0]!.listener);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(groupState('g-split').generation, generation);
  await produce(t, 6, 20);
  await waitFor('120 records', () => runners.reduce((n, r) => n + r.records.length, 0) >= 120);
  await new Promise((r) => setTimeout(r, 300));
  const all = runners.flatMap((r) => r.records.map((x) => `${x.partition}:${x.offset}`));
  assert.equal(all.length, 120);
  assert.equal(new Set(all).size, 120, 'no record twice');
  for (const r of runners) {
    const mine = new Set(r.assigned());
    for (const rec of r.records) assert.ok(mine.has(`${t}-${rec.partition}`), 'records only from own partitions');
  }
  for (const r of runners) assert.deepEqual(r.errors, []);
  await Promise.all(runners.map((r) => r.close()));
  assert.equal(groupState('g-split').members, 0);
});

test('eager (range): a member joining and leaving rebalances the group; listeners see everything revoked, then the new assignment', async () => {
  const t = topic('g-eager', 4);
  const a = new Runner(member('g-eager', { partitionAssignors: ['range'] }));
  a.c.subscribe([t], a.listener);
  a.start();
  await waitFor('a owns all', () => a.assigned().length === 4);
  assert.deepEqual(a.events, [['assigned', [`${t}-0`, `${t}-1`, `${t}-2`, `${t}-3`]]]);
  const b = new Runner(member('g-eager', { partitionAssignors: ['range'] }));
  b.c.subscribe([t], b.listener);
  b.start();
  await waitFor('two each', () => a.assigned().length === 2 && b.assigned().length === 2);
  assert.deepEqual(a.events.slice(1), [['revoked', [`${t}-0`, `${t}-1`, `${t}-2`, `${t}-3`]], ['assigned', a.assigned()]]);
  assert.deepEqual(b.events, [['assigned', b.assigned()]]);
  assert.deepEqual([...a.assigned(), ...b.assigned()].sort(), [`${t}-0`, `${t}-1`, `${t}-2`, `${t}-3`]);
  const aHad = a.assigned();
  await b.close();
  assert.deepEqual(b.events.slice(1), [['revoked', b.assigned().length === 0 ? b.events[0]![1] : b.assigned()]]);
  await waitFor('a owns all again', () => a.assigned().length === 4);
  assert.deepEqual(a.events.slice(3), [['revoked', aHad], ['assigned', [`${t}-0`, `${t}-1`, `${t}-2`, `${t}-3`]]]);
  await a.close();
  assert.deepEqual(a.errors, []);
});

test('cooperative-sticky: only the partitions that move are revoked, and they move in a second rebalance', async () => {
  const t = topic('g-coop', 4);
  const opts = { partitionAssignors: ['cooperative-sticky'] as const };
  const a = new Runner(member('g-coop', opts));
  a.c.subscribe([t], a.listener);
  a.start();
  await waitFor('a owns all', () => a.assigned().length === 4);
  await produce(t, 4, 5);
  await waitFor('a read 20', () => a.records.length >= 20);
  const b = new Runner(member('g-coop', opts));
  b.c.subscribe([t], b.listener);
  b.start();
  await waitFor('two each', () => a.assigned().length === 2 && b.assigned().length === 2 && groupState('g-coop').state === 'Stable');
  // a gave up exactly the two partitions b got, and never the two it kept.
  const revokedFromA = a.events.filter(([k]) => k === 'revoked').flatMap(([, p]) => p);
  assert.deepEqual(revokedFromA.sort(), b.assigned());
  assert.ok(!a.kinds().includes('lost'));
  for (const kept of a.assigned()) assert.ok(!revokedFromA.includes(kept));
  assert.deepEqual(b.events.filter(([k, p]) => k === 'assigned' && p.length > 0).flatMap(([, p]) => p), b.assigned());
  assert.ok(!b.kinds().includes('revoked'));
  // Committed before the hand-over: b starts where a stopped, so nothing is read twice.
  await produce(t, 4, 5);
  await waitFor('40 records in all', () => a.records.length + b.records.length >= 40);
  await new Promise((r) => setTimeout(r, 300));
  const all = [...a.records, ...b.records].map((x) => `${x.partition}:${x.offset}`);
  assert.equal(all.length, 40);
  assert.equal(new Set(all).size, 40);
  // b leaves: a only gains, nothing of a's is revoked.
  const aEvents = a.events.length;
  await b.close();
  await waitFor('a owns all again', () => a.assigned().length === 4);
  assert.deepEqual(a.events.slice(aEvents).filter(([k]) => k !== 'assigned'), []);
  await a.close();
  assert.deepEqual([...a.errors, ...b.errors], []);
});

/** A connector whose sockets can be frozen: nothing in or out, as when a process hangs. */
function freezable(): { connector: Connector; freeze(): void; thaw(): void } {
  let frozen = false;
  const connector: Connector = async (host, port, handlers, timeoutMs) => {
    if (frozen) throw new Error('frozen');
    const inner: Transport = await tcpConnector(host, port, { onData: (d) => { if (!frozen) handlers.onData(d); }, onClose: (e) => handlers.onClose(e) }, timeoutMs);
    return { write: (chunks) => { if (!frozen) inner.write(chunks); }, close: () => inner.close() };
  };
  return { connector, freeze: () => void (frozen = true), thaw: () => void (frozen = false) };
}

test('a member that stops heartbeating is evicted after its session; its partitions go to the others, and it finds them lost', async () => {
  const t = topic('g-evict', 4);
  const net = freezable();
  const a = new Runner(member('g-evict', { sessionTimeoutMs: 1_000, requestTimeoutMs: 1_000, connector: net.connector }));
  const b = new Runner(member('g-evict'));
  a.c.subscribe([t], a.listener);
  b.c.subscribe([t], b.listener);
  a.start();
  b.start();
  await waitFor('two each', () => a.assigned().length === 2 && b.assigned().length === 2);
  const aHad = a.assigned();
  // a's process hangs: no polls, no heartbeats.
  await a.stop();
  net.freeze();
  await waitFor('b owns all', () => b.assigned().length === 4, 10_000);
  assert.equal(groupState('g-evict').members, 1);
  net.thaw();
  // a learns it was removed: the commit fails, its partitions are lost (not revoked), and it rejoins.
  await waitFor('a notices', () => a.c.groupMetadata().generationId === -1, 10_000);
  await assert.rejects(a.c.commit([{ topic: t, partition: Number(aHad[0]!.split('-').pop()), offset: 0n }]), (e: unknown) => e instanceof CommitFailedError);
  a.start();
  await waitFor('two each again', () => a.assigned().length === 2 && b.assigned().length === 2);
  const lost = a.events.find(([k]) => k === 'lost');
  assert.deepEqual(lost, ['lost', aHad]);
  await Promise.all([a.close(), b.close()]);
});

test('maxPollIntervalMs: a member that stops polling leaves the group, and rejoins at its next poll', async () => {
  const t = topic('g-maxpoll', 4);
  const a = new Runner(member('g-maxpoll', { maxPollIntervalMs: 800 }));
  const b = new Runner(member('g-maxpoll'));
  a.c.subscribe([t], a.listener);
  b.c.subscribe([t], b.listener);
  a.start();
  b.start();
  await waitFor('two each', () => a.assigned().length === 2 && b.assigned().length === 2);
  const aHad = a.assigned();
  await a.stop();
  // Without polls for 800 ms a sends LeaveGroup (it does not wait for its session to expire).
  await waitFor('b owns all', () => b.assigned().length === 4, 10_000);
  assert.equal(groupState('g-maxpoll').members, 1);
  assert.equal(a.c.groupMetadata().memberId, '');
  a.start();
  await waitFor('two each again', () => a.assigned().length === 2 && b.assigned().length === 2);
  assert.deepEqual(a.events.filter(([k]) => k === 'lost'), [['lost', aHad]]);
  await Promise.all([a.close(), b.close()]);
});

test('static membership: a restart with the same groupInstanceId gets the same partitions without a rebalance', async () => {
  const t = topic('g-static', 4);
  await produce(t, 4, 3);
  const a = new Runner(member('g-static', { groupInstanceId: 'instance-a', partitionAssignors: ['range'] }));
  const b = new Runner(member('g-static', { groupInstanceId: 'instance-b', partitionAssignors: ['range'] }));
  a.c.subscribe([t], a.listener);
  b.c.subscribe([t], b.listener);
  a.start();
  b.start();
  await waitFor('two each, all read', () => a.assigned().length === 2 && b.assigned().length === 2 && a.records.length + b.records.length >= 12 && groupState('g-static').state === 'Stable');
  await new Promise((r) => setTimeout(r, 300));
  const aHad = a.assigned();
  const generation = groupState('g-static').generation;
  const bEvents = b.events.length;
  // Static members do not leave on close: the group keeps a's place for its session.
  await a.close();
  assert.equal(groupState('g-static').members, 2);
  await produce(t, 4, 1, 'later');
  const a2 = new Runner(member('g-static', { groupInstanceId: 'instance-a', partitionAssignors: ['range'] }));
  a2.c.subscribe([t], a2.listener);
  a2.start();
  await waitFor('a2 has a partitions', () => a2.assigned().length === 2);
  assert.deepEqual(a2.assigned(), aHad);
  await waitFor('a2 read its new records', () => a2.records.length >= 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(a2.records.map((r) => r.value!.toString().split('-')[0]), ['later', 'later'], 'resumed after what a committed');
  assert.equal(groupState('g-static').generation, generation, 'no rebalance');
  assert.equal(b.events.length, bEvents, 'b saw no rebalance');
  await Promise.all([a2.close(), b.close()]);
});

test('regex subscription: a newly created matching topic is picked up', async () => {
  topic('rx-one', 1);
  topic('other-rx', 1);
  const r = new Runner(member('g-regex', { metadataMaxAgeMs: 200 }));
  r.c.subscribe(/rx-.*/, r.listener);
  r.start();
  await waitFor('rx-one assigned', () => r.assigned().length === 1);
  assert.deepEqual(r.assigned(), ['rx-one-0'], 'whole-name match: other-rx does not match');
  assert.deepEqual(r.c.subscription(), ['rx-one']);
  topic('rx-two', 2);
  await waitFor('rx-two assigned', () => r.assigned().length === 3);
  await producer.send({ topic: 'rx-two', partition: 1, value: Buffer.from('new topic') });
  await waitFor('its record', () => r.records.some((x) => x.topic === 'rx-two'));
  assert.ok(!r.c.subscription().some((s) => s.startsWith('__')), 'internal topics excluded');
  await r.close();
  assert.deepEqual(r.errors, []);
});

test('the leader rebalances when a subscribed topic appears or gains partitions', async () => {
  const a = new Runner(member('g-grow', { metadataMaxAgeMs: 200 }));
  const b = new Runner(member('g-grow', { metadataMaxAgeMs: 200 }));
  a.c.subscribe(['g-grow-later'], a.listener);
  b.c.subscribe(['g-grow-later'], b.listener);
  a.start();
  b.start();
  await waitFor('both joined, nothing to assign', () => groupState('g-grow').state === 'Stable' && groupState('g-grow').members === 2);
  assert.deepEqual([...a.assigned(), ...b.assigned()], []);
  topic('g-grow-later', 2);
  await waitFor('the new topic split', () => a.assigned().length === 1 && b.assigned().length === 1);
  broker.broker.logs.addPartitions('g-grow-later', 4);
  await waitFor('the new partitions split', () => a.assigned().length === 2 && b.assigned().length === 2);
  assert.deepEqual([...a.assigned(), ...b.assigned()].sort(), ['g-grow-later-0', 'g-grow-later-1', 'g-grow-later-2', 'g-grow-later-3']);
  await Promise.all([a.close(), b.close()]);
  assert.deepEqual([...a.errors, ...b.errors], []);
});

test('a commit while the member is rejoining fails with RebalanceInProgressError, and works again after the rebalance', async () => {
  const t = topic('g-commit-rebalancing', 2);
  const a = new Runner(member('g-commit-rebalancing', { enableAutoCommit: false }));
  const b = new Runner(member('g-commit-rebalancing'));
  a.c.subscribe([t]);
  b.c.subscribe([t]);
  a.start();
  b.start();
  await waitFor('one each', () => a.assigned().length === 1 && b.assigned().length === 1);
  // b keeps heartbeating but stops polling: the next rebalance waits for it to rejoin.
  await b.stop();
  const c = new Runner(member('g-commit-rebalancing'));
  c.c.subscribe([t]);
  c.start();
  // The coordinator accepts commits of the current generation while it waits for members (as Kafka
  // does); once a has sent its JoinGroup it has no generation to commit with until the join completes.
  let error: unknown = null;
  const deadline = Date.now() + 10_000;
  while (error === null && Date.now() < deadline) {
    await a.c.commit([{ topic: t, partition: 0, offset: 1n }]).catch((e: unknown) => void (error = e));
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(error instanceof RebalanceInProgressError && error.retriable, String(error));
  b.start();
  await waitFor('the rebalance completes', () => groupState('g-commit-rebalancing').state === 'Stable' && a.c.groupMetadata().generationId === groupState('g-commit-rebalancing').generation);
  await a.c.commit([{ topic: t, partition: 0, offset: 1n }]);
  assert.equal(committedOf('g-commit-rebalancing', t, 0), 1n);
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('assign() with a groupId starts from committed offsets and commits without membership; assign and subscribe are exclusive', async () => {
  const t = topic('g-assign', 2);
  await produce(t, 2, 3);
  const c = member('g-assign-group', { enableAutoCommit: false });
  c.assign([{ topic: t, partition: 0 }, { topic: t, partition: 1 }]);
  assert.throws(() => c.subscribe([t]), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
  await c.commit([{ topic: t, partition: 0, offset: 2n }]);
  await c.close();
  const c2 = member('g-assign-group', { enableAutoCommit: false, autoOffsetReset: 'latest' });
  c2.assign([{ topic: t, partition: 0 }, { topic: t, partition: 1 }]);
  assert.equal(await c2.position({ topic: t, partition: 0 }), 2n, 'committed offset');
  assert.equal(await c2.position({ topic: t, partition: 1 }), 3n, 'nothing committed: autoOffsetReset latest');
  await c2.unsubscribe();
  assert.deepEqual(c2.assignment(), []);
  c2.subscribe([t]);
  assert.throws(() => c2.assign([{ topic: t, partition: 0 }]), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
  await c2.close();
  const none = member('g-assign-none', { autoOffsetReset: 'none' });
  none.subscribe([t]);
  await assert.rejects(async () => {
    const d = Date.now() + 10_000;
    while (Date.now() < d) await none.poll({ timeoutMs: 50 });
  }, (e: unknown) => e instanceof NoOffsetForPartitionError);
  await none.close();
});

test('group options and calls are checked', async () => {
  const noGroup = createConsumer({ bootstrapServers: broker.bootstrapServers });
  assert.throws(() => noGroup.subscribe(['x']), /needs a groupId/);
  await assert.rejects(noGroup.commit(), /needs a groupId/);
  await noGroup.close();
  assert.throws(() => createConsumer({ bootstrapServers: broker.bootstrapServers, enableAutoCommit: true }), /needs a groupId/);
  assert.throws(() => createConsumer({ bootstrapServers: broker.bootstrapServers, groupId: 'g', heartbeatIntervalMs: 5_000, sessionTimeoutMs: 5_000 }), /lower than sessionTimeoutMs/);
  assert.throws(() => createConsumer({ bootstrapServers: broker.bootstrapServers, groupId: '' }), /non-empty/);
  const c = member('g-checks');
  assert.throws(() => c.subscribe([]), /at least one topic/);
  await assert.rejects(c.commit([{ topic: 't', partition: 0, offset: -1n }]), /invalid offset/);
  // Before joining, explicit commits have no generation to carry.
  c.subscribe(['whatever']);
  await assert.rejects(c.commit([{ topic: 'whatever', partition: 0, offset: 1n }]), (e: unknown) => e instanceof CommitFailedError);
  await c.close();
  // A session timeout outside the broker's bounds is the broker's INVALID_SESSION_TIMEOUT, thrown by poll.
  const bad = member('g-checks-2', { sessionTimeoutMs: 50, heartbeatIntervalMs: 10 });
  bad.subscribe(['whatever']);
  await assert.rejects(async () => {
    const d = Date.now() + 10_000;
    while (Date.now() < d) await bad.poll({ timeoutMs: 50 });
  }, /INVALID_SESSION_TIMEOUT/);
  await bad.close();
});

test('the coordinator restarts: the member finds it again and keeps its membership and partitions', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-group-restart-'));
  const config = { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '100' };
  let b1: RunningBroker | null = await startBroker({ dataDir, config });
  const port = b1.port;
  let b2: RunningBroker | null = null;
  try {
    b1.broker.createTopic('g-restart', 2, 1, {});
    const r = new Runner(createConsumer({ bootstrapServers: b1.bootstrapServers, groupId: 'g-restart', ...FAST, sessionTimeoutMs: 5_000, requestTimeoutMs: 2_000, enableAutoCommit: false }));
    r.c.subscribe(['g-restart'], r.listener);
    r.start();
    await waitFor('assigned', () => r.assigned().length === 2);
    const before = r.c.groupMetadata();
    await b1.close();
    b1 = null;
    b2 = await startBroker({ dataDir, port, config });
    // Heartbeats fail, the member looks the coordinator up again, and the replayed group still knows it.
    await r.c.commit([{ topic: 'g-restart', partition: 0, offset: 0n }]);
    await new Promise((res) => setTimeout(res, 600));
    assert.deepEqual(r.c.groupMetadata(), before);
    assert.equal(b2.broker.groups.coordinator.group('g-restart')?.state, 'Stable');
    assert.deepEqual(r.assigned(), ['g-restart-0', 'g-restart-1']);
    assert.deepEqual(r.kinds(), ['assigned']);
    await r.close();
    assert.equal(b2.broker.groups.coordinator.group('g-restart')?.members.size, 0);
  } finally {
    await b1?.close();
    await b2?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
