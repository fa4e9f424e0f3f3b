// The idempotent producer against a real broker: producer ids and sequence numbers on the stored
// batches, exactly once through lost responses and broker restarts, pipelining of up to 5 batches per
// partition, and KIP-360 recovery when the broker has lost the producer's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBroker } from '../../src/index.js';
import { createProducer, type RecordMetadata } from '../../src/client/producer/index.js';
import { ClientError } from '../../src/client/errors.js';
import { tcpConnector } from '../../src/io/tcp-connector.js';
import type { Connector } from '../../src/client/transport.js';
import type { DecodedBatch } from '../../src/protocol/records/index.js';
import { storedBatches, valuesOf, expectedByPartition, isProduceRequest, maybeLoseResponse, restartTolerant, assertReportedOffsets } from './producer-fixtures.js';
import { incrementSequence } from '../../src/client/producer/idempotence.js';

const TEST_TIMEOUT_MS = 60_000;
const stringProducer = { valueSerializer: (v: string) => Buffer.from(v), keySerializer: (k: string) => Buffer.from(k) };

/**
 * Every batch carries a producer id and epoch, and within one (id, epoch) the sequences are
 * contiguous from 0, advancing by each batch's record count: what the broker checked on the wire.
 */
function assertSequences(batches: readonly DecodedBatch[], what: string): void {
  const next = new Map<string, number>();
  for (const b of batches) {
    const h = b.header;
    assert.ok(h.producerId >= 0, `${what}: batch at ${h.baseOffset} has producer id ${h.producerId}`);
    assert.ok(h.producerEpoch >= 0, `${what}: batch at ${h.baseOffset} has epoch ${h.producerEpoch}`);
    const key = `${h.producerId}/${h.producerEpoch}`;
    assert.equal(h.baseSequence, next.get(key) ?? 0, `${what}: batch at ${h.baseOffset} (${key}) sequence`);
    next.set(key, incrementSequence(h.baseSequence, h.recordsCount));
  }
}


/**
 * TCP with faults and eyes: optionally drop the answer to a Produce after the broker got it (the
 * connection dies waiting), and count Produce requests awaiting their answer per connection.
 */
function watchingConnector(): { connector: Connector; loseResponse: { n: number }; maxProduceInflight: { n: number }; produces: { n: number }; silenceAll: () => void } {
  const loseResponse = { n: 0 };
  const silencers = new Set<() => void>();
  const maxProduceInflight = { n: 0 };
  const produces = { n: 0 };
  const connector: Connector = async (host, port, handlers, timeoutMs) => {
    let deaf = false;
    // Correlation ids of requests in order, flagged when they are Produce; responses come back in order.
    const awaiting: boolean[] = [];
    let produceInflight = 0;
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      if (deaf) return;
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        buffered = buffered.subarray(4 + buffered.readInt32BE(0));
        if (awaiting.shift() === true) produceInflight--;
      }
      handlers.onData(chunk);
    };
    const silence = (): void => {
      deaf = true;
    };
    silencers.add(silence);
    const t = await tcpConnector(host, port, { onData, onClose: (e) => (silencers.delete(silence), handlers.onClose(e)) }, timeoutMs);
    return {
      write(chunks) {
        const isProduce = isProduceRequest(chunks);
        awaiting.push(isProduce);
        if (isProduce) {
          produces.n++;
          produceInflight++;
          maxProduceInflight.n = Math.max(maxProduceInflight.n, produceInflight);
        }
        t.write(chunks);
        maybeLoseResponse(isProduce, loseResponse, () => (deaf = true), t);
      },
      close: () => t.close(),
    };
  };
  /** Every open connection stops hearing answers: what was sent may be appended, but no answer arrives. */
  const silenceAll = (): void => {
    for (const s of silencers) s();
  };
  return { connector, loseResponse, maxProduceInflight, produces, silenceAll };
}

