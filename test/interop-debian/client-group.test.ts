// A mixed consumer group: the Fjord consumer and a librdkafka consumer (confluent-kafka through
// /usr/bin/python3, partition.assignment.strategy=range) share a topic's partitions, whichever of
// them leads the group and runs the assignor, and each record is read once. When the librdkafka
// member leaves, the Fjord member takes over its partitions after its committed offsets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, createProducer, type Producer, type RunningBroker } from '../../src/index.js';
import { createConsumer, type Consumer, type ConsumerRecord } from '../../src/client/consumer/index.js';
import { PYTHON, pyScript, spawnTracked, waitExit } from './helpers.js';

let broker: RunningBroker;
let producer: Producer;

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '1000' } });
  producer = createProducer({ bootstrapServers: broker.bootstrapServers, lingerMs: 0 });
});

after(async () => {
  await producer.close();
  await broker.close();
});

type Rec = ConsumerRecord<Buffer | null, Buffer | null>;
interface PyMember { seen: Array<[number, number, string]>; events: Array<[string, number[]]>; assignment: number[] }

async function waitFor(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function group(id: string): { state: string; members: number; protocol: string | null } {
  const g = broker.broker.groups.coordinator.group(id);
  return { state: g?.state ?? 'none', members: g?.members.size ?? 0, protocol: g?.protocol ?? null };
}

/** The Fjord member, polling in the background like an application. */
function fjordMember(groupId: string): { c: Consumer<Buffer | null, Buffer | null>; records: Rec[]; errors: unknown[]; stop: () => Promise<void> } {
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, groupId, partitionAssignors: ['range'], autoOffsetReset: 'earliest', sessionTimeoutMs: 6_000, heartbeatIntervalMs: 200, autoCommitIntervalMs: 200, fetchMaxWaitMs: 100 });
  const records: Rec[] = [];
  const errors: unknown[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        records.push(...(await c.poll({ timeoutMs: 100 })));
      } catch (err) {
        errors.push(err);
      }
    }
  })();
  return { c, records, errors, stop: async () => {
    stopped = true;
    await loop;
    await c.close();
  } };
}

async function produce(topic: string, perPartition: number, tag: string): Promise<void> {
  const sends = [];
  for (let p = 0; p < 4; p++) for (let i = 0; i < perPartition; i++) sends.push(producer.send({ topic, partition: p, value: Buffer.from(`${tag}-${p}-${i}`) }));
  await Promise.all(sends);
}

for (const leader of ['fjord', 'librdkafka'] as const) {
  test(`a Fjord and a librdkafka consumer (range) share the partitions, the ${leader} member leading`, async () => {
    const topic = `mixed-${leader}`;
    const groupId = `mixed-group-${leader}`;
    broker.broker.createTopic(topic, 4, 1, {});
    let fjord: ReturnType<typeof fjordMember> | null = null;
    if (leader === 'fjord') {
      fjord = fjordMember(groupId);
      fjord.c.subscribe([topic]);
      await waitFor('the Fjord member alone', () => fjord!.c.assignment().length === 4);
    }
    const py = spawnTracked(PYTHON, [pyScript('client_group_member.py'), broker.bootstrapServers, topic, groupId, '20', '45']);
    let out = '';
    let err = '';
    py.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    py.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      if (fjord === null) {
        await waitFor('the librdkafka member alone', () => group(groupId).state === 'Stable' && group(groupId).members === 1);
        fjord = fjordMember(groupId);
        fjord.c.subscribe([topic]);
      }
      const f = fjord;
      await waitFor('two members, two partitions each', () => group(groupId).state === 'Stable' && group(groupId).members === 2 && f.c.assignment().length === 2);
      assert.equal(group(groupId).protocol, 'range');
      const mine = f.c.assignment().map((tp) => tp.partition).sort();
      await produce(topic, 10, 'first');
      await waitFor('the Fjord member read its 20', () => f.records.length >= 20);
      const exit = await waitExit(py, 60_000);
      assert.equal(exit.code, 0, err.slice(-3000));
      const theirs = JSON.parse(out.trim().split('\n').pop()!) as PyMember;
      assert.equal(theirs.seen.length, 20, err.slice(-3000));
      const theirPartitions = [...new Set(theirs.seen.map(([p]) => p))].sort();
      assert.deepEqual(theirs.assignment, theirPartitions);
      assert.deepEqual([...mine, ...theirPartitions].sort(), [0, 1, 2, 3], 'the two members split the partitions');
      const all = [...f.records.map((r) => `${r.partition}:${r.offset}`), ...theirs.seen.map(([p, o]) => `${p}:${o}`)];
      assert.equal(new Set(all).size, 40, 'each record read once');
      assert.equal(all.length, 40);

      // librdkafka left (close sends LeaveGroup): the Fjord member takes over after its commits.
      await waitFor('the Fjord member owns all', () => f.c.assignment().length === 4);
      await produce(topic, 2, 'second');
      await waitFor('the Fjord member read 8 more', () => f.records.length >= 28);
      await new Promise((r) => setTimeout(r, 300));
      const later = f.records.slice(20).map((r) => r.value!.toString().split('-')[0]);
      assert.deepEqual(later, Array.from({ length: 8 }, () => 'second'), 'resumed after what librdkafka committed');
      assert.deepEqual(f.errors, []);
    } finally {
      if (py.exitCode === null) py.kill('SIGKILL');
      await fjord?.stop();
    }
  });
}
