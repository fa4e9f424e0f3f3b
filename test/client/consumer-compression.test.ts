// Every compression codec through the consumer: batches built with buildRecordBatch({ compression })
// and appended with a raw Produce, codecs mixed within one partition, and kafkajs's gzip producer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createCluster } from '../../src/client/client-options.js';
import type { Cluster } from '../../src/client/cluster.js';
import { deserializers } from '../../src/client/serializers.js';
import { buildRecordBatch, CompressionCodec, type RecordInput } from '../../src/protocol/records/index.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { createConsumer, type Consumer, type ConsumerRecord } from '../../src/client/consumer/index.js';

let broker: RunningBroker;
let cluster: Cluster;

before(async () => {
  broker = await startBroker();
  cluster = createCluster({ bootstrapServers: broker.bootstrapServers }, 'consumer-compression-producer');
});

after(async () => {
  await cluster.close();
  await broker.close();
});

async function produce(topic: string, partition: number, records: RecordInput[], compression: CompressionCodec): Promise<void> {
  await cluster.refreshMetadata([topic]);
  const conn = await cluster.leaderFor(topic, partition);
  const batch = await buildRecordBatch({ records, compression });
  const res = await conn.request<ProduceResponse>(0, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] });
  assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, 0);
}

/** The codec of every batch the broker stored for a partition (the log keeps batches as sent). */
function storedCodecs(topic: string, partition: number): number[] {
  const log = broker.broker.logs.partition(topic, partition)!;
  const codecs: number[] = [];
  const { chunks } = log.read(log.logStartOffset(), 64 << 20, true);
  for (const chunk of chunks) {
    for (let pos = 0; pos + 61 <= chunk.length; pos += 12 + chunk.readInt32BE(pos + 8)) codecs.push(chunk.readInt16BE(pos + 21) & 7);
  }
  return codecs;
}

async function pollN<K, V>(c: Consumer<K, V>, n: number, ms = 10_000): Promise<Array<ConsumerRecord<K, V>>> {
  const out: Array<ConsumerRecord<K, V>> = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    assert.ok(Date.now() < deadline, `only ${out.length} of ${n} records after ${ms} ms`);
    out.push(...(await c.poll({ timeoutMs: 200, maxRecords: n - out.length })));
  }
  return out;
}

const FILLER = 'the quick brown fjord jumps over the lazy broker; ';
function compressible(tag: string, i: number): Buffer {
  return Buffer.from(`${tag}-${i}|${FILLER.repeat(21)}`.slice(0, 1024));
}

function records(tag: string, n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 5 === 0 ? null : Buffer.from(`key-${i % 13}`),
    value: i % 17 === 16 ? null : compressible(tag, i),
    timestamp: 1_700_000_000_000 + i,
    headers: [{ key: 'i', value: Buffer.from(String(i)) }, { key: 'codec', value: Buffer.from(tag) }],
  }));
}

function same(got: ReadonlyArray<ConsumerRecord<Buffer | null, Buffer | null>>, want: readonly RecordInput[], from = 0): void {
  assert.equal(got.length, want.length);
  got.forEach((r, i) => {
    const w = want[i]!;
    assert.equal(r.offset, BigInt(from + i));
    assert.deepEqual(r.key, w.key);
    assert.deepEqual(r.value, w.value);
    assert.equal(r.timestamp, w.timestamp);
    assert.deepEqual(r.headers, (w.headers ?? []).map((h) => [h.key, h.value]));
  });
}

const CODECS: Array<[string, CompressionCodec]> = [['none', CompressionCodec.NONE], ['gzip', CompressionCodec.GZIP], ['snappy', CompressionCodec.SNAPPY], ['lz4', CompressionCodec.LZ4], ['zstd', CompressionCodec.ZSTD]];

for (const [name, codec] of CODECS) {
  test(`${name} batches are decompressed and read back exactly`, async () => {
    const topic = `codec-${name}`;
    broker.broker.createTopic(topic, 1, 1, {});
    const want = [...records(name, 200), ...records(`${name}-2`, 50)];
    await produce(topic, 0, want.slice(0, 200), codec);
    await produce(topic, 0, want.slice(200), codec);
    assert.deepEqual(storedCodecs(topic, 0), [codec, codec], 'the broker stored the batches compressed');
    const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
    try {
      c.assign([{ topic, partition: 0 }]);
      same(await pollN(c, want.length), want);
      // From the middle of a compressed batch: the batch comes whole, the records before are skipped.
      c.seek({ topic, partition: 0 }, 123n);
      same(await pollN(c, 10), want.slice(123, 133), 123);
    } finally {
      await c.close();
    }
  });
}

test('codecs mixed within one partition come back in order from one fetch', async () => {
  const topic = 'codec-mixed';
  broker.broker.createTopic(topic, 1, 1, {});
  const want: RecordInput[] = [];
  for (const [name, codec] of [...CODECS, ...CODECS.slice().reverse()]) {
    const batch = records(`mixed-${name}`, 30);
    await produce(topic, 0, batch, codec);
    want.push(...batch);
  }
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
  try {
    c.assign([{ topic, partition: 0 }]);
    same(await pollN(c, want.length), want);
  } finally {
    await c.close();
  }
});

test('kafkajs gzip-compressed produce, read with string deserializers', async () => {
  const topic = 'codec-kafkajs-gzip';
  broker.broker.createTopic(topic, 2, 1, {});
  const kafka = new kafkajs.Kafka({ clientId: 'consumer-compression', brokers: [broker.bootstrapServers], logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: 300 }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: compressible('kjs', i).toString(), headers: { n: String(i) } }));
  try {
    for (let i = 0; i < messages.length; i += 100) {
      await producer.send({ topic, acks: -1, compression: kafkajs.CompressionTypes.GZIP, messages: messages.slice(i, i + 100) });
    }
  } finally {
    await producer.disconnect();
  }
  assert.ok(storedCodecs(topic, 0).every((x) => x === CompressionCodec.GZIP));
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', keyDeserializer: deserializers.string, valueDeserializer: deserializers.string });
  try {
    c.assign([{ topic, partition: 0 }, { topic, partition: 1 }]);
    const got = await pollN(c, 300);
    for (const p of [0, 1]) {
      const mine = got.filter((r) => r.partition === p);
      const sent = messages.filter((m) => m.partition === p);
      assert.deepEqual(mine.map((r) => r.offset), sent.map((_, i) => BigInt(i)));
      assert.deepEqual(mine.map((r) => [r.key, r.value, r.headers.map(([k, v]) => `${k}=${v!.toString()}`).join()]), sent.map((m) => [m.key, m.value, `n=${m.headers.n}`]));
    }
  } finally {
    await c.close();
  }
});
