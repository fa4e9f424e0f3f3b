// kafkajs 2.2.4's transactional producer against Fjord's transaction coordinator: commit and abort
// across partitions (read_committed sees only committed records, read_uncommitted sees everything),
// an open transaction holding read_committed consumers at the last stable offset, zombie fencing by a
// second producer with the same transactional id, sendOffsets committed only with the transaction, and
// a stalled transaction aborted by its transaction.timeout.ms.
// kafkajs speaks the old versions (InitProducerId v1, AddPartitionsToTxn v1, EndTxn v1, Fetch <= v11),
// so fencing shows up as INVALID_PRODUCER_EPOCH (PRODUCER_FENCED exists only from the flexible versions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { sleep, waitFor, useTxnBroker, txnStateOf, SeenCollector, commitAbortRounds, expectFailure, assertFenced, assertCommittedVersusAll, assertHeldAtLso, assertZombieInvisible, assertOnlyLaterVisible } from './txn-fixtures.js';

const { Kafka, logLevel } = kafkajs;
type KafkaClient = InstanceType<typeof Kafka>;
type Consumer = ReturnType<KafkaClient['consumer']>;
type Producer = ReturnType<KafkaClient['producer']>;

const broker = useTxnBroker();
let groupSeq = 0;

function kafka(): KafkaClient {
  return new Kafka({ clientId: 'kjs-txn', brokers: [broker().bootstrapServers], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 500 } });
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }] });
  } finally {
    await admin.disconnect();
  }
}

/** A consumer in a fresh group reading a topic from the beginning, collecting what it sees. */
class Collector extends SeenCollector {
  private constructor(readonly consumer: Consumer) {
    super();
  }

  static async start(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<Collector> {
    const consumer = kafka().consumer({
      groupId: `kjs-txn-reader-${++groupSeq}`,
      readUncommitted: isolation === 'read_uncommitted',
      sessionTimeout: 10_000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: 100,
    });
    const c = new Collector(consumer);
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          c.seen.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? '', value: message.value?.toString() ?? '' });
        },
      });
      await waitFor(() => joined, 15_000, 'the consumer to join its group');
    } catch (e) {
      await consumer.disconnect().catch(() => {});
      throw e;
    }
    return c;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => {});
  }
}

function txnProducer(transactionalId: string, transactionTimeout = 30_000): Producer {
  return kafka().producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout, retry: { retries: 3, initialRetryTime: 50 } });
}

function describe(err: unknown): string {
  if (err === null || typeof err !== 'object') return String(err);
  const e = err as { name?: string; type?: string; message?: string; originalError?: unknown; errors?: unknown[] };
  const inner = e.originalError !== undefined ? ` <- ${describe(e.originalError)}` : '';
  const many = Array.isArray(e.errors) ? ` [${e.errors.map(describe).join('; ')}]` : '';
  return `${e.name ?? 'Error'}(${e.type ?? ''}): ${e.message ?? ''}${inner}${many}`;
}