test('configuration: idempotence is the default with acks=all only; asking for it with acks=1 is an error', { timeout: TEST_TIMEOUT_MS }, async () => {
  assert.throws(
    () => createProducer({ bootstrapServers: '127.0.0.1:1', acks: 1, idempotent: true }),
    (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT' && /acks/.test(e.message),
  );
  assert.throws(() => createProducer({ bootstrapServers: '127.0.0.1:1', idempotent: true, maxInFlight: 6 }), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => createProducer({ bootstrapServers: '127.0.0.1:1', transactionalId: 't', idempotent: false }), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
  const running = await startBroker();
  running.broker.createTopic('defaults', 1, 1, {});
  const acksAll = createProducer({ bootstrapServers: running.bootstrapServers, lingerMs: 0 });
  const acksOne = createProducer({ bootstrapServers: running.bootstrapServers, lingerMs: 0, acks: 1 });
  try {
    await acksAll.send({ topic: 'defaults', value: Buffer.from('all') });
    await acksOne.send({ topic: 'defaults', value: Buffer.from('one') });
    const [all, one] = await storedBatches(running, 'defaults', 0);
    assert.ok(all!.header.producerId >= 0 && all!.header.baseSequence === 0, 'acks=all: idempotent by default');
    assert.equal(one!.header.producerId, -1, 'acks=1: no producer id');
    assert.equal(one!.header.baseSequence, -1);
  } finally {
    await acksAll.close();
    await acksOne.close();
    await running.close();
  }
});

test('sequences advance per partition by record count, and up to 5 batches of a partition are in flight', { timeout: TEST_TIMEOUT_MS }, async () => {
  // A disk broker with acks=all answers after an fsync, so pipelined requests overlap.
  const dataDir = await mkdtemp(join(tmpdir(), 'fjord-idempotent-pipeline-'));
  const running = await startBroker({ dataDir });
  running.broker.createTopic('pipe', 2, 1, {});
  const watch = watchingConnector();
  const producer = createProducer<string, string>({ bootstrapServers: running.bootstrapServers, connector: watch.connector, ...stringProducer, lingerMs: 0, batchSize: 300 });
  try {
    const values = Array.from({ length: 2_000 }, (_, i) => `p${i}:${'x'.repeat(20)}`);
    const results = await Promise.all(values.map((v, i) => producer.send({ topic: 'pipe', partition: i % 2, value: v })));
    for (const [p, expected] of expectedByPartition(values, results)) {
      const batches = await storedBatches(running, 'pipe', p);
      assert.deepEqual(valuesOf(batches), expected, `partition ${p}: exactly once, in order`);
      assert.ok(batches.length > 20, `partition ${p}: many batches (${batches.length})`);
      assertSequences(batches, `partition ${p}`);
      assert.equal(new Set(batches.map((b) => b.header.producerId)).size, 1, 'one producer id');
      assertReportedOffsets(results, p);
    }
    // With 2 partitions and one batch per partition per request, more than 2 Produce requests in
    // flight means a partition had several batches in flight; never more than maxInFlight (5).
    assert.ok(watch.maxProduceInflight.n > 2, `pipelined: ${watch.maxProduceInflight.n} Produce requests in flight at most`);
    assert.ok(watch.maxProduceInflight.n <= 5, `at most maxInFlight: ${watch.maxProduceInflight.n}`);
  } finally {
    await producer.close();
    await running.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a response lost after the append: the retry is recognised as a duplicate, each record stored once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const running = await startBroker();
  running.broker.createTopic('lost', 1, 1, {});
  const watch = watchingConnector();
  const producer = createProducer<string, string>({ bootstrapServers: running.bootstrapServers, connector: watch.connector, ...stringProducer, lingerMs: 0, batchSize: 100, retryBackoffMs: 20, reconnectBackoffMs: 10 });
  try {
    await producer.send({ topic: 'lost', value: 'warm-up' });
    for (let round = 0; round < 3; round++) {
      watch.loseResponse.n = 1;
      const values = Array.from({ length: 10 }, (_, i) => `r${round}-v${i}`);
      await producer.sendBatch(values.map((value) => ({ topic: 'lost', value })));
      assert.equal(watch.loseResponse.n, 0, 'the fault happened');
    }
    const batches = await storedBatches(running, 'lost', 0);
    const stored = valuesOf(batches);
    const expected = ['warm-up', ...[0, 1, 2].flatMap((round) => Array.from({ length: 10 }, (_, i) => `r${round}-v${i}`))];
    assert.deepEqual(stored, expected, 'no duplicate, no gap, in order');
    assertSequences(batches, 'lost-0');
  } finally {
    await producer.close();
    await running.close();
  }
});

test('a disk broker restarted mid-stream: every record exactly once and in order per partition', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'fjord-idempotent-restart-'));
  const config = { 'num.partitions': '3' };
  let running = await startBroker({ dataDir, config });
  const port = running.port;
  const watch = watchingConnector();
  const producer = createProducer<string, string>({
    bootstrapServers: running.bootstrapServers,
    connector: watch.connector,
    ...stringProducer,
    lingerMs: 2,
    batchSize: 400,
    ...restartTolerant,
  });
  try {
    const values: string[] = [];
    const sends: Array<Promise<RecordMetadata>> = [];
    const restarts: Array<Promise<void>> = [];
    for (let i = 0; i < 1_500; i++) {
      values.push(`v${i}`);
      sends.push(producer.send({ topic: 'restart', key: `k${i % 7}`, value: `v${i}` }));
      if (i === 400 || i === 1_000) {
        const old = running;
        // Restarted while Produce requests are in flight, their answers lost: appended, never acknowledged.
        watch.silenceAll();
        restarts.push(
          (async () => {
            await old.close();
            await sleep(200);
            running = await startBroker({ dataDir, port, config });
          })(),
        );
        await restarts[restarts.length - 1];
      }
      if (i % 20 === 19) await sleep(2);
    }
    const results = await Promise.all(sends);
    for (const [p, expected] of expectedByPartition(values, results)) {
      const batches = await storedBatches(running, 'restart', p);
      assert.deepEqual(valuesOf(batches), expected, `partition ${p}: exactly once, in send order`);
      assertSequences(batches, `partition ${p}`);
      assertReportedOffsets(results, p);
    }
  } finally {
    await producer.close();
    await running.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('KIP-360: a broker that lost the producer state (UNKNOWN_PRODUCER_ID) gets a new producer id, sequences restart at 0', { timeout: TEST_TIMEOUT_MS }, async () => {
  // A memory broker restarted on the same port forgets everything: the producer's next batch has a
  // sequence the broker cannot place.
  let running = await startBroker();
  const port = running.port;
  running.broker.createTopic('amnesia', 2, 1, {});
  const producer = createProducer<string, string>({ bootstrapServers: running.bootstrapServers, ...stringProducer, lingerMs: 0, batchSize: 100, retryBackoffMs: 20, reconnectBackoffMs: 10, reconnectBackoffMaxMs: 100 });
  try {
    const before = Array.from({ length: 20 }, (_, i) => `a${i}`);
    await Promise.all(before.map((value, i) => producer.send({ topic: 'amnesia', partition: i % 2, value })));
    const oldIds = new Set((await storedBatches(running, 'amnesia', 0)).map((b) => b.header.producerId));
    await running.close();
    running = await startBroker({ port });
    running.broker.createTopic('amnesia', 2, 1, {});
    const after = Array.from({ length: 40 }, (_, i) => `b${i}`);
    const results = await Promise.all(after.map((value, i) => producer.send({ topic: 'amnesia', partition: i % 2, value })));
    for (const [p, expected] of expectedByPartition(after, results)) {
      const batches = await storedBatches(running, 'amnesia', p);
      assert.deepEqual(valuesOf(batches), expected, `partition ${p}: the new records, once each, in order`);
      assertSequences(batches, `partition ${p}`);
      for (const b of batches) assert.ok(!oldIds.has(b.header.producerId), `partition ${p}: a new producer id (${b.header.producerId})`);
    }
  } finally {
    await producer.close();
    await running.close();
  }
});
