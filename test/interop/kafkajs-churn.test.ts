// Churn: kafkajs group members join and leave at random while a producer writes. Checked: within one
// generation no partition is owned by two members, and every record is consumed at least once.
// FJORD_CHURN_SECONDS sets the duration (a minute by default).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { decodeAssignment } from '../../src/client/consumer-protocol.js';

const { Kafka, logLevel } = kafkajs;
type Consumer = ReturnType<InstanceType<typeof Kafka>['consumer']>;
const SECONDS = Number(process.env['FJORD_CHURN_SECONDS'] ?? 60);
const SEED = Number(process.env['FJORD_CHURN_SEED'] ?? 424242);
const MEMBERS_MAX = 5;

test(`consumer group churn for ${SECONDS} s (seed ${SEED})`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  const broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '1000' } });
  const rnd = new SeededRandom(SEED);
  const kafka = new Kafka({ clientId: 'churn', brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 50 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'churn', numPartitions: 6 }] });
  await admin.disconnect();

  // What the coordinator handed out, per generation: member -> partitions (from its SyncGroup effects).
  const handedOut = new Map<number, Map<string, number[]>>();
  const coordinator = broker.broker.groups.coordinator;
  const originalSync = coordinator.sync.bind(coordinator);
  coordinator.sync = (req, meta, now) => {
    const effects = originalSync(req, meta, now);
    const g = coordinator.group(req.groupId);
    if (g !== undefined && g.state === 'Stable' && effects.records.length > 0) {
      const byMember = new Map<string, number[]>();
      for (const m of g.members.values()) byMember.set(m.memberId, decodeAssignment(m.assignment).flatMap((a) => [...a.partitions]));
      handedOut.set(g.generation, byMember);
    }
    return effects;
  };
  // What each kafkajs member says it was given.
  const observed: Array<{ memberId: string; partitions: number[] }> = [];
  const violations: string[] = [];
  const consumed = new Set<string>();
  const members: Array<{ consumer: Consumer; id: number }> = [];
  let nextId = 0;

  const join = async (): Promise<void> => {
    const id = nextId++;
    const consumer = kafka.consumer({ groupId: 'churners', sessionTimeout: 6000, rebalanceTimeout: 10_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    consumer.on(consumer.events.GROUP_JOIN, (e: { payload: { memberId: string; memberAssignment: Record<string, number[]> } }) => {
      observed.push({ memberId: e.payload.memberId, partitions: [...(e.payload.memberAssignment['churn'] ?? [])].sort() });
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'churn', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void consumed.add(message.value!.toString()) });
    members.push({ consumer, id });
  };
  const leave = async (): Promise<void> => {
    const i = rnd.int(0, members.length - 1);
    const [m] = members.splice(i, 1);
    await m!.consumer.disconnect();
  };

  const producer = kafka.producer();
  await producer.connect();
  let produced = 0;
  const end = Date.now() + SECONDS * 1000;
  const producing = (async () => {
    while (Date.now() < end) {
      await producer.send({ topic: 'churn', messages: Array.from({ length: 10 }, () => ({ key: `k${produced % 97}`, value: String(produced++) })) });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await join();
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, rnd.int(200, 1500)));
      if (members.length === 0 || (members.length < MEMBERS_MAX && rnd.bool())) await join();
      else await leave();
    }
    await producing;
    // Let a last member drain everything.
    if (members.length === 0) await join();
    const drainEnd = Date.now() + 60_000;
    while (consumed.size < produced && Date.now() < drainEnd) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await Promise.all(members.map((m) => m.consumer.disconnect()));
    await producer.disconnect();
    await broker.close();
  }
  // Within one generation, no partition went to two members, and together they cover the topic.
  for (const [generation, byMember] of handedOut) {
    const owner = new Map<number, string>();
    for (const [member, partitions] of byMember) {
      for (const p of partitions) {
        const other = owner.get(p);
        if (other !== undefined) violations.push(`generation ${generation}: partition ${p} owned by ${other} and ${member}`);
        owner.set(p, member);
      }
    }
    if (owner.size !== 6) violations.push(`generation ${generation}: ${owner.size} of 6 partitions assigned`);
  }
  // Every assignment a member acted on is one the coordinator handed out in some generation.
  for (const o of observed) {
    const match = [...handedOut.values()].some((byMember) => JSON.stringify([...(byMember.get(o.memberId) ?? [])].sort()) === JSON.stringify(o.partitions));
    if (!match) violations.push(`member ${o.memberId} acted on ${JSON.stringify(o.partitions)}, which no generation gave it`);
  }
  assert.deepEqual(violations, []);
  assert.ok(handedOut.size >= 3, `only ${handedOut.size} generations: not much churn`);
  const missing: number[] = [];
  for (let v = 0; v < produced; v++) if (!consumed.has(String(v))) missing.push(v);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${produced} records never consumed`);
});
