// Message formats 0 and 1 on the wire, as Kafka 3.x serves them: Produce v0-2 message sets are
// up-converted to magic-2 batches, and Fetch v0-3 readers get the stored batches down-converted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import {
  CompressionCodec,
  TimestampType,
  buildLegacyMessageSet,
  buildRecordBatch,
  decodeLegacyMessageSet,
  decodeRecordBatches,
  legacyCrc32,
  legacyMessageSize,
} from '../../src/protocol/records/index.js';
import type { LegacyMessageInput } from '../../src/protocol/records/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from './raw-client.js';

let broker: RunningBroker;
let c: RawClient;

interface ProducePartition { index: number; errorCode: number; baseOffset: bigint; logAppendTimeMs: bigint; errorMessage: string | null }
interface ProduceRes { responses: Array<{ name: string; partitionResponses: ProducePartition[] }> }
interface FetchPartition { partitionIndex: number; errorCode: number; highWatermark: bigint; records: Buffer | null }
interface FetchRes { responses: Array<{ topic: string; partitions: FetchPartition[] }> }

const MiB = 1024 * 1024;

before(async () => {
  broker = await startBroker();
  c = await RawClient.connect(broker.port);
  broker.broker.createTopic('legacy', 1, 1, {});
  broker.broker.createTopic('legacy-append-time', 1, 1, { 'message.timestamp.type': 'LogAppendTime' });
  broker.broker.createTopic('legacy-limits', 2, 1, {});
});
after(async () => {
  c.close();
  await broker.close();
});

function messages(magic: 0 | 1, n: number, tag: string): LegacyMessageInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`${tag}-key-${i}`),
    value: Buffer.from(`${tag}-value-${i}`),
    ...(magic === 1 ? { timestamp: 1_700_000_000_000 + i } : {}),
  }));
}

async function produce(version: number, records: Buffer, topic = 'legacy', partition = 0, client = c): Promise<ProducePartition> {
  const res = await client.request<ProduceRes>(0, version, { acks: -1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  return res.responses[0]!.partitionResponses[0]!;
}

function fetchBody(topic: string, parts: Array<[number, bigint, number?]>, maxBytes = 50 * MiB): object {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: parts.map(([partition, fetchOffset, max]) => ({ partition, fetchOffset, partitionMaxBytes: max ?? MiB, currentLeaderEpoch: -1, logStartOffset: -1n })) }],
    forgottenTopicsData: [], rackId: '',
  };
}

async function fetchPartitions(version: number, topic: string, parts: Array<[number, bigint, number?]>, maxBytes?: number, client = c): Promise<FetchPartition[]> {
  const res = await client.request<FetchRes>(1, version, fetchBody(topic, parts, maxBytes));
  return res.responses.flatMap((t) => t.partitions);
}

async function fetchLegacy(version: number, topic: string, offset: bigint, client = c): Promise<string[]> {
  const [p] = await fetchPartitions(version, topic, [[0, offset]], undefined, client);
  assert.equal(p!.errorCode, 0);
  const decoded = await decodeLegacyMessageSet(p!.records!, { maxDecompressedBytes: MiB });
  return decoded.map((m) => `${m.offset}|${m.magic}|${m.timestamp}|${m.key?.toString()}|${m.value?.toString()}`);
}

test('ApiVersions advertises Produce and Fetch from v0', async () => {
  const res = await c.request<{ apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }> }>(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
  assert.equal(res.apiKeys.find((k) => k.apiKey === 0)!.minVersion, 0);
  assert.equal(res.apiKeys.find((k) => k.apiKey === 1)!.minVersion, 0);
});

