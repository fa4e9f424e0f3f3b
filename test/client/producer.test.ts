// The producer against an embedded broker: delivery, partitioning, batching, compression,
// backpressure, errors, acks and the typed API. What the broker stored is read back from its logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createProducer, type CompressionType, type RecordMetadata } from '../../src/client/producer/index.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { serializers } from '../../src/client/serializers.js';
import { ClientError, KafkaProtocolError } from '../../src/client/errors.js';
import { tcpConnector } from '../../src/io/tcp-connector.js';
import type { Connector } from '../../src/client/transport.js';
import { storedBatches, storedValues } from './producer-fixtures.js';
import { ManualClock } from '../../src/testing/test-broker.js';

let broker: RunningBroker;
let bs: string;

before(async () => {
  broker = await startBroker({ config: { 'num.partitions': '3' } });
  bs = broker.bootstrapServers;
});

after(async () => {
  await broker.close();
});

test('send resolves with offsets, flush and close; records, headers and timestamps are stored as sent', async () => {
  broker.broker.createTopic('basic', 1, 1, {});
  const producer = createProducer({ bootstrapServers: bs, lingerMs: 0 });
  const first = await producer.send({ topic: 'basic', key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1_600_000_000_000, headers: { a: 'x', b: Buffer.from([0, 1]) } });
  assert.deepEqual(first, { topic: 'basic', partition: 0, offset: 0n, timestamp: 1_600_000_000_000 });
  const more = [
    producer.send({ topic: 'basic', value: Buffer.from('v2'), headers: [['dup', 'one'], ['dup', 'two']] }),
    producer.send({ topic: 'basic', key: null, value: null }),
  ];
  await producer.flush();
  const [second, third] = await Promise.all(more);
  assert.equal(second!.offset, 1n);
  assert.equal(third!.offset, 2n);
  await producer.close();
  await assert.rejects(producer.send({ topic: 'basic', value: Buffer.from('late') }), (e: unknown) => e instanceof ClientError && e.code === 'CLIENT_CLOSED');

  const records = (await storedBatches(broker, 'basic', 0)).flatMap((b) => b.records);
  assert.equal(records.length, 3);
  assert.equal(records[0]!.key?.toString(), 'k1');
  assert.equal(records[0]!.timestamp, 1_600_000_000_000);
  assert.deepEqual(records[0]!.headers.map((h) => [h.key, h.value?.toString('hex')]), [['a', Buffer.from('x').toString('hex')], ['b', '0001']]);
  assert.equal(records[1]!.key, null);
  assert.deepEqual(records[1]!.headers.map((h) => [h.key, h.value?.toString()]), [['dup', 'one'], ['dup', 'two']]);
  assert.equal(records[1]!.timestamp, second!.timestamp);
  assert.equal(records[2]!.value, null, 'a null value (tombstone) stays null');
});

test('close flushes records still lingering', async () => {
  broker.broker.createTopic('close-flush', 1, 1, {});
  const producer = createProducer({ bootstrapServers: bs, lingerMs: 60_000 });
  const sent = producer.send({ topic: 'close-flush', value: Buffer.from('pending') });
  const started = performance.now();
  await producer.close();
  assert.ok(performance.now() - started < 5_000, 'close does not wait out lingerMs');
  assert.equal((await sent).offset, 0n);
});

test('flush sends lingering batches at once', async () => {
  broker.broker.createTopic('flush-now', 1, 1, {});
  const producer = createProducer({ bootstrapServers: bs, lingerMs: 60_000 });
  try {
    const sends = [0, 1, 2].map((i) => producer.send({ topic: 'flush-now', value: Buffer.from(`f${i}`) }));
    const started = performance.now();
    await producer.flush();
    assert.ok(performance.now() - started < 5_000);
    assert.deepEqual((await Promise.all(sends)).map((m) => m.offset), [0n, 1n, 2n]);
  } finally {
    await producer.close();
  }
});

test('keys go to toPositive(murmur2(key)) % partitions, like the Java client', async () => {
  broker.broker.createTopic('keyed', 5, 1, {});
  const producer = createProducer<string | null, string>({ bootstrapServers: bs, keySerializer: serializers.string, valueSerializer: (v) => Buffer.from(v) });
  try {
    const keys = Array.from({ length: 60 }, (_, i) => `customer-${i}`);
    const results = await producer.sendBatch(keys.map((key) => ({ topic: 'keyed', key, value: key })));
    const used = new Set<number>();
    results.forEach((m, i) => {
      assert.equal(m.partition, partitionForKey(Buffer.from(keys[i]!), 5), keys[i]);
      used.add(m.partition);
    });
    assert.equal(used.size, 5);
    for (let p = 0; p < 5; p++) {
      for (const v of await storedValues(broker, 'keyed', p)) assert.equal(partitionForKey(Buffer.from(v), 5), p);
    }
  } finally {
    await producer.close();
  }
});

