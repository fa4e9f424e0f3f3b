// confluent-kafka-python 1.7.0 on librdkafka 2.0.2 (Debian python3-confluent-kafka) against an
// embedded in-memory Fjord broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { runPyJson, storedCodecs, CODEC_IDS, type ProduceResult, type ConsumeResult } from './helpers.js';

let broker: RunningBroker;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker.close();
});

test('AdminClient create_topics (3 partitions) and list_topics', async () => {
  const res = await runPyJson<{
    created: boolean;
    duplicate_error: string | null;
    cluster_id: string;
    controller_id: number;
    brokers: Record<string, string>;
    topics: Record<string, { partitions: number[]; leaders: number[]; error: string | null }>;
    single: string[];
  }>('confluent_admin.py', [broker.bootstrapServers, 'cf-admin', '3'], { timeoutMs: 60_000 });
  const id = broker.broker.nodeId;
  assert.equal(res.created, true);
  assert.equal(res.duplicate_error, 'TOPIC_ALREADY_EXISTS');
  assert.equal(res.cluster_id, broker.broker.clusterId);
  assert.equal(res.controller_id, id);
  assert.deepEqual(res.brokers, { [String(id)]: broker.bootstrapServers });
  assert.deepEqual(res.topics['cf-admin'], { partitions: [0, 1, 2], leaders: [id], error: null });
  assert.deepEqual(res.single, ['cf-admin']);
  assert.equal(broker.broker.logs.getTopic('cf-admin')?.partitions, 3);
});

const N = 10_000;

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  const topic = `cf-${codec}`;
  test(`Producer (acks=all, ${codec}) writes ${N} keyed 1 KB records; an assign() Consumer reads the exact per-partition sequence; offsets_for_times and watermarks agree`, async () => {
    broker.broker.createTopic(topic, 3, 1, {});
    // Explicit CreateTime timestamps: record i gets tsBase + i, so the middle is known exactly.
    const tsBase = Date.now() - 3_600_000;
    const middle = tsBase + N / 2;
    const produced = await runPyJson<ProduceResult>(
      'confluent_produce.py',
      ['--bootstrap', broker.bootstrapServers, '--topic', topic, '--count', String(N), '--codec', codec, '--tag', codec, '--ts-base', String(tsBase), '--query-ts', String(middle)],
      { timeoutMs: 120_000 },
    );
    assert.equal(produced.delivered, N, `delivery errors: ${produced.errors.join(',')}`);
    assert.equal(produced.failed, 0);
    assert.equal(produced.undelivered_in_queue, 0);
    assert.ok(produced.send_order_preserved, 'per partition, acknowledged offsets follow send order');
    assert.ok(produced.timestamps_ok, 'delivery reports carry the CreateTime we set');
    assert.ok(Object.keys(produced.partitions).length === 3, 'keys spread over all 3 partitions');

    const consumed = await runPyJson<ConsumeResult>('confluent_consume.py', ['--bootstrap', broker.bootstrapServers, '--topic', topic, '--query-ts', String(middle)], {
      timeoutMs: 120_000,
    });
    assert.equal(consumed.complete, true, 'read up to every high watermark');
    assert.deepEqual(consumed.errors, []);
    assert.equal(consumed.contiguous, true, 'offsets contiguous from the low watermark, no gaps or repeats');
    assert.equal(consumed.count, N);
    assert.deepEqual(consumed.partitions, produced.partitions);
    assert.equal(consumed.digest, produced.digest, 'identical ordered (partition, offset, key, value, headers) sequence');

    // get_watermark_offsets: (0, records in the partition); they add up to N.
    let total = 0;
    for (const [p, s] of Object.entries(produced.partitions)) {
      assert.deepEqual(consumed.watermarks[p], [0, s.count], `watermarks of partition ${p}`);
      total += s.count;
    }
    assert.equal(total, N);

    // offsets_for_times: the first record at or after the middle timestamp, exactly (not its batch).
    assert.deepEqual(consumed.offsets_for_times, produced.expected_offsets_for_times);
    for (const p of Object.keys(produced.partitions)) assert.equal(consumed.offsets_for_times_future?.[p], -1, `future timestamp on ${p}`);
  });
  test(`Producer compression.type=${codec}: the broker stored ${codec}-compressed batches`, () => {
    const codecs = storedCodecs(broker, topic);
    assert.ok((codecs.get(CODEC_IDS[codec]) ?? 0) > 0, `stored batch codecs (id -> count): ${JSON.stringify([...codecs])}`);
    assert.equal(codecs.get(CODEC_IDS.none) ?? 0, 0, 'no uncompressed batch');
  });
}
