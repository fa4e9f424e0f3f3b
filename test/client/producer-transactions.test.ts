// The transactional producer against the embedded broker: the state machine refuses misuse;
// commit and abort as read_committed and read_uncommitted consumers see them; an open transaction
// holds read_committed at the last stable offset; a second producer with the same transactional id
// fences the first; offsets sent to a transaction commit with it; and the consume-transform-produce
// helper copies exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBroker, createConsumer, createProducer, runTransactionalCopy, deserializers, type RunningBroker, type Producer, type ProducerOptions, type Consumer } from '../../src/index.js';
import { ClientError, KafkaProtocolError } from '../../src/client/errors.js';

const TEST_TIMEOUT_MS = 60_000;
const strings = { valueSerializer: (v: string) => Buffer.from(v), keySerializer: (k: string) => Buffer.from(k) };

let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '100', 'transaction.state.log.num.partitions': '3', 'offsets.topic.num.partitions': '3' } });
});

after(async () => {
  await broker.close();
});

function txnProducer(transactionalId: string, extra: Partial<ProducerOptions<string, string>> = {}): Producer<string, string> {
  return createProducer<string, string>({ bootstrapServers: broker.bootstrapServers, transactionalId, ...strings, lingerMs: 1, retryBackoffMs: 20, maxBlockMs: 15_000, ...extra });
}

/** Every value a consumer with this isolation level reads from the topic, up to its end offsets (the LSO for read_committed). */
async function readValues(topic: string, partitions: number, isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, isolationLevel, valueDeserializer: deserializers.string, fetchMaxWaitMs: 50 });
  try {
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    c.assign(tps.map((tp) => ({ ...tp, offset: 0n })));
    const ends = await c.endOffsets(tps);
    const out: string[] = [];
    const deadline = performance.now() + 15_000;
    for (;;) {
      let done = true;
      for (const e of ends) if ((await c.position(e)) < e.offset) done = false;
      if (done) break;
      assert.ok(performance.now() < deadline, `reading ${topic} (${isolationLevel}) up to ${ends.map((e) => e.offset).join(',')} timed out with ${out.length} records`);
      for (const r of await c.poll({ timeoutMs: 100 })) out.push(r.value ?? '<null>');
    }
    return out;
  } finally {
    await c.close();
  }
}

async function endOffset(topic: string, isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<bigint> {
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, isolationLevel });
  try {
    const [e] = await c.endOffsets([{ topic, partition: 0 }]);
    return e!.offset;
  } finally {
    await c.close();
  }
}

const isFencing = (e: unknown): boolean => e instanceof KafkaProtocolError && ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH'].includes(e.code);

