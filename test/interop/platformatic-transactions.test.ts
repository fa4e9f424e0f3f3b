// @platformatic/kafka 1.35.0's transactional producer against Fjord's transaction coordinator, the
// same scenarios as kafkajs-transactions.test.ts: commit and abort across partitions (read_committed
// sees only committed records, read_uncommitted sees everything), an open transaction holding
// read_committed consumers at the last stable offset, zombie fencing by a second producer with the same
// transactional id, consumer offsets committed only with the transaction, and a stalled transaction
// aborted by its transaction timeout.
// How the library maps onto them, and where it falls short:
// - `new Producer({ idempotent: true, transactionalId })` + `producer.beginTransaction()` returns a
//   Transaction with send / addConsumer / addOffset / commit / abort. It speaks only flexible versions
//   (InitProducerId v5, AddPartitionsToTxn v4, EndTxn v4), so fencing shows up as PRODUCER_FENCED, or
//   INVALID_PRODUCER_EPOCH from Produce.
// - No transaction.timeout.ms option: InitProducerId sends the client's request `timeout` as the
//   transaction timeout, so the timeout scenario sets `timeout` on that producer.
// - No kafkajs-style sendOffsets with arbitrary offsets: only addConsumer(consumer) + addOffset(message),
//   which commits message.offset + 1 for a message that consumer received (TxnOffsetCommit carries its
//   member id and generation). The offsets scenario is therefore a real copier in a consumer group.
// - InitProducerId always sends producerId 0 / epoch 0 unless told otherwise (not -1/-1 as a fresh Java
//   producer does). Apache Kafka (TransactionCoordinator.isValidProducerId), and Fjord with it, answers
//   PRODUCER_FENCED when the transactional id already belongs to a producer id other than 0, so the
//   successor in the fencing scenario passes `{ producerId: -1n, producerEpoch: -1 }` to beginTransaction.
// - The consumer (isolationLevel defaults to READ_COMMITTED) filters aborted batches itself from the
//   Fetch response's abortedTransactions, but keeps one aborted range per producer id: with two aborted
//   transactions of one producer in one response, the earlier one's records leak to read_committed.
//   So the consumer-level commit/abort scenario gives each aborted round its own transactional id, and a
//   separate test checks the single-producer interleaving (markers, aborted-transaction index) at the
//   Fetch level through the client's own Fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Consumer, Producer, stringSerializers, stringDeserializers, MessagesStreamModes, FetchIsolationLevels, type Message } from '@platformatic/kafka';
import { sleep, waitFor, useTxnBroker, txnStateOf, SeenCollector, commitAbortRounds, expectFailure, assertFenced, assertCommittedVersusAll, assertHeldAtLso, assertZombieInvisible, assertOnlyLaterVisible } from './txn-fixtures.js';

type StringConsumer = Consumer<string, string, string, string>;
type StringProducer = Producer<string, string, string, string>;
type StringMessage = Message<string, string, string, string>;

const broker = useTxnBroker();
let groupSeq = 0;

const base = (clientId: string): { clientId: string; bootstrapBrokers: string[]; retries: number; retryDelay: number } => ({
  clientId,
  bootstrapBrokers: [broker().bootstrapServers],
  retries: 5,
  retryDelay: 50,
});

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = new Admin(base('pk-txn-admin'));
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** A consumer in a fresh group reading a topic from the beginning, collecting what it sees. */
class Collector extends SeenCollector {
  readonly errors: unknown[] = [];
  private constructor(readonly consumer: StringConsumer) {
    super();
  }