test('Produce v2 magic 1 sets (plain and gzip) are stored as magic-2 batches and read back by Fetch v3 (magic 1), v11 (magic 2) and v1 (magic 0)', async () => {
  const plain = messages(1, 3, 'plain');
  const zipped = messages(1, 4, 'gzip');
  const r1 = await produce(2, await buildLegacyMessageSet({ magic: 1, messages: plain }));
  assert.deepEqual([r1.errorCode, r1.baseOffset], [0, 0n]);
  const r2 = await produce(2, await buildLegacyMessageSet({ magic: 1, messages: zipped, compression: CompressionCodec.GZIP }));
  assert.deepEqual([r2.errorCode, r2.baseOffset], [0, 3n]);
  const all = [...plain, ...zipped];

  const v3 = await fetchLegacy(3, 'legacy', 0n);
  assert.deepEqual(v3, all.map((m, i) => `${i}|1|${m.timestamp}|${m.key}|${m.value}`));

  // Magic 2 readers see one batch per produce: the wrapper's codec kept, timestamps CreateTime.
  const [p11] = await fetchPartitions(11, 'legacy', [[0, 0n]]);
  const batches = await decodeRecordBatches(p11!.records!, { verifyCrc: true, maxDecompressedBytes: MiB });
  assert.deepEqual(batches.map((b) => [b.header.baseOffset, b.records.length, b.compression, b.timestampType]), [
    [0, 3, CompressionCodec.NONE, TimestampType.CREATE_TIME],
    [3, 4, CompressionCodec.GZIP, TimestampType.CREATE_TIME],
  ]);
  assert.deepEqual(batches.flatMap((b) => b.records.map((r) => `${r.offset}|${r.timestamp}|${r.value?.toString()}`)), all.map((m, i) => `${i}|${m.timestamp}|${m.value}`));

  // Fetch v0-1 readers get magic 0: no timestamps. From the middle of a batch, earlier records are left out.
  assert.deepEqual(await fetchLegacy(1, 'legacy', 4n), all.slice(4).map((m, i) => `${i + 4}|0|-1|${m.key}|${m.value}`));
  assert.deepEqual(await fetchLegacy(0, 'legacy', 7n), []);
});

test('Produce v0 and v1 magic 0 sets (snappy, lz4 with Kafka 0.8 checksum) convert with no timestamps', async () => {
  const start = (await fetchPartitions(11, 'legacy', [[0, 0n]]))[0]!.highWatermark;
  const snappy = messages(0, 5, 'v0snappy');
  const lz4 = messages(0, 2, 'v0lz4');
  assert.equal((await produce(0, await buildLegacyMessageSet({ magic: 0, messages: snappy, compression: CompressionCodec.SNAPPY }))).errorCode, 0);
  assert.equal((await produce(1, await buildLegacyMessageSet({ magic: 0, messages: lz4, compression: CompressionCodec.LZ4 }))).errorCode, 0);
  const got = await fetchLegacy(3, 'legacy', start);
  assert.deepEqual(got, [...snappy, ...lz4].map((m, i) => `${Number(start) + i}|1|-1|${m.key}|${m.value}`));
});

test('Kafka\'s version rules: v3+ refuse legacy sets (INVALID_RECORD); v0-2 take a magic-2 batch as it is', async () => {
  const legacy = await buildLegacyMessageSet({ magic: 1, messages: messages(1, 1, 'x') });
  for (const version of [3, 7, 9]) {
    const r = await produce(version, legacy);
    assert.equal(r.errorCode, ErrorCode.INVALID_RECORD, `v${version}`);
  }
  const v2batch = await buildRecordBatch({ records: [{ key: null, value: Buffer.from('magic 2 in v2'), timestamp: 5 }] });
  const r = await produce(2, v2batch);
  assert.equal(r.errorCode, 0);
  const read = await fetchLegacy(2, 'legacy', r.baseOffset);
  assert.deepEqual(read, [`${r.baseOffset}|1|5|undefined|magic 2 in v2`]);
});