test('the state machine refuses misuse with clear errors', { timeout: TEST_TIMEOUT_MS }, async () => {
  const plain = createProducer({ bootstrapServers: broker.bootstrapServers });
  const p = txnProducer('misuse');
  try {
    await assert.rejects(plain.initTransactions(), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE' && /transactionalId/.test(e.message));
    assert.throws(() => p.beginTransaction(), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE');
    await assert.rejects(p.send({ topic: 'misuse', value: 'x' }), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE' && /beginTransaction/.test(e.message));
    await assert.rejects(p.commitTransaction(), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE');
    await p.initTransactions();
    await assert.rejects(p.initTransactions(), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE');
    await assert.rejects(p.send({ topic: 'misuse', value: 'x' }), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE', 'send outside a transaction');
    await assert.rejects(p.commitTransaction(), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE', 'commit without begin');
    await assert.rejects(p.abortTransaction(), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE', 'abort without begin');
    p.beginTransaction();
    assert.throws(() => p.beginTransaction(), (e: unknown) => e instanceof ClientError && e.code === 'ILLEGAL_STATE', 'begin twice');
    await p.commitTransaction(); // an empty transaction commits without the coordinator
  } finally {
    await plain.close();
    await p.close();
  }
});

test('commit: read_committed sees the records; abort: read_committed never does, read_uncommitted does', { timeout: TEST_TIMEOUT_MS }, async () => {
  broker.broker.createTopic('txn-basic', 2, 1, {});
  const p = txnProducer('basic');
  try {
    await p.initTransactions();
    p.beginTransaction();
    const committed = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const acks = committed.map((value, i) => p.send({ topic: 'txn-basic', partition: i % 2, value }));
    await p.commitTransaction();
    for (const a of await Promise.all(acks)) assert.ok(a.offset >= 0n);

    p.beginTransaction();
    const aborted = Array.from({ length: 10 }, (_, i) => `a${i}`);
    const sent = await Promise.all(aborted.map((value, i) => p.send({ topic: 'txn-basic', partition: i % 2, value })));
    assert.equal(sent.length, 10, 'the aborted records were written before the abort');
    await p.abortTransaction();

    p.beginTransaction();
    await p.send({ topic: 'txn-basic', partition: 0, value: 'after' });
    await p.commitTransaction();

    const rc = await readValues('txn-basic', 2, 'read_committed');
    assert.deepEqual([...rc].sort(), [...committed, 'after'].sort(), 'read_committed: committed records only');
    const ru = await readValues('txn-basic', 2, 'read_uncommitted');
    assert.deepEqual([...ru].sort(), [...committed, ...aborted, 'after'].sort(), 'read_uncommitted: every record, aborted ones too');
  } finally {
    await p.close();
  }
});

test('an open transaction holds read_committed at the last stable offset until it commits', { timeout: TEST_TIMEOUT_MS }, async () => {
  broker.broker.createTopic('txn-lso', 1, 1, {});
  const p = txnProducer('lso');
  const plain = createProducer<string, string>({ bootstrapServers: broker.bootstrapServers, ...strings, lingerMs: 0 });
  try {
    await plain.send({ topic: 'txn-lso', value: 'before' });
    await p.initTransactions();
    p.beginTransaction();
    const first = await p.send({ topic: 'txn-lso', value: 'open-1' });
    await p.send({ topic: 'txn-lso', value: 'open-2' });
    await plain.send({ topic: 'txn-lso', value: 'later' }); // non-transactional, after the open transaction
    assert.equal(await endOffset('txn-lso', 'read_committed'), first.offset, 'LSO = the open transaction\'s first offset');
    assert.equal(await endOffset('txn-lso', 'read_uncommitted'), 4n, 'high watermark');
    assert.deepEqual(await readValues('txn-lso', 1, 'read_committed'), ['before'], 'nothing past the LSO, not even the later non-transactional record');
    await p.commitTransaction();
    assert.deepEqual(await readValues('txn-lso', 1, 'read_committed'), ['before', 'open-1', 'open-2', 'later']);
  } finally {
    await p.close();
    await plain.close();
  }
});

test('a second producer with the same transactional id fences the first: its commit fails, its records never appear', { timeout: TEST_TIMEOUT_MS }, async () => {
  broker.broker.createTopic('txn-fence', 1, 1, {});
  const zombie = txnProducer('fence');
  const successor = txnProducer('fence');
  try {
    await zombie.initTransactions();
    zombie.beginTransaction();
    await zombie.send({ topic: 'txn-fence', value: 'zombie-1' });
    await successor.initTransactions(); // fences the zombie and aborts its open transaction
    const late = zombie.send({ topic: 'txn-fence', value: 'zombie-2' });
    await assert.rejects(zombie.commitTransaction(), isFencing, 'the zombie cannot commit');
    await late.catch(() => undefined);
    // Fatal from now on: every call fails with the fencing error.
    assert.throws(() => zombie.beginTransaction(), isFencing);
    await assert.rejects(zombie.abortTransaction(), isFencing);
    successor.beginTransaction();
    await successor.send({ topic: 'txn-fence', value: 'successor' });
    await successor.commitTransaction();
    assert.deepEqual(await readValues('txn-fence', 1, 'read_committed'), ['successor'], 'the zombie\'s records never appear to read_committed');
  } finally {
    await zombie.close().catch(() => undefined);
    await successor.close();
  }
});

test('sendOffsetsToTransaction: the group\'s offsets are committed only when the transaction commits', { timeout: TEST_TIMEOUT_MS }, async () => {
  broker.broker.createTopic('txn-offsets-in', 1, 1, {});
  const seed = createProducer<string, string>({ bootstrapServers: broker.bootstrapServers, ...strings, lingerMs: 0 });
  const p = txnProducer('offsets');
  const consumer = createConsumer({ bootstrapServers: broker.bootstrapServers, groupId: 'txn-offsets-group', enableAutoCommit: false, autoOffsetReset: 'earliest', isolationLevel: 'read_committed', sessionTimeoutMs: 2_000, heartbeatIntervalMs: 100, fetchMaxWaitMs: 50, defaultApiTimeoutMs: 10_000 });
  const observer = createConsumer({ bootstrapServers: broker.bootstrapServers, groupId: 'txn-offsets-group', enableAutoCommit: false, isolationLevel: 'read_uncommitted', defaultApiTimeoutMs: 10_000 });
  try {
    await seed.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic: 'txn-offsets-in', value: `in${i}` })));
    consumer.subscribe(['txn-offsets-in']);
    const got: bigint[] = [];
    const deadline = performance.now() + 20_000;
    while (got.length < 10 && performance.now() < deadline) for (const r of await consumer.poll({ timeoutMs: 200 })) got.push(r.offset);
    assert.equal(got.length, 10);
    const group = consumer.groupMetadata();
    assert.ok(group.generationId >= 0 && group.memberId !== '', 'the consumer is a member');
    const tp = { topic: 'txn-offsets-in', partition: 0 };

    await p.initTransactions();
    p.beginTransaction();
    await p.sendOffsetsToTransaction([{ ...tp, offset: 4n }], group);
    await p.abortTransaction();
    assert.equal((await consumer.committed([tp]))[0]!.offset, null, 'aborted: nothing committed');

    p.beginTransaction();
    await p.sendOffsetsToTransaction([{ ...tp, offset: 10n }], group);
    // A read_committed consumer's committed() asks for stable offsets and would wait for the
    // transaction (UNSTABLE_OFFSET_COMMIT); a read_uncommitted one sees the last stable commit.
    assert.equal((await observer.committed([tp]))[0]!.offset, null, 'pending until the commit');
    await p.commitTransaction();
    const deadline2 = performance.now() + 5_000;
    let committed = (await consumer.committed([tp]))[0]!.offset;
    while (committed !== 10n && performance.now() < deadline2) {
      await sleep(50);
      committed = (await consumer.committed([tp]))[0]!.offset;
    }
    assert.equal(committed, 10n, 'committed with the transaction');
  } finally {
    await observer.close();
    await consumer.close();
    await p.close();
    await seed.close();
  }
});

test('runTransactionalCopy: output equals input exactly once, offsets committed with it; aborted input is never copied', { timeout: TEST_TIMEOUT_MS }, async () => {
  broker.broker.createTopic('copy-in', 2, 1, {});
  broker.broker.createTopic('copy-out', 2, 1, {});
  const source = txnProducer('copy-source');
  let consumer: Consumer<string | null, string | null> | null = null;
  const copier = txnProducer('copier');
  try {
    await source.initTransactions();
    const input: string[] = [];
    for (let t = 0; t < 5; t++) {
      source.beginTransaction();
      const values = Array.from({ length: 30 }, (_, i) => `t${t}-${i}`);
      for (const [i, value] of values.entries()) void source.send({ topic: 'copy-in', key: `k${i % 4}`, value }).catch(() => undefined);
      if (t === 2) await source.abortTransaction();
      else {
        await source.commitTransaction();
        input.push(...values);
      }
    }
    consumer = createConsumer({
      bootstrapServers: broker.bootstrapServers,
      groupId: 'copier-group',
      enableAutoCommit: false,
      autoOffsetReset: 'earliest',
      isolationLevel: 'read_committed',
      keyDeserializer: deserializers.string,
      valueDeserializer: deserializers.string,
      sessionTimeoutMs: 2_000,
      heartbeatIntervalMs: 100,
      fetchMaxWaitMs: 50,
    });
    consumer.subscribe(['copy-in']);
    // The first time it is seen, t3-7 is sent to a partition that does not exist: that send fails, the
    // transaction aborts, and its input is read and copied again.
    let sabotaged = false;
    const result = await runTransactionalCopy({
      consumer,
      producer: copier,
      transform: (r) => {
        const bad = r.value === 't3-7' && !sabotaged;
        if (bad) sabotaged = true;
        return { topic: 'copy-out', key: r.key ?? 'none', value: (r.value ?? '').toUpperCase(), ...(bad ? { partition: 99 } : {}) };
      },
      maxRecordsPerTransaction: 17,
      pollTimeoutMs: 200,
      maxRecords: input.length,
    });
    assert.equal(result.records, input.length);
    assert.ok(sabotaged, 'the failing send happened');
    assert.equal(result.abortedTransactions, 1, 'its transaction was aborted and retried');
    const out = await readValues('copy-out', 2, 'read_committed');
    assert.deepEqual([...out].sort(), input.map((v) => v.toUpperCase()).sort(), 'every committed input once, nothing from the aborted transaction');
    const committed = await consumer.committed([0, 1].map((partition) => ({ topic: 'copy-in', partition })));
    const ends = await consumer.endOffsets([0, 1].map((partition) => ({ topic: 'copy-in', partition })));
    // The committed offsets point past the last copied record (markers may follow it).
    for (const c of committed) assert.ok(c.offset !== null && c.offset > 0n && c.offset <= ends.find((e) => e.partition === c.partition)!.offset, `partition ${c.partition}: ${String(c.offset)}`);
  } finally {
    await consumer?.close();
    await copier.close();
    await source.close();
  }
});