  static async start(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<Collector> {
    const consumer: StringConsumer = new Consumer({
      ...base('pk-txn-reader'),
      groupId: `pk-txn-reader-${++groupSeq}`,
      deserializers: stringDeserializers,
      isolationLevel: isolation === 'read_committed' ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
      maxWaitTime: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 300,
    });
    const c = new Collector(consumer);
    try {
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
      stream.on('data', (m: StringMessage) => {
        c.seen.push({ partition: m.partition, offset: Number(m.offset), key: m.key ?? '', value: m.value ?? '' });
      });
      stream.on('error', (e: unknown) => c.errors.push(e));
    } catch (e) {
      await closeQuietly(consumer);
      throw e;
    }
    return c;
  }

  async stop(): Promise<void> {
    await closeQuietly(this.consumer);
  }
}

function txnProducer(transactionalId: string, timeout?: number): StringProducer {
  return new Producer({
    ...base('pk-txn'),
    ...(timeout === undefined ? {} : { timeout }),
    idempotent: true,
    transactionalId,
    serializers: stringSerializers,
  });
}

function plainProducer(): StringProducer {
  return new Producer({ ...base('pk-txn-plain'), serializers: stringSerializers });
}

/** Flatten a platformatic error (MultipleErrors / ProtocolError / cause chains) into one line. */
function describe(err: unknown): string {
  if (err === null || typeof err !== 'object') return String(err);
  const e = err as { name?: string; code?: string; apiId?: string; message?: string; cause?: unknown; errors?: unknown[] };
  const inner = e.cause !== undefined ? ` <- ${describe(e.cause)}` : '';
  const many = Array.isArray(e.errors) ? ` [${e.errors.map(describe).join('; ')}]` : '';
  return `${e.name ?? 'Error'}(${e.code ?? ''}${e.apiId !== undefined ? `/${e.apiId}` : ''}): ${e.message ?? ''}${inner}${many}`;
}

/** Force-close a client, ignoring errors (the promise overload of close(force)). */
async function closeQuietly(client: { close(force?: boolean): Promise<void> }): Promise<void> {
  await client.close(true).catch(() => {});
}

const txnState = (transactionalId: string): string | undefined => txnStateOf(broker(), transactionalId);
const startCollector = (topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<Collector> => Collector.start(topic, isolation);

test('platformatic transactions: commits are visible to read_committed, aborts only to read_uncommitted, across partitions', { timeout: 60_000 }, async () => {
  const topic = 'pk-txn-basic';
  await createTopic(topic, 3);
  // Each aborted round has its own transactional id (so its own producer id): the client's aborted-range
  // filter keeps one range per producer id (see the top of the file). The single-producer interleaving
  // is checked at the Fetch level by the next test.
  const committer = txnProducer('pk-basic');
  const aborters = [txnProducer('pk-basic-abort-1'), txnProducer('pk-basic-abort-3')];
  const collectors: Collector[] = [];
  try {
    const { expectCommitted, expectAll } = await commitAbortRounds(async (round, commit, perPartition) => {
      const producer = commit ? committer : aborters[(round - 1) / 2]!;
      const txn = await producer.beginTransaction();
      for (const messages of perPartition) await txn.send({ messages: messages.map((m) => ({ topic, ...m })) });
      if (commit) await txn.commit();
      else await txn.abort();
    });
    await waitFor(() => txnState('pk-basic-abort-3') === 'CompleteAbort', 10_000, 'the last transaction (an abort) to complete');

    await assertCommittedVersusAll(startCollector, topic, collectors, expectCommitted, expectAll, (committed, uncommitted) => {
      assert.deepEqual(committed.errors.map(describe), []);
      assert.deepEqual(uncommitted.errors.map(describe), []);
    });
  } finally {
    for (const c of collectors) await c.stop();
    await closeQuietly(committer);
    for (const a of aborters) await closeQuietly(a);
  }
});

test('platformatic Fetch: one producer\'s interleaved commits and aborts, markers and the aborted-transaction index', { timeout: 60_000 }, async () => {
  const topic = 'pk-txn-index';
  await createTopic(topic, 1);
  const producer = txnProducer('pk-index');
  const reader: StringConsumer = new Consumer({ ...base('pk-txn-index-reader'), groupId: 'unused-fetch-only' });
  try {
    for (let round = 0; round < 4; round++) {
      const txn = await producer.beginTransaction();
      await txn.send({ messages: [0, 1, 2].map((i) => ({ topic, partition: 0, key: `k-${round}-${i}`, value: `${round % 2 === 0 ? 'committed' : 'aborted'}-${round}-${i}` })) });
      if (round % 2 === 0) await txn.commit();
      else await txn.abort();
    }
    await waitFor(() => txnState('pk-index') === 'CompleteAbort', 10_000, 'the last transaction (an abort) to complete');
    const pid = producer.producerId!;
    const meta = await reader.metadata({ topics: [topic] });
    const t = meta.topics.get(topic)!;
    const fetchFrom = async (fetchOffset: bigint, isolationLevel: number) => {
      const res = await reader.fetch({
        node: t.partitions[0]!.leader,
        maxWaitTime: 100,
        isolationLevel,
        topics: [{ topicId: t.id, partitions: [{ partition: 0, fetchOffset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
      });
      const p = res.responses[0]!.partitions[0]!;
      assert.equal(p.errorCode, 0);
      return p;
    };

    // The log: three records then a control marker per transaction (COMMIT = 1, ABORT = 0).
    const all = await fetchFrom(0n, FetchIsolationLevels.READ_UNCOMMITTED);
    assert.equal(all.highWatermark, 16n);
    assert.equal(all.lastStableOffset, 16n);
    const layout = (all.records ?? []).map((b) => {
      const control = (b.attributes & (1 << 5)) !== 0;
      return {
        firstOffset: Number(b.firstOffset),
        lastOffset: Number(b.firstOffset) + b.lastOffsetDelta,
        transactional: (b.attributes & (1 << 4)) !== 0,
        control,
        producerId: b.producerId,
        what: control ? (b.records[0]!.key!.readInt16BE(2) === 1 ? 'COMMIT' : 'ABORT') : b.records.map((r) => r.value?.toString()).join(','),
      };
    });
    const expected = [];
    for (let round = 0; round < 4; round++) {
      const kind = round % 2 === 0 ? 'committed' : 'aborted';
      expected.push({ firstOffset: round * 4, lastOffset: round * 4 + 2, transactional: true, control: false, producerId: pid, what: [0, 1, 2].map((i) => `${kind}-${round}-${i}`).join(',') });
      expected.push({ firstOffset: round * 4 + 3, lastOffset: round * 4 + 3, transactional: true, control: true, producerId: pid, what: round % 2 === 0 ? 'COMMIT' : 'ABORT' });
    }
    assert.deepEqual(layout, expected);

    // read_committed: every aborted transaction overlapping the fetched range, by its first offset.
    const abortedFrom = async (offset: bigint): Promise<Array<[bigint, bigint]>> =>
      (await fetchFrom(offset, FetchIsolationLevels.READ_COMMITTED)).abortedTransactions.map((a) => [a.producerId, a.firstOffset]);
    assert.deepEqual(await abortedFrom(0n), [[pid, 4n], [pid, 12n]]);
    assert.deepEqual(await abortedFrom(5n), [[pid, 4n], [pid, 12n]], 'a fetch inside the first aborted transaction still lists it');
    assert.deepEqual(await abortedFrom(8n), [[pid, 12n]], 'the first aborted transaction ended before offset 8');
    assert.deepEqual(await abortedFrom(16n), []);
  } finally {
    await closeQuietly(reader);
    await closeQuietly(producer);
  }
});

test('platformatic: an open transaction holds read_committed consumers at the last stable offset', { timeout: 60_000 }, async () => {
  const topic = 'pk-txn-lso';
  await createTopic(topic, 1);
  const tx = txnProducer('pk-lso');
  const plain = plainProducer();
  const collectors: Collector[] = [];
  try {
    await plain.send({ acks: -1, messages: [{ topic, partition: 0, key: 'before', value: 'before-0' }] });
    const txn = await tx.beginTransaction();
    await txn.send({ messages: [{ topic, partition: 0, key: 'txn', value: 'txn-0' }] });
    await plain.send({ acks: -1, messages: [0, 1, 2].map((i) => ({ topic, partition: 0, key: 'after', value: `after-${i}` })) });

    await assertHeldAtLso(startCollector, topic, collectors, () => txn.commit(), 300);
  } finally {
    for (const c of collectors) await c.stop();
    await closeQuietly(tx);
    await closeQuietly(plain);
  }
});

test('platformatic: a second producer with the same transactional id fences the first; the zombie\'s records never appear', { timeout: 60_000 }, async () => {
  const topic = 'pk-txn-zombie';
  await createTopic(topic, 2);
  const zombie = txnProducer('pk-fenced');
  const successor = txnProducer('pk-fenced');
  const collectors: Collector[] = [];
  try {
    const zt = await zombie.beginTransaction();
    await zt.send({ messages: [{ topic, partition: 0, key: 'z', value: 'zombie-0' }, { topic, partition: 1, key: 'z', value: 'zombie-1' }] });
    const zombieEpoch = zombie.producerEpoch;

    // InitProducerId: bumps the epoch and aborts the zombie's transaction. -1/-1 as a new Java producer
    // sends; the library's default 0/0 claims producer id 0 and is fenced, as Apache Kafka does (top).
    const st = await successor.beginTransaction({ producerId: -1n, producerEpoch: -1 });
    assert.equal(successor.producerId, zombie.producerId, 'same transactional id, same producer id');
    assert.ok(successor.producerEpoch! > zombieEpoch!, `the successor's epoch ${successor.producerEpoch} is above the zombie's ${zombieEpoch}`);

    // Partition 0 is already in the zombie's transaction, so this goes straight to Produce.
    const sendErr = await expectFailure(zt.send({ messages: [{ topic, partition: 0, key: 'z', value: 'zombie-2' }] }), 'the fenced producer\'s send must fail');
    assertFenced(sendErr, describe);
    const commitErr = await expectFailure(zt.commit(), 'the fenced producer\'s commit must fail');
    assertFenced(commitErr, describe);

    await st.send({ messages: [{ topic, partition: 0, key: 's', value: 'successor-0' }, { topic, partition: 1, key: 's', value: 'successor-1' }] });
    await st.commit();
    await waitFor(() => txnState('pk-fenced') === 'CompleteCommit', 10_000, 'the successor\'s commit to complete');

    await assertZombieInvisible(startCollector, topic, collectors);
  } finally {
    for (const c of collectors) await c.stop();
    await closeQuietly(zombie);
    await closeQuietly(successor);
  }
});

test('platformatic addConsumer/addOffset: a copier\'s group offsets change when the transaction commits, never on abort', { timeout: 60_000 }, async () => {
  const input = 'pk-txn-copy-in';
  const output = 'pk-txn-copy-out';
  const groupId = 'pk-copier';
  await createTopic(input, 2);
  await createTopic(output, 1);
  const plain = plainProducer();
  const producer = txnProducer('pk-offsets');
  const admin = new Admin(base('pk-txn-offsets-admin'));
  const copier: StringConsumer = new Consumer({ ...base('pk-copier'), groupId, deserializers: stringDeserializers, maxWaitTime: 100, sessionTimeout: 10_000, heartbeatInterval: 300 });
  const offsetsOf = async (): Promise<Record<number, number>> => {
    const res = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const out: Record<number, number> = {};
    for (const t of res[0]?.topics ?? []) {
      if (t.name !== input) continue;
      for (const p of t.partitions) out[p.partitionIndex] = Number(p.committedOffset);
    }
    return out;
  };
  const waitOffsets = async (want: Record<number, number>, what: string): Promise<void> => {
    let now: Record<number, number> = {};
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      now = await offsetsOf();
      if (JSON.stringify(now) === JSON.stringify(want)) break;
      await sleep(20);
    }
    assert.deepEqual(now, want, what);
  };
  try {
    for (let p = 0; p < 2; p++) {
      await plain.send({ acks: -1, messages: Array.from({ length: 12 }, (_, i) => ({ topic: input, partition: p, key: `in-${p}`, value: `in-${p}-${i}` })) });
    }
    const received: StringMessage[] = [];
    const stream = await copier.consume({ topics: [input], mode: MessagesStreamModes.COMMITTED, fallbackMode: 'earliest', autocommit: false });
    stream.on('data', (m: StringMessage) => received.push(m));
    await waitFor(() => received.length >= 24, 15_000, 'the copier to read its input');
    const at = (partition: number, offset: number): StringMessage => {
      const m = received.find((x) => x.partition === partition && x.offset === BigInt(offset));
      assert.ok(m !== undefined, `the copier received ${partition}@${offset}`);
      return m;
    };
    assert.deepEqual(await offsetsOf(), {}, 'nothing committed yet');

    // Commit: offsets 5 and 7 (the positions after 0@4 and 1@6) become the group's.
    const t1 = await producer.beginTransaction();
    await t1.send({ messages: [{ topic: output, partition: 0, key: 'a', value: 'out-1' }] });
    await t1.addConsumer(copier);
    await t1.addOffset(at(0, 4));
    await t1.addOffset(at(1, 6));
    assert.deepEqual(await offsetsOf(), {}, 'pending transactional offsets are not committed offsets');
    await t1.commit();
    await waitOffsets({ 0: 5, 1: 7 }, 'committed with the transaction');

    // Abort: 9 and 11 are discarded.
    const t2 = await producer.beginTransaction();
    await t2.send({ messages: [{ topic: output, partition: 0, key: 'b', value: 'out-2' }] });
    await t2.addConsumer(copier);
    await t2.addOffset(at(0, 8));
    await t2.addOffset(at(1, 10));
    await t2.abort();
    await waitFor(() => txnState('pk-offsets') === 'CompleteAbort', 10_000, 'the abort to complete (markers written)');
    assert.deepEqual(await offsetsOf(), { 0: 5, 1: 7 }, 'an aborted transaction leaves the offsets alone');

    // A later commit still works after the abort (offsets only, no records).
    const t3 = await producer.beginTransaction();
    await t3.addConsumer(copier);
    await t3.addOffset(at(1, 11));
    await t3.commit();
    await waitFor(() => txnState('pk-offsets') === 'CompleteCommit', 10_000, 'the third transaction to complete');
    await waitOffsets({ 0: 5, 1: 12 }, 'the third transaction\'s offset');
  } finally {
    await closeQuietly(copier);
    await closeQuietly(producer);
    await closeQuietly(plain);
    await admin.close().catch(() => {});
  }
});

test('platformatic: a transaction stalled past its transaction timeout is aborted by the broker', { timeout: 60_000 }, async () => {
  const topic = 'pk-txn-timeout';
  await createTopic(topic, 1);
  const producer = txnProducer('pk-stalled', 1500); // `timeout` doubles as InitProducerId's transactionTimeoutMs
  const plain = plainProducer();
  const collectors: Collector[] = [];
  try {
    const txn = await producer.beginTransaction();
    await txn.send({ messages: [{ topic, partition: 0, key: 'stalled', value: 'stalled-0' }] });
    assert.equal(txnState('pk-stalled'), 'Ongoing');
    await waitFor(() => txnState('pk-stalled') === 'CompleteAbort', 10_000, 'the broker to abort the stalled transaction');
    const commitErr = await expectFailure(txn.commit(), 'committing a transaction the broker aborted must fail');
    assertFenced(commitErr, describe);

    await plain.send({ acks: -1, messages: [{ topic, partition: 0, key: 'later', value: 'later-0' }] });
    await assertOnlyLaterVisible(startCollector, topic, collectors);
  } finally {
    for (const c of collectors) await c.stop();
    await closeQuietly(producer);
    await closeQuietly(plain);
  }
});
