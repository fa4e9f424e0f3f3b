// kafkajs 2.2.4 consumer groups against Fjord's group coordinator: join, sync, heartbeats,
// rebalancing between members, committed offsets that survive a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';

const { Kafka, logLevel } = kafkajs;
type Consumer = ReturnType<InstanceType<typeof Kafka>['consumer']>;

let broker: RunningBroker;
let dataDir: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fjord-kjs-groups-'));
  broker = await startBroker({ dataDir, config: { 'group.initial.rebalance.delay.ms': '0' } });
});
after(async () => {
  await broker.close();
});

function kafka(port = broker.port): InstanceType<typeof Kafka> {
  return new Kafka({ clientId: 'kjs-groups', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 50 } });
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('two kafkajs consumers in one group share the partitions and consume everything once', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'grp', numPartitions: 4 }] });
  await admin.disconnect();
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({ topic: 'grp', messages: Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });

  const seen = new Map<string, string>();
  const consumers: Consumer[] = [];
  const assignments = new Map<number, number[]>();
  for (let c = 0; c < 2; c++) {
    const consumer = kafka().consumer({ groupId: 'analytics-group', sessionTimeout: 10_000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
    consumer.on(consumer.events.GROUP_JOIN, (e: { payload: { memberAssignment: Record<string, number[]> } }) => {
      assignments.set(c, e.payload.memberAssignment['grp'] ?? []);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'grp', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const v = message.value!.toString();
        assert.ok(!seen.has(v) || seen.get(v) === `${partition}`, `duplicate ${v}`);
        seen.set(v, `${partition}`);
      },
    });
    consumers.push(consumer);
  }
  await waitFor(() => seen.size === 200, 20_000, 'all 200 messages');
  await waitFor(() => assignments.size === 2 && [...assignments.values()].every((a) => a.length === 2), 20_000, 'a balanced assignment');
  const all = [...assignments.values()].flat().sort();
  assert.deepEqual(all, [0, 1, 2, 3]);

  // Committed offsets cover everything once the consumers stop.
  for (const c of consumers) await c.disconnect();
  const admin2 = kafka().admin();
  await admin2.connect();
  const offsets = await admin2.fetchOffsets({ groupId: 'analytics-group', topics: ['grp'] });
  const committed = offsets[0]!.partitions.reduce((s, p) => s + Number(p.offset), 0);
  assert.equal(committed, 200);
  const groups = await admin2.listGroups();
  assert.ok(groups.groups.some((g) => g.groupId === 'analytics-group'));
  const described = await admin2.describeGroups(['analytics-group']);
  assert.equal(described.groups[0]!.state, 'Empty');
  await admin2.disconnect();
  await producer.disconnect();
});

test('committed offsets survive a broker restart and a new consumer resumes after them', async () => {
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({ topic: 'resume', messages: Array.from({ length: 10 }, (_, i) => ({ value: `first-${i}` })) });
  const first = kafka().consumer({ groupId: 'resumers', maxWaitTimeInMs: 100 });
  await first.connect();
  await first.subscribe({ topic: 'resume', fromBeginning: true });
  let count = 0;
  await first.run({ eachMessage: async () => void count++ });
  await waitFor(() => count === 10, 15_000, 'first batch');
  await first.disconnect();
  await producer.disconnect();

  const port = broker.port;
  await broker.close();
  broker = await startBroker({ dataDir, port, config: { 'group.initial.rebalance.delay.ms': '0' } });

  const p2 = kafka(port).producer();
  await p2.connect();
  await p2.send({ topic: 'resume', messages: Array.from({ length: 5 }, (_, i) => ({ value: `second-${i}` })) });
  await p2.disconnect();
  const second = kafka(port).consumer({ groupId: 'resumers', maxWaitTimeInMs: 100 });
  const got: string[] = [];
  await second.connect();
  await second.subscribe({ topic: 'resume', fromBeginning: true });
  await second.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
  await waitFor(() => got.length >= 5, 15_000, 'second batch');
  await new Promise((r) => setTimeout(r, 300));
  await second.disconnect();
  assert.deepEqual(got, ['second-0', 'second-1', 'second-2', 'second-3', 'second-4']);
});
