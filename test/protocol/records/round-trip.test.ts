import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  CompressionCodec,
  RECORD_BATCH_HEADER_SIZE,
  buildRecordBatch,
  decodeRecordBatches,
  readBatchHeader,
  validateProducedRecords,
} from '../../../src/protocol/records/index.js';
import type { RecordInput } from '../../../src/protocol/records/index.js';

const limits = { maxBatchBytes: 16 * 1024 * 1024, maxDecompressedBytes: 16 * 1024 * 1024 };
const decodeOpts = { verifyCrc: true, maxDecompressedBytes: 16 * 1024 * 1024 };
const codecs = [
  CompressionCodec.NONE,
  CompressionCodec.GZIP,
  CompressionCodec.SNAPPY,
  CompressionCodec.LZ4,
  CompressionCodec.ZSTD,
] as const;

function sampleRecords(): RecordInput[] {
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 9)) & 0xff;
  return [
    { key: Buffer.from('key-1'), value: Buffer.from('value-1'), timestamp: 1_700_000_000_000 },
    { key: null, value: Buffer.from('no key'), timestamp: 1_700_000_000_010 },
    { key: Buffer.from('tombstone'), value: null, timestamp: 1_699_999_999_000 },
    {
      key: Buffer.alloc(0),
      value: Buffer.alloc(0),
      timestamp: 1_700_000_000_005,
      headers: [
        { key: 'trace-id', value: Buffer.from('abc') },
        { key: 'nullable', value: null },
        { key: 'ünïcödé', value: Buffer.alloc(0) },
      ],
    },
    { key: Buffer.from('big'), value: big, timestamp: 1_700_000_000_020, headers: [{ key: 'h', value: Buffer.from([0, 1, 2]) }] },
  ];
}

for (const codec of codecs) {
  test(`build -> validate -> decode round trip with codec ${codec}`, async () => {
    const records = sampleRecords();
    const batch = await buildRecordBatch({
      records,
      compression: codec,
      producerId: 4242n,
      producerEpoch: 7,
      baseSequence: 100,
      isTransactional: true,
    });
    if (codec !== CompressionCodec.NONE) assert.ok(batch.length < 100_000, 'payload should actually be compressed');

    const result = validateProducedRecords(batch, limits);
    assert.ok(result.ok, result.ok ? '' : result.message);
    assert.equal(result.batches.length, 1);
    assert.deepEqual(result.batches[0], {
      start: 0,
      length: batch.length,
      recordsCount: 5,
      lastOffsetDelta: 4,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_020,
      producerId: 4242,
      producerEpoch: 7,
      baseSequence: 100,
      isTransactional: true,
      timestampType: 0,
      compression: codec,
    });

    const [decoded, ...rest] = await decodeRecordBatches(batch, decodeOpts);
    assert.equal(rest.length, 0);
    assert.ok(decoded);
    assert.equal(decoded.compression, codec);
    assert.equal(decoded.isTransactional, true);
    assert.equal(decoded.isControl, false);
    assert.equal(decoded.header.partitionLeaderEpoch, -1);
    assert.equal(decoded.records.length, records.length);
    decoded.records.forEach((got, i) => {
      const want = records[i]!;
      assert.equal(got.offset, i);
      assert.equal(got.timestamp, want.timestamp);
      assert.deepEqual(got.key, want.key);
      assert.deepEqual(got.value, want.value);
      assert.deepEqual(got.headers, want.headers ?? []);
    });
  });
}

