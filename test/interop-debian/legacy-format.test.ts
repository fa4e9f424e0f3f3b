// kafka-python 2.0.2 (Debian python3-kafka) speaking the old protocol to Fjord: magic-1 message sets
// over Produce v2 / Fetch v3 (api_version=(0, 10, 1)) and magic 0 over Produce v1 / Fetch v1 ((0, 9)).
// Fjord up-converts what it is sent and down-converts what it serves, as Kafka 3.x brokers do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { decodeRecordBatches } from '../../src/protocol/records/index.js';
import { runPyJson, storedCodecs, CODEC_IDS } from './helpers.js';

let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ host: '127.0.0.1' });
});
after(async () => {
  await broker.close();
});

/** [offset, timestamp, key, value digest] */
type Row = [number, number, string | null, string | null];

interface Result {
  sent: Row[];
  received: Row[];
  end_offset?: number | null;
  sent_more?: Row[];
  resumed?: Row[];
}

/** Timestamps of what the broker stored, read as magic 2: proves which format the client sent. */
async function storedTimestamps(topic: string): Promise<number[]> {
  const log = broker.broker.logs.partition(topic, 0)!;
  const { chunks } = log.read(0, 64 * 1024 * 1024, true);
  const batches = await decodeRecordBatches(Buffer.concat(chunks), { verifyCrc: true, maxDecompressedBytes: 64 * 1024 * 1024 });
  return batches.flatMap((b) => b.records.map((r) => r.timestamp));
}

const cases = [
  { api: '0.10.1', magic: 1, codecs: ['none', 'gzip', 'snappy', 'lz4'] },
  // kafka-python's magic-0 lz4 needs the xxhash module, which Debian's python3-kafka does not pull in.
  { api: '0.9', magic: 0, codecs: ['none', 'gzip', 'snappy'] },
] as const;

for (const { api, magic, codecs } of cases) {
  for (const codec of codecs) {
    test(`kafka-python api_version=${api} (magic ${magic}, ${codec}) produces 300 records and reads them back`, async () => {
      const topic = `legacy-${magic}-${codec}`;
      broker.broker.createTopic(topic, 1, 1, {});
      const res = await runPyJson<Result>('legacy_kafka_python.py', [broker.bootstrapServers, topic, codec, '300', api], { timeoutMs: 120_000 });
      assert.equal(res.sent.length, 300);
      assert.deepEqual(res.sent.map((r) => r[0]), res.sent.map((_, i) => i), 'offsets 0..299 in send order');
      assert.deepEqual(res.received, res.sent, 'same offsets, timestamps, keys and values');
      if (res.end_offset !== null && res.end_offset !== undefined) assert.equal(res.end_offset, 300);
      // Stored as magic 2 with the producer's codec: magic 0 records carry no timestamp (-1).
      const stored = storedCodecs(broker, topic);
      assert.deepEqual([...stored.keys()], [CODEC_IDS[codec]]);
      const timestamps = await storedTimestamps(topic);
      assert.deepEqual(timestamps, res.sent.map((r) => r[1]));
      if (magic === 0) assert.ok(timestamps.every((t) => t === -1));
    });
  }
}

test('a kafka-python api_version=0.10.1 group member commits; a second resumes from the committed offset', async () => {
  const topic = 'legacy-group';
  broker.broker.createTopic(topic, 1, 1, {});
  const res = await runPyJson<Result>('legacy_kafka_python.py', [broker.bootstrapServers, topic, 'gzip', '50', '0.10.1', 'legacy-group'], { timeoutMs: 120_000 });
  assert.deepEqual(res.received, res.sent);
  assert.deepEqual(res.sent_more!.map((r) => r[0]), [50, 51, 52, 53, 54]);
  assert.deepEqual(res.resumed, res.sent_more);
});