const txnState = (transactionalId: string): string | undefined => txnStateOf(broker(), transactionalId);
const startCollector = (topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<Collector> => Collector.start(topic, isolation);

test('kafkajs transactions: commits are visible to read_committed, aborts only to read_uncommitted, across partitions', { timeout: 60_000 }, async () => {
  const topic = 'kjs-txn-basic';
  await createTopic(topic, 3);
  const producer = txnProducer('kjs-basic');
  const collectors: Collector[] = [];
  try {
    await producer.connect();
    const { expectCommitted, expectAll } = await commitAbortRounds(async (_round, commit, perPartition) => {
      const txn = await producer.transaction();
      for (const messages of perPartition) await txn.send({ topic, messages });
      if (commit) await txn.commit();
      else await txn.abort();
    });
    await waitFor(() => txnState('kjs-basic') === 'CompleteAbort', 10_000, 'the last transaction (an abort) to complete');

    await assertCommittedVersusAll(startCollector, topic, collectors, expectCommitted, expectAll);
  } finally {
    for (const c of collectors) await c.stop();
    await producer.disconnect().catch(() => {});
  }
});

test('kafkajs: an open transaction holds read_committed consumers at the last stable offset', { timeout: 60_000 }, async () => {
  const topic = 'kjs-txn-lso';
  await createTopic(topic, 1);
  const tx = txnProducer('kjs-lso');
  const plain = kafka().producer();
  const collectors: Collector[] = [];
  try {
    await tx.connect();
    await plain.connect();
    await plain.send({ topic, acks: -1, messages: [{ partition: 0, key: 'before', value: 'before-0' }] });
    const txn = await tx.transaction();
    await txn.send({ topic, messages: [{ partition: 0, key: 'txn', value: 'txn-0' }] });
    await plain.send({ topic, acks: -1, messages: [0, 1, 2].map((i) => ({ partition: 0, key: 'after', value: `after-${i}` })) });

    await assertHeldAtLso(startCollector, topic, collectors, () => txn.commit());
  } finally {
    for (const c of collectors) await c.stop();
    await tx.disconnect().catch(() => {});
    await plain.disconnect().catch(() => {});
  }
});

test('kafkajs: a second producer with the same transactional id fences the first; the zombie\'s records never appear', { timeout: 60_000 }, async () => {
  const topic = 'kjs-txn-zombie';
  await createTopic(topic, 2);
  const zombie = txnProducer('kjs-fenced');
  const successor = txnProducer('kjs-fenced');
  const collectors: Collector[] = [];
  try {
    await zombie.connect();
    const zt = await zombie.transaction();
    await zt.send({ topic, messages: [{ partition: 0, key: 'z', value: 'zombie-0' }, { partition: 1, key: 'z', value: 'zombie-1' }] });

    await successor.connect();
    const st = await successor.transaction(); // InitProducerId: bumps the epoch, aborts the zombie's transaction

    const sendErr = await expectFailure(zt.send({ topic, messages: [{ partition: 0, key: 'z', value: 'zombie-2' }] }), 'the fenced producer\'s send must fail');
    assertFenced(sendErr, describe);
    await expectFailure(zt.commit(), 'the fenced producer\'s commit must fail');

    await st.send({ topic, messages: [{ partition: 0, key: 's', value: 'successor-0' }, { partition: 1, key: 's', value: 'successor-1' }] });
    await st.commit();
    await waitFor(() => txnState('kjs-fenced') === 'CompleteCommit', 10_000, 'the successor\'s commit to complete');

    await assertZombieInvisible(startCollector, topic, collectors);
  } finally {
    for (const c of collectors) await c.stop();
    await zombie.disconnect().catch(() => {});
    await successor.disconnect().catch(() => {});
  }
});

test('kafkajs sendOffsets: the group\'s offsets change when the transaction commits, never on abort', { timeout: 60_000 }, async () => {
  const topic = 'kjs-txn-offsets';
  const groupId = 'kjs-copier';
  await createTopic(topic, 2);
  const producer = txnProducer('kjs-offsets');
  const admin = kafka().admin();
  const offsetsOf = async (): Promise<Record<number, string>> => {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries(res[0]!.partitions.map((p) => [p.partition, p.offset]));
  };
  try {
    await admin.connect();
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic, messages: [{ partition: 0, key: 'a', value: 'out-1' }] });
    await t1.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '7' }] }] });
    assert.deepEqual(await offsetsOf(), { 0: '-1', 1: '-1' }, 'pending transactional offsets are not committed offsets');
    await t1.commit();
    let now: Record<number, string> = {};
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      now = await offsetsOf();
      if (now[0] === '5') break;
      await sleep(20);
    }
    assert.deepEqual(now, { 0: '5', 1: '7' }, 'committed with the transaction');

    const t2 = await producer.transaction();
    await t2.send({ topic, messages: [{ partition: 1, key: 'b', value: 'out-2' }] });
    await t2.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '9' }, { partition: 1, offset: '11' }] }] });
    await t2.abort();
    await waitFor(() => txnState('kjs-offsets') === 'CompleteAbort', 10_000, 'the abort to complete (markers written)');
    assert.deepEqual(await offsetsOf(), { 0: '5', 1: '7' }, 'an aborted transaction leaves the offsets alone');

    // A later commit still works after the abort.
    const t3 = await producer.transaction();
    await t3.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 1, offset: '12' }] }] });
    await t3.commit();
    await waitFor(() => txnState('kjs-offsets') === 'CompleteCommit', 10_000, 'the third transaction to complete');
    assert.deepEqual(await offsetsOf(), { 0: '5', 1: '12' });
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
});

test('kafkajs: a transaction stalled past its transaction.timeout.ms is aborted by the broker', { timeout: 60_000 }, async () => {
  const topic = 'kjs-txn-timeout';
  await createTopic(topic, 1);
  const producer = txnProducer('kjs-stalled', 1500);
  const plain = kafka().producer();
  const collectors: Collector[] = [];
  try {
    await producer.connect();
    await plain.connect();
    const txn = await producer.transaction();
    await txn.send({ topic, messages: [{ partition: 0, key: 'stalled', value: 'stalled-0' }] });
    assert.equal(txnState('kjs-stalled'), 'Ongoing');
    await waitFor(() => txnState('kjs-stalled') === 'CompleteAbort', 10_000, 'the broker to abort the stalled transaction');
    const commitErr = await expectFailure(txn.commit(), 'committing a transaction the broker aborted must fail');
    assertFenced(commitErr, describe);

    await plain.send({ topic, acks: -1, messages: [{ partition: 0, key: 'later', value: 'later-0' }] });
    await assertOnlyLaterVisible(startCollector, topic, collectors);
  } finally {
    for (const c of collectors) await c.stop();
    await producer.disconnect().catch(() => {});
    await plain.disconnect().catch(() => {});
  }
});