test('lingerMs gathers sends from several ticks into one batch; batchSize caps batches', async () => {
  broker.broker.createTopic('linger', 1, 1, {});
  const producer = createProducer({ bootstrapServers: bs, lingerMs: 200 });
  try {
    await producer.send({ topic: 'linger', value: Buffer.from('warm-up') }); // metadata and connection
    const sends: Array<Promise<RecordMetadata>> = [];
    for (let i = 0; i < 10; i++) {
      sends.push(producer.send({ topic: 'linger', value: Buffer.from(`l${i}`) }));
      await tick();
    }
    const offsets = (await Promise.all(sends)).map((m) => m.offset);
    assert.deepEqual(offsets, Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    const batches = await storedBatches(broker, 'linger', 0);
    assert.deepEqual(batches.map((b) => b.records.length), [1, 10], 'the ten sends travelled as one batch');
  } finally {
    await producer.close();
  }

  broker.broker.createTopic('batch-size', 1, 1, {});
  const small = createProducer({ bootstrapServers: bs, lingerMs: 50, batchSize: 1000 });
  try {
    const value = Buffer.alloc(300, 'v');
    await small.sendBatch(Array.from({ length: 9 }, () => ({ topic: 'batch-size', value })));
    const batches = await storedBatches(broker, 'batch-size', 0);
    assert.equal(batches.reduce((n, b) => n + b.records.length, 0), 9);
    for (const b of batches) {
      assert.ok(b.records.length <= 2, `${b.records.length} records in a batch`);
      assert.ok(b.header.batchLength + 12 <= 1000, `batch of ${b.header.batchLength + 12} bytes`);
    }
  } finally {
    await small.close();
  }
});

test('keyless records stick to one partition per batch (KIP-480), with an injected random source', async () => {
  broker.broker.createTopic('sticky', 3, 1, {});
  // Always the first candidate: partition 0, then the first of the others, and so on.
  const producer = createProducer({ bootstrapServers: bs, lingerMs: 1000, batchSize: 500, random: { int: () => 0 } });
  try {
    await producer.send({ topic: 'sticky', value: Buffer.alloc(10), partition: 2 }); // metadata first
    const value = Buffer.alloc(150, 's');
    const results = await producer.sendBatch(Array.from({ length: 12 }, () => ({ topic: 'sticky', value })));
    // Two 150-byte records fill a 500-byte batch; the third would open a new one, so the choice moves.
    assert.deepEqual(results.map((m) => m.partition), [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
  } finally {
    await producer.close();
  }
});

const CODECS: Array<[CompressionType, number]> = [
  ['none', 0],
  ['gzip', 1],
  ['snappy', 2],
  ['lz4', 3],
  ['zstd', 4],
];

for (const [compression, id] of CODECS) {
  test(`compression ${compression}: batches are stored with codec ${id} and decode to what was sent`, async () => {
    const topic = `codec-${compression}`;
    broker.broker.createTopic(topic, 1, 1, {});
    const producer = createProducer<string, string>({ bootstrapServers: bs, compression, lingerMs: 20, keySerializer: serializers.string, valueSerializer: (v) => Buffer.from(v) });
    try {
      const sent = Array.from({ length: 50 }, (_, i) => ({ topic, key: `k${i}`, value: `${compression} value ${i} `.repeat(20), headers: { i: String(i) }, timestamp: 1_700_000_000_000 + i }));
      const results = await producer.sendBatch(sent);
      assert.deepEqual(results.map((m) => m.offset), sent.map((_, i) => BigInt(i)));
      const batches = await storedBatches(broker, topic, 0);
      assert.ok(batches.length >= 1);
      for (const b of batches) assert.equal(b.compression, id);
      const records = batches.flatMap((b) => b.records);
      assert.deepEqual(
        records.map((r) => [r.key?.toString(), r.value?.toString(), r.headers[0]?.value?.toString(), r.timestamp]),
        sent.map((s) => [s.key, s.value, s.headers.i, s.timestamp]),
      );
      if (compression !== 'none') {
        const storedBytes = batches.reduce((n, b) => n + b.header.batchLength, 0);
        const rawBytes = sent.reduce((n, s) => n + s.value.length, 0);
        assert.ok(storedBytes < rawBytes / 2, `${compression} compressed ${rawBytes} bytes of values to ${storedBytes}`);
      }
    } finally {
      await producer.close();
    }
  });
}

/** A TCP connector that can hold back responses and counts Produce requests written. */
function gatedConnector(): { connector: Connector; stats: { produceRequests: number }; hold(): void; release(): void } {
  let holding = false;
  const held: Array<() => void> = [];
  const stats = { produceRequests: 0 };
  const connector: Connector = async (host, port, handlers, timeoutMs) => {
    const t = await tcpConnector(host, port, {
      onData: (chunk) => (holding ? held.push(() => handlers.onData(chunk)) : handlers.onData(chunk)),
      onClose: (err) => handlers.onClose(err),
    }, timeoutMs);
    return {
      write(chunks) {
        if (chunks[0]!.readInt16BE(4) === 0) stats.produceRequests++;
        t.write(chunks);
      },
      close: () => t.close(),
    };
  };
  return {
    connector,
    stats,
    hold: () => void (holding = true),
    release() {
      holding = false;
      for (const f of held.splice(0)) f();
    },
  };
}

test('backpressure: sends wait for bufferMemory; never more than it is outstanding', async () => {
  broker.broker.createTopic('backpressure', 1, 1, {});
  const gate = gatedConnector();
  // acks=1 and retries=0: no ordering guard, so the sender would put every admitted record on the
  // wire at once; only buffer memory holds it back. Each 600-byte record reserves < 700 bytes.
  const producer = createProducer({ bootstrapServers: bs, connector: gate.connector, bufferMemory: 4096, batchSize: 700, lingerMs: 0, acks: 1, retries: 0, maxInFlight: 50 });
  try {
    await producer.send({ topic: 'backpressure', value: Buffer.from('warm-up') });
    const before = gate.stats.produceRequests;
    gate.hold();
    let resolved = 0;
    const value = Buffer.alloc(600, 'b');
    const sends = Array.from({ length: 30 }, () => producer.send({ topic: 'backpressure', value }).then((m) => (resolved++, m)));
    await sleep(200);
    const written = gate.stats.produceRequests - before;
    assert.equal(resolved, 0);
    assert.ok(written >= 1 && written <= Math.floor(4096 / 600), `${written} one-record requests written while 4096 bytes of memory are held`);
    let maxOutstanding = 0;
    const sampler = setInterval(() => (maxOutstanding = Math.max(maxOutstanding, gate.stats.produceRequests - before - resolved)), 1);
    gate.release();
    const results = await Promise.all(sends);
    clearInterval(sampler);
    assert.ok(maxOutstanding <= Math.floor(4096 / 600), `at most ${maxOutstanding} records outstanding`);
    assert.deepEqual(results.map((m) => m.offset), results.map((_, i) => BigInt(i + 1)), 'waiting sends keep their order');
  } finally {
    gate.release();
    await producer.close();
  }
});

test('linger runs on the injected clock: the batch leaves exactly lingerMs after it opened', async () => {
  broker.broker.createTopic('manual-linger', 1, 1, {});
  const clock = new ManualClock(Date.now());
  const gate = gatedConnector();
  const producer = createProducer({ bootstrapServers: bs, clock, connector: gate.connector, lingerMs: 50 });
  try {
    const first = producer.send({ topic: 'manual-linger', value: Buffer.from('a') });
    await sleep(100); // real time for metadata; the producer's own clock stands still
    const second = producer.send({ topic: 'manual-linger', value: Buffer.from('b') });
    await sleep(50);
    assert.equal(gate.stats.produceRequests, 0);
    clock.advance(49);
    await sleep(50);
    assert.equal(gate.stats.produceRequests, 0, 'still lingering at 49 ms');
    clock.advance(1);
    const results = await Promise.all([first, second]);
    assert.equal(gate.stats.produceRequests, 1, 'one request at 50 ms, with both records');
    assert.deepEqual(results.map((m) => m.offset), [0n, 1n]);
  } finally {
    await producer.close();
  }
});

test('a record larger than bufferMemory or maxRequestSize is refused at once', async () => {
  const producer = createProducer({ bootstrapServers: bs, bufferMemory: 1000 });
  try {
    await assert.rejects(producer.send({ topic: 'never', value: Buffer.alloc(2000) }), (e: unknown) => e instanceof KafkaProtocolError && e.code === 'MESSAGE_TOO_LARGE');
  } finally {
    await producer.close();
  }
});

test('a non-retriable error (MESSAGE_TOO_LARGE from max.message.bytes) rejects that batch only', async () => {
  broker.broker.createTopic('tiny-messages', 1, 1, { 'max.message.bytes': '100' });
  const producer = createProducer({ bootstrapServers: bs, lingerMs: 0 });
  try {
    await assert.rejects(producer.send({ topic: 'tiny-messages', value: Buffer.alloc(200) }), (e: unknown) => e instanceof KafkaProtocolError && e.code === 'MESSAGE_TOO_LARGE' && !e.retriable);
    const ok = await producer.send({ topic: 'tiny-messages', value: Buffer.from('small') });
    assert.equal(ok.offset, 0n);
  } finally {
    await producer.close();
  }
});

test('unknown topics are auto-created through metadata when the broker allows it', async () => {
  const producer = createProducer({ bootstrapServers: bs });
  try {
    const m = await producer.send({ topic: 'auto-created', key: Buffer.from('x'), value: Buffer.from('y') });
    assert.equal(broker.broker.logs.getTopic('auto-created')?.partitions, 3);
    assert.equal(m.partition, partitionForKey(Buffer.from('x'), 3));
    await assert.rejects(producer.send({ topic: 'auto-created', value: Buffer.from('z'), partition: 7 }), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
  } finally {
    await producer.close();
  }
});

test('a topic that cannot be created expires with DELIVERY_TIMEOUT caused by UNKNOWN_TOPIC_OR_PARTITION', async () => {
  const strict = await startBroker({ config: { 'auto.create.topics.enable': 'false' } });
  const producer = createProducer({ bootstrapServers: strict.bootstrapServers, deliveryTimeoutMs: 600, requestTimeoutMs: 500, lingerMs: 0, retryBackoffMs: 50 });
  try {
    await assert.rejects(producer.send({ topic: 'missing', value: Buffer.from('v') }), (e: unknown) => {
      assert.ok(e instanceof ClientError && e.code === 'DELIVERY_TIMEOUT', String(e));
      assert.ok(e.cause instanceof KafkaProtocolError && e.cause.code === 'UNKNOWN_TOPIC_OR_PARTITION', String(e.cause));
      return true;
    });
    assert.equal(strict.broker.logs.getTopic('missing'), undefined);
  } finally {
    await producer.close();
    await strict.close();
  }
});

test('acks=0 writes without waiting: offsets are -1n and the records arrive', async () => {
  broker.broker.createTopic('fire-and-forget', 1, 1, {});
  const producer = createProducer({ bootstrapServers: bs, acks: 0 });
  try {
    const results = await producer.sendBatch(Array.from({ length: 20 }, (_, i) => ({ topic: 'fire-and-forget', value: Buffer.from(`a${i}`) })));
    for (const m of results) assert.equal(m.offset, -1n);
    for (let i = 0; i < 100 && broker.broker.logs.partition('fire-and-forget', 0)!.logEndOffset() < 20; i++) await sleep(10);
    assert.deepEqual(await storedValues(broker, 'fire-and-forget', 0), Array.from({ length: 20 }, (_, i) => `a${i}`));
  } finally {
    await producer.close();
  }
});

test('acks=1 and LogAppendTime topics: the broker’s append time is reported', async () => {
  broker.broker.createTopic('append-time', 1, 1, { 'message.timestamp.type': 'LogAppendTime' });
  const producer = createProducer({ bootstrapServers: bs, acks: 1 });
  try {
    const before = Date.now();
    const m = await producer.send({ topic: 'append-time', value: Buffer.from('t'), timestamp: 1 });
    assert.ok(m.timestamp >= before, `append time ${m.timestamp}`);
  } finally {
    await producer.close();
  }
});

test('custom partitioner and serializers type the API; bad records are refused synchronously', async () => {
  broker.broker.createTopic('typed', 4, 1, {});
  const producer = createProducer<string, { n: number }>({
    bootstrapServers: bs,
    keySerializer: serializers.string,
    valueSerializer: (v) => Buffer.from(JSON.stringify(v)),
    partitioner: (key, topic, count) => (key === null ? 0 : key.length % count),
  });
  try {
    const m = await producer.send({ topic: 'typed', key: 'abc', value: { n: 1 } });
    assert.equal(m.partition, 3);
    assert.deepEqual(await storedValues(broker, 'typed', 3), ['{"n":1}']);
    await assert.rejects(producer.send({ topic: '', key: 'a', value: { n: 2 } }), /INVALID_ARGUMENT|needs a topic/);
    await assert.rejects(producer.send({ topic: 'typed', key: 'a', value: { n: 2 }, partition: -1 }), /Invalid partition/);
    await assert.rejects(producer.send({ topic: 'typed', key: 'a', value: { n: 2 }, timestamp: Number.NaN }), /Invalid timestamp/);
  } finally {
    await producer.close();
  }
  assert.throws(() => createProducer({ bootstrapServers: bs, deliveryTimeoutMs: 100, requestTimeoutMs: 1000 }), /deliveryTimeoutMs/);
  assert.throws(() => createProducer({ bootstrapServers: bs, acks: 2 as 1 }), /acks/);
});