test('damaged or malformed legacy sets are refused with Kafka\'s codes and nothing is stored', async () => {
  const before = (await fetchPartitions(11, 'legacy', [[0, 0n]]))[0]!.highWatermark;
  const crc = await buildLegacyMessageSet({ magic: 1, messages: messages(1, 2, 'crc') });
  crc.writeUInt8(crc.readUInt8(40) ^ 1, 40);
  assert.equal((await produce(2, crc)).errorCode, ErrorCode.CORRUPT_MESSAGE);
  const gz = await buildLegacyMessageSet({ magic: 1, messages: messages(1, 2, 'two'), compression: CompressionCodec.GZIP });
  assert.equal((await produce(2, Buffer.concat([gz, gz]))).errorCode, ErrorCode.INVALID_RECORD);
  const mixed = Buffer.concat([await buildLegacyMessageSet({ magic: 0, messages: messages(0, 1, 'm') }), await buildLegacyMessageSet({ magic: 1, messages: messages(1, 1, 'm') })]);
  assert.equal((await produce(2, mixed)).errorCode, ErrorCode.INVALID_RECORD);
  const huge = await buildLegacyMessageSet({ magic: 1, messages: [{ key: null, value: Buffer.alloc(1_100_000), timestamp: 1 }] });
  assert.equal((await produce(2, huge)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  const truncated = await buildLegacyMessageSet({ magic: 1, messages: messages(1, 2, 'cut') });
  assert.equal((await produce(2, truncated.subarray(0, truncated.length - 2))).errorCode, ErrorCode.CORRUPT_MESSAGE);
  // An inner message that claims 2 GiB inside a small wrapper.
  const inner = await buildLegacyMessageSet({ magic: 1, messages: messages(1, 1, 'bomb') });
  inner.writeInt32BE(0x7fff_0000, 8);
  inner.writeUInt32BE(legacyCrc32(inner.subarray(16)), 12);
  const { compress, writeLegacyMessage } = await import('../../src/protocol/records/index.js');
  const payload = await compress(CompressionCodec.GZIP, inner);
  const wrapper = Buffer.alloc(legacyMessageSize(1, -1, payload.length));
  writeLegacyMessage(wrapper, 0, 1, 0, CompressionCodec.GZIP, 0, Buffer.alloc(0), 0, -1, payload, 0, payload.length);
  assert.equal((await produce(2, wrapper)).errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.equal((await fetchPartitions(11, 'legacy', [[0, 0n]]))[0]!.highWatermark, before);
});

test('message.timestamp.type=LogAppendTime stamps converted batches; Fetch v3 shows the append time and attribute', async () => {
  const t0 = Date.now();
  const r = await produce(2, await buildLegacyMessageSet({ magic: 1, messages: messages(1, 3, 'lat'), compression: CompressionCodec.LZ4 }), 'legacy-append-time');
  assert.equal(r.errorCode, 0);
  const appendTime = Number(r.logAppendTimeMs);
  assert.ok(appendTime >= t0 && appendTime <= Date.now());
  const [p] = await fetchPartitions(3, 'legacy-append-time', [[0, 0n]]);
  const decoded = await decodeLegacyMessageSet(p!.records!, { maxDecompressedBytes: MiB });
  assert.deepEqual(decoded.map((m) => [m.timestamp, m.logAppendTime]), [[appendTime, true], [appendTime, true], [appendTime, true]]);
  const [p11] = await fetchPartitions(11, 'legacy-append-time', [[0, 0n]]);
  const [batch] = await decodeRecordBatches(p11!.records!, { verifyCrc: true, maxDecompressedBytes: MiB });
  assert.equal(batch!.timestampType, TimestampType.LOG_APPEND_TIME);
});

test('Fetch v3 byte limits apply to the converted messages: whole messages only, at least one for the first partition', async () => {
  const value = Buffer.alloc(1000, 7);
  for (const partition of [0, 1]) {
    // Magic 2 batches from a modern producer: each record becomes a 1,034 + key byte message.
    const records = Array.from({ length: 10 }, (_, i) => ({ key: Buffer.from(`k${i}`), value, timestamp: 1_000 + i }));
    const res = await c.request<ProduceRes>(0, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'legacy-limits', partitionData: [{ index: partition, records: await buildRecordBatch({ records, compression: CompressionCodec.ZSTD }) }] }] });
    assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, 0);
  }
  const size = legacyMessageSize(1, 2, 1000);
  const decodeAll = async (p: FetchPartition): Promise<number[]> => (await decodeLegacyMessageSet(p.records!, { maxDecompressedBytes: MiB })).map((m) => m.offset);

  // Partition max bytes of 3.5 messages: three whole messages per partition.
  const perPartition = await fetchPartitions(3, 'legacy-limits', [[0, 0n, Math.floor(size * 3.5)], [1, 2n, Math.floor(size * 3.5)]]);
  assert.deepEqual(await decodeAll(perPartition[0]!), [0, 1, 2]);
  assert.deepEqual(await decodeAll(perPartition[1]!), [2, 3, 4]);
  assert.equal(perPartition[0]!.records!.length, 3 * size);

  // The response max of five messages is shared in partition order.
  const shared = await fetchPartitions(3, 'legacy-limits', [[0, 0n], [1, 0n]], size * 5);
  assert.deepEqual(await decodeAll(shared[0]!), [0, 1, 2, 3, 4]);
  assert.deepEqual(await decodeAll(shared[1]!), []);

  // Limits below one message: the first partition still gets one (KIP-74), the next none.
  const tiny = await fetchPartitions(3, 'legacy-limits', [[0, 9n, 10], [1, 0n, 10]]);
  assert.deepEqual(await decodeAll(tiny[0]!), [9]);
  assert.deepEqual(await decodeAll(tiny[1]!), []);
  // Fetch v0-2 have no response limit, only the partitions'.
  const v0 = await fetchPartitions(0, 'legacy-limits', [[0, 0n, size * 2], [1, 8n, size * 2]]);
  assert.deepEqual(await decodeAll(v0[0]!), [0, 1]);
  assert.deepEqual(await decodeAll(v0[1]!), [8, 9]);
});

