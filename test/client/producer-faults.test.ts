// The producer when things go wrong: a broker restart on the same port, connections lost before a
// request is written or after it was appended, and brokers that are gone for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBroker } from '../../src/index.js';
import { createProducer, type RecordMetadata } from '../../src/client/producer/index.js';
import { serializers } from '../../src/client/serializers.js';
import { ClientError } from '../../src/client/errors.js';
import { tcpConnector } from '../../src/io/tcp-connector.js';
import type { Connector } from '../../src/client/transport.js';
import { storedValues, expectedByPartition, isProduceRequest, maybeLoseResponse, restartTolerant, assertReportedOffsets } from './producer-fixtures.js';

/** Node keeps running while a test waits on the producer's (unref'd) backoff timers. */
function keepAlive(): () => void {
  const t = setInterval(() => {}, 1_000);
  return () => clearInterval(t);
}

const stringProducer = { keySerializer: serializers.string, valueSerializer: (v: string) => Buffer.from(v) };

test('a broker restart on the same port (disk engine, acks=all): every send resolves, each record stored once, in order', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'fjord-producer-restart-'));
  const config = { 'num.partitions': '3' };
  let running = await startBroker({ dataDir, config });
  const port = running.port;
  const producer = createProducer<string, string>({
    bootstrapServers: running.bootstrapServers,
    ...stringProducer,
    lingerMs: 2,
    ...restartTolerant,
  });
  try {
    const values: string[] = [];
    const sends: Array<Promise<RecordMetadata>> = [];
    let restarted: Promise<void> | null = null;
    let settled = 0;
    let settledWhileDown = -1;
    for (let i = 0; i < 300; i++) {
      values.push(`v${i}`);
      sends.push(producer.send({ topic: 'restart', key: `k${i % 7}`, value: `v${i}` }).finally(() => settled++));
      if (i === 120) {
        const old = running;
        restarted = (async () => {
          await old.close();
          await sleep(300);
          settledWhileDown = settled;
          running = await startBroker({ dataDir, port, config });
        })();
      }
      if (i % 10 === 9) await sleep(5);
    }
    await restarted;
    const results = await Promise.all(sends);
    assert.ok(settledWhileDown < 300 - 100, `${300 - settledWhileDown} sends were waiting while the broker was down`);
    for (const [p, expected] of expectedByPartition(values, results)) {
      assert.deepEqual(await storedValues(running, 'restart', p), expected, `partition ${p}: exactly once, in send order`);
      assertReportedOffsets(results, p);
    }
  } finally {
    await producer.close();
    await running.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** TCP with injected faults: drop the connection instead of writing a Produce, or after writing one. */
function faultyConnector(): { connector: Connector; failBeforeWrite: { n: number }; loseResponse: { n: number } } {
  const failBeforeWrite = { n: 0 };
  const loseResponse = { n: 0 };
  const connector: Connector = async (host, port, handlers, timeoutMs) => {
    let deaf = false;
    const t = await tcpConnector(host, port, { onData: (c) => !deaf && handlers.onData(c), onClose: (e) => handlers.onClose(e) }, timeoutMs);
    return {
      write(chunks) {
        const isProduce = isProduceRequest(chunks);
        if (isProduce && failBeforeWrite.n > 0) {
          failBeforeWrite.n--;
          t.close(); // the request never leaves: the connection dies first
          return;
        }
        t.write(chunks);
        maybeLoseResponse(isProduce, loseResponse, () => (deaf = true), t);
      },
      close: () => t.close(),
    };
  };
  return { connector, failBeforeWrite, loseResponse };
}

test('connections lost before Produce is written: retried after reconnecting, no duplicates, order kept', async () => {
  const running = await startBroker({ config: { 'num.partitions': '3' } });
  const faults = faultyConnector();
  const producer = createProducer<string, string>({ bootstrapServers: running.bootstrapServers, connector: faults.connector, ...stringProducer, lingerMs: 0, batchSize: 200, retryBackoffMs: 20, reconnectBackoffMs: 10 });
  try {
    await producer.send({ topic: 'drops', key: 'warm', value: 'warm-up' });
    const values: string[] = [];
    const sends: Array<Promise<RecordMetadata>> = [];
    for (let round = 0; round < 4; round++) {
      faults.failBeforeWrite.n = 2;
      for (let i = 0; i < 40; i++) {
        const v = `r${round}-${i}`;
        values.push(v);
        sends.push(producer.send({ topic: 'drops', key: `k${i % 5}`, value: `${v}:${'x'.repeat(40)}` }));
      }
      await sleep(20);
    }
    const results = await Promise.all(sends);
    assert.equal(faults.failBeforeWrite.n, 0, 'the faults happened');
    for (const [p, expected] of expectedByPartition(values, results)) {
      const stored = (await storedValues(running, 'drops', p)).filter((v) => v !== 'warm-up').map((v) => v.split(':')[0]);
      assert.deepEqual(stored, expected, `partition ${p}`);
    }
  } finally {
    await producer.close();
    await running.close();
  }
});

test('retries: 0 fails a retriable error at once, with that error', async () => {
  const running = await startBroker();
  running.broker.createTopic('no-retry', 1, 1, {});
  const faults = faultyConnector();
  const producer = createProducer({ bootstrapServers: running.bootstrapServers, connector: faults.connector, retries: 0, lingerMs: 0 });
  try {
    await producer.send({ topic: 'no-retry', value: Buffer.from('warm-up') });
    faults.failBeforeWrite.n = 1;
    await assert.rejects(producer.send({ topic: 'no-retry', value: Buffer.from('lost') }), (e: unknown) => e instanceof ClientError && e.code === 'CONNECTION_CLOSED');
    assert.equal((await producer.send({ topic: 'no-retry', value: Buffer.from('next') })).offset, 1n, 'the producer reconnects for the next send');
  } finally {
    await producer.close();
    await running.close();
  }
});

test('a response lost after the append, idempotence off: the retry duplicates the batch (at-least-once), order still holds', async () => {
  const running = await startBroker();
  running.broker.createTopic('lost', 1, 1, {});
  const faults = faultyConnector();
  const producer = createProducer<string, string>({ bootstrapServers: running.bootstrapServers, connector: faults.connector, ...stringProducer, idempotent: false, lingerMs: 0, batchSize: 100, retryBackoffMs: 20, reconnectBackoffMs: 10 });
  try {
    await producer.send({ topic: 'lost', value: 'warm-up' });
    faults.loseResponse.n = 1;
    const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
    const results = await producer.sendBatch(values.map((value) => ({ topic: 'lost', value })));
    const stored = (await storedValues(running, 'lost', 0)).slice(1);
    // Without idempotence the lost answer's batch is stored twice, back to back: later batches of the
    // partition waited for its retry, so nothing overtook it.
    assert.ok(stored.length > values.length, `duplicates expected: ${stored.join(',')}`);
    assert.deepEqual(stored.filter((v, i) => v !== stored[i - 1]), values);
    assert.equal(new Set(results.map((r) => r.offset)).size, values.length);
  } finally {
    await producer.close();
    await running.close();
  }
});

test('no broker reachable: send rejects with DELIVERY_TIMEOUT carrying the connection error', async () => {
  const release = keepAlive();
  const producer = createProducer({ bootstrapServers: '127.0.0.1:1', deliveryTimeoutMs: 800, requestTimeoutMs: 300, lingerMs: 0, retryBackoffMs: 50, reconnectBackoffMs: 20, reconnectBackoffMaxMs: 100 });
  try {
    const started = performance.now();
    await assert.rejects(producer.send({ topic: 'nowhere', value: Buffer.from('v') }), (e: unknown) => {
      assert.ok(e instanceof ClientError && e.code === 'DELIVERY_TIMEOUT', String(e));
      assert.ok(e.cause instanceof ClientError && e.cause.code === 'CONNECTION_FAILED', String(e.cause));
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 750 && elapsed < 5_000, `expired after ${elapsed} ms`);
  } finally {
    await producer.close();
    release();
  }
});

test('a broker gone for good after metadata: queued batches expire with DELIVERY_TIMEOUT', async () => {
  const release = keepAlive();
  const running = await startBroker();
  running.broker.createTopic('gone', 1, 1, {});
  const producer = createProducer({ bootstrapServers: running.bootstrapServers, deliveryTimeoutMs: 1_000, requestTimeoutMs: 300, lingerMs: 0, retryBackoffMs: 50, reconnectBackoffMs: 20, reconnectBackoffMaxMs: 100 });
  try {
    await producer.send({ topic: 'gone', value: Buffer.from('before') });
    await running.close();
    const results = await Promise.allSettled([0, 1, 2].map((i) => producer.send({ topic: 'gone', value: Buffer.from(`after-${i}`) })));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const e = (r as PromiseRejectedResult).reason as unknown;
      assert.ok(e instanceof ClientError && e.code === 'DELIVERY_TIMEOUT', String(e));
      assert.ok(e.cause instanceof ClientError && ['CONNECTION_FAILED', 'CONNECTION_CLOSED'].includes(e.cause.code), String(e.cause));
    }
  } finally {
    await producer.close();
    release();
  }
});