test('several concatenated batches with mixed codecs validate and decode', async () => {
  const parts = await Promise.all(
    codecs.map((codec, i) =>
      buildRecordBatch({
        compression: codec,
        records: [
          { key: null, value: Buffer.from(`a${i}`), timestamp: 1000 + i },
          { key: null, value: Buffer.from(`b${i}`), timestamp: 1001 + i },
        ],
      }),
    ),
  );
  const all = Buffer.concat(parts);
  const result = validateProducedRecords(all, limits);
  assert.ok(result.ok, result.ok ? '' : result.message);
  let start = 0;
  result.batches.forEach((batch, i) => {
    assert.equal(batch.start, start);
    assert.equal(batch.length, parts[i]!.length);
    assert.equal(batch.compression, codecs[i]);
    start += batch.length;
  });
  const decoded = await decodeRecordBatches(all, decodeOpts);
  assert.deepEqual(
    decoded.map((b) => b.records.map((r) => r.value?.toString())),
    codecs.map((_, i) => [`a${i}`, `b${i}`]),
  );
});

test('explicit offset deltas and base offset give the expected offsets', async () => {
  const batch = await buildRecordBatch({
    baseOffset: 1000n,
    records: [
      { key: null, value: Buffer.from('x'), timestamp: 5, offsetDelta: 0 },
      { key: null, value: Buffer.from('y'), timestamp: 5, offsetDelta: 3 },
    ],
  });
  const [decoded] = await decodeRecordBatches(batch, decodeOpts);
  assert.equal(readBatchHeader(batch, 0).lastOffsetDelta, 3);
  assert.deepEqual(
    decoded?.records.map((r) => r.offset),
    [1000, 1003],
  );
});

// Cross-check against an independent implementation: kafkajs's record batch codec.
const require = createRequire(import.meta.url);
type KafkaEncoder = { buffer: Buffer };
const { RecordBatch: kafkajsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (opts: Record<string, unknown>) => Promise<KafkaEncoder>;
};
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (opts: Record<string, unknown>) => KafkaEncoder;
const kafkajsBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<{
  firstOffset: string;
  records: Array<{ key: Buffer | null; value: Buffer | null; offset: string; timestamp: string; headers: Record<string, Buffer> }>;
}>;
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => unknown;
const kafkajsTypes = (require('kafkajs/src/protocol/message/compression/index.js') as { Types: { GZIP: number } }).Types;

for (const [name, compression] of [
  ['uncompressed', 0],
  ['gzip', kafkajsTypes.GZIP],
] as const) {
  test(`a kafkajs-encoded ${name} batch validates and decodes`, async () => {
    const encoded = await kafkajsRecordBatch({
      compression,
      firstTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_007,
      lastOffsetDelta: 1,
      records: [
        kafkajsRecord({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('k1'), value: Buffer.from('v1'), headers: { a: Buffer.from('1') } }),
        kafkajsRecord({ offsetDelta: 1, timestampDelta: 7, key: null, value: Buffer.from('v2') }),
      ],
    });
    const buf = encoded.buffer;
    const result = validateProducedRecords(buf, limits);
    assert.ok(result.ok, result.ok ? '' : result.message);
    assert.equal(result.batches[0]?.recordsCount, 2);
    const [decoded] = await decodeRecordBatches(buf, decodeOpts);
    assert.deepEqual(
      decoded?.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString(), r.headers]),
      [
        [0, 1_700_000_000_000, 'k1', 'v1', [{ key: 'a', value: Buffer.from('1') }]],
        [1, 1_700_000_000_007, null, 'v2', []],
      ],
    );
  });
}

test('kafkajs decodes a batch built here', async () => {
  const batch = await buildRecordBatch({
    baseOffset: 42,
    records: [
      { key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: Buffer.from('x') }] },
      { key: null, value: null, timestamp: 1_700_000_000_003 },
    ],
  });
  const decoded = await kafkajsBatchDecoder(new KafkajsDecoder(batch));
  assert.equal(decoded.firstOffset, '42');
  assert.deepEqual(
    decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value, r.headers]),
    [
      ['42', '1700000000000', 'k', Buffer.from('v'), { h: Buffer.from('x') }],
      ['43', '1700000000003', null, null, {}],
    ],
  );
  assert.equal(batch.length > RECORD_BATCH_HEADER_SIZE, true);
});
