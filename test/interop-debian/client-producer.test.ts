// Fjord's own producer writes; Debian's kcat 1.7.1 and confluent-kafka-python 1.7.0 (librdkafka 2.0.2)
// read back keys, values, headers, timestamps and partitions. librdkafka's Java-compatible
// `murmur2_random` partitioner must place keys where ours does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createProducer, type CompressionType, type RecordMetadata } from '../../src/client/producer/index.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { serializers } from '../../src/client/serializers.js';
import { KCAT, runOk, runPyJson, storedCodecs, CODEC_IDS } from './helpers.js';

let broker: RunningBroker;
let bs: string;

before(async () => {
  broker = await startBroker();
  bs = broker.bootstrapServers;
});

after(async () => {
  await broker.close();
});

const T = { timeoutMs: 60_000 };

interface Sent {
  key: string | null;
  value: string;
  headers: Array<[string, string]>;
  timestamp: number;
}

/** 60 records: keyed (12 keys) and keyless, object and pair headers (a repeated name), set timestamps. */
function records(tag: string, tsBase: number): Sent[] {
  return Array.from({ length: 60 }, (_, i) => ({
    key: i % 10 === 9 ? null : `user-${i % 12}`,
    value: `${tag} value ${i} ø`,
    headers: i % 2 === 0 ? [['trace', `t${i}`], ['kind', 'even']] : [['trace', `t${i}`], ['dup', 'a'], ['dup', 'b']],
    timestamp: tsBase + i,
  }));
}

async function produce(topic: string, sent: readonly Sent[], compression: CompressionType): Promise<RecordMetadata[]> {
  const producer = createProducer<string | null, string>({ bootstrapServers: bs, keySerializer: serializers.string, valueSerializer: (v) => Buffer.from(v), compression, lingerMs: 10 });
  try {
    return await producer.sendBatch(
      sent.map((s, i) => ({ topic, key: s.key, value: s.value, timestamp: s.timestamp, headers: i % 2 === 0 ? Object.fromEntries(s.headers) : s.headers })),
    );
  } finally {
    await producer.close();
  }
}

/** "partition|offset" -> what was sent there, from the producer's own results. */
function expectedAt(sent: readonly Sent[], results: readonly RecordMetadata[]): Map<string, Sent> {
  const m = new Map<string, Sent>();
  results.forEach((r, i) => m.set(`${r.partition}|${r.offset}`, sent[i]!));
  return m;
}

async function kcatRows(topic: string): Promise<Map<string, { key: string; value: string; timestamp: number; headers: string }>> {
  const r = await runOk(KCAT, ['-C', '-b', bs, '-t', topic, '-o', 'beginning', '-e', '-q', '-m', '10', '-f', '%p|%o|%k|%s|%T|%h\n'], T);
  const rows = new Map<string, { key: string; value: string; timestamp: number; headers: string }>();
  for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
    const [p, o, key, value, ts, headers] = line.split('|');
    rows.set(`${p}|${o}`, { key: key!, value: value!, timestamp: Number(ts), headers: headers ?? '' });
  }
  return rows;
}

test('kcat and confluent-kafka read what the Fjord producer wrote: partitions, keys, values, headers, timestamps', async () => {
  const topic = 'cp-interop';
  broker.broker.createTopic(topic, 3, 1, {});
  const sent = records('plain', Date.now() - 3_600_000);
  const results = await produce(topic, sent, 'none');
  const expected = expectedAt(sent, results);
  assert.equal(expected.size, sent.length);
  for (const [i, r] of results.entries()) {
    const key = sent[i]!.key;
    if (key !== null) assert.equal(r.partition, partitionForKey(Buffer.from(key), 3));
  }
  assert.equal(new Set(results.map((r) => r.partition)).size, 3, 'records on all three partitions');

  const kcat = await kcatRows(topic);
  assert.equal(kcat.size, sent.length);
  for (const [at, s] of expected) {
    const row = kcat.get(at);
    assert.ok(row !== undefined, `kcat has ${at}`);
    assert.equal(row.key, s.key ?? '', `key at ${at}`);
    assert.equal(row.value, s.value, `value at ${at}`);
    assert.equal(row.timestamp, s.timestamp, `timestamp at ${at}`);
    assert.equal(row.headers, s.headers.map(([k, v]) => `${k}=${v}`).join(','), `headers at ${at}`);
  }

  const cf = await runPyJson<{
    complete: boolean;
    errors: string[];
    records: Array<{ partition: number; offset: number; key: string | null; value: string; timestamp_type: number; timestamp: number; headers: Array<[string, string]> }>;
  }>('client_producer_consume.py', ['--bootstrap', bs, '--topic', topic], T);
  assert.ok(cf.complete, `incomplete read: ${cf.errors.join(',')}`);
  assert.deepEqual(cf.errors, []);
  assert.equal(cf.records.length, sent.length);
  for (const rec of cf.records) {
    const s = expected.get(`${rec.partition}|${rec.offset}`);
    assert.ok(s !== undefined, `unexpected record at ${rec.partition}|${rec.offset}`);
    assert.equal(rec.key, s.key);
    assert.equal(rec.value, s.value);
    assert.equal(rec.timestamp_type, 1, 'TIMESTAMP_CREATE_TIME');
    assert.equal(rec.timestamp, s.timestamp);
    assert.deepEqual(rec.headers, s.headers.map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
  }
});

for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`kcat decodes Fjord producer batches compressed with ${compression}`, async () => {
    const topic = `cp-${compression}`;
    broker.broker.createTopic(topic, 3, 1, {});
    const sent = records(compression, Date.now() - 60_000);
    const results = await produce(topic, sent, compression);
    assert.deepEqual([...storedCodecs(broker, topic).keys()], [CODEC_IDS[compression]], 'stored compressed');
    const kcat = await kcatRows(topic);
    assert.equal(kcat.size, sent.length);
    for (const [at, s] of expectedAt(sent, results)) {
      assert.equal(kcat.get(at)?.value, s.value, `value at ${at}`);
      assert.equal(kcat.get(at)?.key, s.key ?? '', `key at ${at}`);
    }
  });
}

test("librdkafka's murmur2_random partitioner puts every key where Fjord's default partitioner does", async () => {
  const keys = [...Array.from({ length: 200 }, (_, i) => `key-${i}`), 'foo', 'foobar', '21', 'ørsted', '日本語', 'a-little-bit-long-string'];
  for (const count of [3, 7]) {
    const topic = `cp-murmur-${count}`;
    broker.broker.createTopic(topic, count, 1, {});
    const res = await runPyJson<{ partitions: Record<string, number>; errors: string[]; undelivered: number }>(
      'client_producer_partition.py',
      ['--bootstrap', bs, '--topic', topic],
      { ...T, input: JSON.stringify(keys) },
    );
    assert.deepEqual(res.errors, []);
    assert.equal(res.undelivered, 0);
    for (const key of keys) assert.equal(res.partitions[key], partitionForKey(Buffer.from(key, 'utf8'), count), `${key} over ${count} partitions`);
  }
});