test('Fetch v3 long polling still waits for min_bytes and wakes on a legacy produce', async () => {
  const other = await RawClient.connect(broker.port);
  const hw = (await fetchPartitions(11, 'legacy', [[0, 0n]]))[0]!.highWatermark;
  const started = Date.now();
  const pending = other.request<FetchRes>(1, 3, { ...fetchBody('legacy', [[0, hw]]), maxWaitMs: 5000, minBytes: 1 });
  await new Promise((r) => setTimeout(r, 100));
  await produce(2, await buildLegacyMessageSet({ magic: 1, messages: messages(1, 1, 'wake') }));
  const res = await pending;
  assert.ok(Date.now() - started < 4000);
  const decoded = await decodeLegacyMessageSet(res.responses[0]!.partitions[0]!.records!, { maxDecompressedBytes: MiB });
  assert.deepEqual(decoded.map((m) => [m.offset, m.value?.toString()]), [[Number(hw), 'wake-value-0']]);
  other.close();
});

test('converted batches are ordinary batches on disk: they survive a restart of the disk engine', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'fjord-legacy-'));
  try {
    let disk = await startBroker({ dataDir });
    disk.broker.createTopic('legacy-disk', 1, 1, {});
    let client = await RawClient.connect(disk.port);
    const input = messages(1, 20, 'disk');
    assert.equal((await produce(2, await buildLegacyMessageSet({ magic: 1, messages: input.slice(0, 10) }), 'legacy-disk', 0, client)).errorCode, 0);
    assert.equal((await produce(2, await buildLegacyMessageSet({ magic: 1, messages: input.slice(10), compression: CompressionCodec.SNAPPY }), 'legacy-disk', 0, client)).errorCode, 0);
    client.close();
    await disk.close();
    disk = await startBroker({ dataDir });
    client = await RawClient.connect(disk.port);
    try {
      assert.deepEqual(await fetchLegacy(3, 'legacy-disk', 0n, client), input.map((m, i) => `${i}|1|${m.timestamp}|${m.key}|${m.value}`));
    } finally {
      client.close();
      await disk.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
