// Up-conversion of Produce v0-2 legacy message sets into one magic-2 batch, and every way one is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CompressionCodec,
  RecordErrorCode,
  TimestampType,
  buildLegacyMessageSet,
  buildRecordBatch,
  compress,
  decodeRecordBatches,
  legacyCrc32,
  legacyMessageSize,
  upConvertLegacyMessageSet,
  validateCompressedRecords,
  validateProducedRecords,
  writeLegacyMessage,
} from '../../../src/protocol/records/index.js';
import type { LegacyMessageInput, UpConversionResult } from '../../../src/protocol/records/index.js';

const limits = { maxBatchBytes: 1024 * 1024, maxDecompressedBytes: 1024 * 1024 };
const legacyCodecs = [CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4] as const;

function messages(magic: 0 | 1, n = 3): LegacyMessageInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 1 ? null : Buffer.from(`key-${i}`),
    value: i % 3 === 2 ? null : Buffer.from(`value ${i} `.repeat(i + 1)),
    ...(magic === 1 ? { timestamp: 1_700_000_000_000 + ((i * 7) % 5) } : {}),
  }));
}

async function ok(result: Promise<UpConversionResult>): Promise<Extract<UpConversionResult, { ok: true }>> {
  const r = await result;
  if (!r.ok) assert.fail(`conversion failed: ${r.errorCode} ${r.message}`);
  return r;
}

async function refused(records: Buffer, errorCode: number, pattern: RegExp, lim = limits): Promise<void> {
  const r = await upConvertLegacyMessageSet(records, lim);
  assert.equal(r.ok, false, `expected ${errorCode}`);
  if (r.ok) return;
  assert.equal(r.errorCode, errorCode, r.message);
  assert.match(r.message, pattern);
}

/** What a magic-2 reader sees in a converted batch. */
async function readBack(batch: Buffer): Promise<Array<{ offset: number; timestamp: number; key: string | null; value: string | null; headers: number }>> {
  const [decoded, ...rest] = await decodeRecordBatches(batch, { verifyCrc: true, maxDecompressedBytes: 1 << 24 });
  assert.equal(rest.length, 0);
  return decoded!.records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, headers: r.headers.length }));
}

function expected(magic: 0 | 1, input: LegacyMessageInput[]): Array<{ offset: number; timestamp: number; key: string | null; value: string | null; headers: number }> {
  return input.map((m, i) => ({ offset: i, timestamp: magic === 1 ? m.timestamp! : -1, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, headers: 0 }));
}

test('an uncompressed magic 0 set becomes one uncompressed magic-2 batch with no timestamps, identical to buildRecordBatch', async () => {
  const input = messages(0, 5);
  const r = await ok(upConvertLegacyMessageSet(await buildLegacyMessageSet({ magic: 0, messages: input }), limits));
  assert.equal(r.recordsCount, 5);
  assert.equal(r.compression, 0);
  assert.deepEqual(await readBack(r.batch), expected(0, input));
  // Kafka keeps NO_TIMESTAMP (-1) for magic 0 records under CreateTime; the batch says CreateTime.
  const built = await buildRecordBatch({ records: input.map((m) => ({ key: m.key, value: m.value, timestamp: -1 })) });
  assert.deepEqual(r.batch, built);
  const v = validateProducedRecords(r.batch, limits);
  assert.ok(v.ok);
  assert.equal(v.batches[0]!.timestampType, TimestampType.CREATE_TIME);
});

test('an uncompressed magic 1 set keeps every timestamp; base and max timestamps are Kafka\'s', async () => {
  const input = messages(1, 7);
  const r = await ok(upConvertLegacyMessageSet(await buildLegacyMessageSet({ magic: 1, messages: input }), limits));
  assert.deepEqual(await readBack(r.batch), expected(1, input));
  const built = await buildRecordBatch({ records: input.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp! })) });
  assert.deepEqual(r.batch, built);
  const v = validateProducedRecords(r.batch, limits);
  assert.ok(v.ok);
  assert.equal(v.batches[0]!.baseTimestamp, input[0]!.timestamp);
  assert.equal(v.batches[0]!.maxTimestamp, Math.max(...input.map((m) => m.timestamp!)));
});

test('a compressed wrapper (gzip, snappy, lz4; magic 0 and 1) keeps its codec and its inner records', async () => {
  for (const magic of [0, 1] as const) {
    for (const compression of legacyCodecs) {
      const input = messages(magic, 50);
      const set = await buildLegacyMessageSet({ magic, messages: input, compression });
      const r = await ok(upConvertLegacyMessageSet(set, limits));
      assert.equal(r.compression, compression, `magic ${magic} codec ${compression}`);
      assert.equal(r.sourceMagic, magic);
      assert.deepEqual(await readBack(r.batch), expected(magic, input), `magic ${magic} codec ${compression}`);
      // The result passes the same checks as a batch a modern producer sends.
      assert.ok(validateProducedRecords(r.batch, limits).ok);
      assert.equal(await validateCompressedRecords(r.batch, limits.maxDecompressedBytes), undefined);
    }
  }
});

test('wrappers written by kafka-python 2.0.2 convert (its magic-1 wrapper offset 0 and relative inner offsets are rewritten)', async () => {
  const golden = [
    '00000000000000000000005aea7082f40001ffffffff0000004c1f8b08007459066b02ff63608003d1c2f7e105601653b6219064cd48cdc9c9874a3202b170f781b3e50c0cff8100245d9e5f94930295660262816dcea7b2a0fa8d418a00a8d155545c000000',
    '000000000000000000000089e10b812301030000000000000000ffffffff0000007304224d1868407400000000000000f25c00000016000100e01d9e34959601000000018bcfe5681800c0026b310000000568656c6c6f1000001c00850000001b0627d21229005005ffffffff270051776f726c642500b500000200000018096bf7522700b003000000026b33ffffffff00000000',
  ];
  const [v0gzip, v1lz4] = await Promise.all(golden.map((hex) => ok(upConvertLegacyMessageSet(Buffer.from(hex, 'hex'), limits))));
  assert.deepEqual((await readBack(v0gzip!.batch)).map((r) => `${r.offset}|${r.timestamp}|${r.key}|${r.value}`), ['0|-1|k1|hello', '1|-1|null|world', '2|-1|k3|null']);
  assert.deepEqual((await readBack(v1lz4!.batch)).map((r) => `${r.offset}|${r.timestamp}|${r.key}|${r.value}`), [
    '0|1700000000000|k1|hello',
    '1|1700000000005|null|world',
    '2|1700000000003|k3|null',
  ]);
  assert.equal(v1lz4!.compression, CompressionCodec.LZ4);
});

test('inner records of a magic-1 LogAppendTime wrapper take the wrapper timestamp, as Kafka reads them', async () => {
  const set = await buildLegacyMessageSet({ magic: 1, messages: messages(1), compression: CompressionCodec.GZIP, logAppendTime: true, wrapperTimestamp: 42 });
  const r = await ok(upConvertLegacyMessageSet(set, limits));
  assert.deepEqual((await readBack(r.batch)).map((x) => x.timestamp), [42, 42, 42]);
});

test('a CRC mismatch is CORRUPT_MESSAGE, in a plain message and inside a wrapper', async () => {
  const plain = await buildLegacyMessageSet({ magic: 1, messages: messages(1) });
  plain.writeUInt8(plain.readUInt8(30) ^ 0xff, 30);
  await refused(plain, RecordErrorCode.CORRUPT_MESSAGE, /CRC mismatch/);

  const inner = await buildLegacyMessageSet({ magic: 0, messages: messages(0) });
  inner.writeUInt8(inner.readUInt8(inner.length - 1) ^ 0xff, inner.length - 1);
  await refused(await wrap(0, CompressionCodec.GZIP, inner), RecordErrorCode.CORRUPT_MESSAGE, /inside the compressed wrapper.*CRC mismatch/);
});

/** A wrapper around arbitrary inner bytes, with a valid outer CRC. */
async function wrap(magic: 0 | 1, codec: number, inner: Buffer, compressed?: Buffer): Promise<Buffer> {
  const payload = compressed ?? (await compress(codec as CompressionCodec, inner));
  const out = Buffer.alloc(legacyMessageSize(magic, -1, payload.length));
  writeLegacyMessage(out, 0, magic, 0, codec, 0, Buffer.alloc(0), 0, -1, payload, 0, payload.length);
  return out;
}

test('structure: mixed magics, several wrappers, a wrapper among plain messages, nested and mismatched inner magics', async () => {
  const v0 = await buildLegacyMessageSet({ magic: 0, messages: messages(0, 1) });
  const v1 = await buildLegacyMessageSet({ magic: 1, messages: messages(1, 1) });
  const gz1 = await buildLegacyMessageSet({ magic: 1, messages: messages(1), compression: CompressionCodec.GZIP });
  await refused(Buffer.concat([v0, v1]), RecordErrorCode.INVALID_RECORD, /has magic 1, the first has 0/);
  await refused(Buffer.concat([gz1, gz1]), RecordErrorCode.INVALID_RECORD, /exactly one wrapper/);
  await refused(Buffer.concat([v1, gz1]), RecordErrorCode.INVALID_RECORD, /exactly one wrapper/);
  await refused(await wrap(1, CompressionCodec.GZIP, gz1), RecordErrorCode.INVALID_RECORD, /may not contain another compressed message/);
  await refused(await wrap(1, CompressionCodec.SNAPPY, v0), RecordErrorCode.INVALID_RECORD, /magic 1 wrapper contains a magic 0 message/);
  await refused(await wrap(0, CompressionCodec.GZIP, Buffer.alloc(0)), RecordErrorCode.INVALID_RECORD, /holds no messages/);
  // A magic-2 batch after legacy messages is a magic mismatch too.
  await refused(Buffer.concat([v1, await buildRecordBatch({ records: [{ key: null, value: null, timestamp: 1 }] })]), RecordErrorCode.INVALID_RECORD, /has magic 2/);
});

test('codecs: zstd and unknown codecs are not legacy codecs; a null or undecodable wrapper value is refused', async () => {
  const inner = await buildLegacyMessageSet({ magic: 1, messages: messages(1) });
  await refused(await wrap(1, CompressionCodec.ZSTD, inner), RecordErrorCode.UNSUPPORTED_COMPRESSION_TYPE, /codec 4/);
  await refused(await wrap(1, 5, inner, Buffer.from('x')), RecordErrorCode.UNSUPPORTED_COMPRESSION_TYPE, /codec 5/);
  const nullValue = Buffer.alloc(legacyMessageSize(1, -1, -1));
  writeLegacyMessage(nullValue, 0, 1, 0, CompressionCodec.GZIP, 0, Buffer.alloc(0), 0, -1, Buffer.alloc(0), 0, -1);
  await refused(nullValue, RecordErrorCode.INVALID_RECORD, /null value/);
  await refused(await wrap(1, CompressionCodec.GZIP, inner, Buffer.from('not gzip at all')), RecordErrorCode.CORRUPT_MESSAGE, /cannot be decompressed/);
});

test('bounds: max.message.bytes per message and for the converted batch; truncation; timestamps', async () => {
  const set = await buildLegacyMessageSet({ magic: 1, messages: messages(1, 4) });
  await refused(set, RecordErrorCode.MESSAGE_TOO_LARGE, /exceeds 40/, { ...limits, maxBatchBytes: 40 });
  // Each message fits, but the converted batch does not: Kafka checks converted batches again.
  await refused(set, RecordErrorCode.MESSAGE_TOO_LARGE, /converted batch/, { ...limits, maxBatchBytes: 80 });
  await refused(set.subarray(0, set.length - 1), RecordErrorCode.CORRUPT_MESSAGE, /claimed/);
  await refused(set.subarray(0, 10), RecordErrorCode.CORRUPT_MESSAGE, /truncated/);
  const negative = await buildLegacyMessageSet({ magic: 1, messages: [{ key: null, value: null, timestamp: -5 }] });
  await refused(negative, RecordErrorCode.INVALID_RECORD, /invalid timestamp -5/);
});

test('bounds: an inner message claiming a huge size is CORRUPT_MESSAGE, and no wrapper inflates past the limit', async () => {
  const inner = await buildLegacyMessageSet({ magic: 1, messages: messages(1) });
  inner.writeInt32BE(0x7fff_fff0, 8); // the first inner message claims ~2 GiB
  inner.writeUInt32BE(legacyCrc32(inner.subarray(16)), 12);
  await refused(await wrap(1, CompressionCodec.LZ4, inner), RecordErrorCode.CORRUPT_MESSAGE, /claimed/);

  // 8 MiB of zeros gzips to a few KiB: inflation stops at the limit (gzip declares no size).
  const zeros = Buffer.alloc(8 * 1024 * 1024);
  const heapBefore = process.memoryUsage().arrayBuffers;
  await refused(await wrap(1, CompressionCodec.GZIP, zeros), RecordErrorCode.INVALID_RECORD, /inflates beyond 1048576/);
  // snappy declares its size: refused before anything is inflated.
  await refused(await wrap(1, CompressionCodec.SNAPPY, zeros), RecordErrorCode.MESSAGE_TOO_LARGE, /at least 8388608/);
  assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 64 * 1024 * 1024);
});

test('fuzz: mutated legacy sets are converted or refused with a record error code, never thrown', async () => {
  const { SeededRandom } = await import('../../../src/testing/seeded-random.js');
  const rnd = new SeededRandom(20260301);
  const seeds: Buffer[] = [];
  for (const magic of [0, 1] as const) {
    seeds.push(await buildLegacyMessageSet({ magic, messages: messages(magic, 6) }));
    for (const compression of legacyCodecs) seeds.push(await buildLegacyMessageSet({ magic, messages: messages(magic, 6), compression }));
  }
  const codes = new Set<number>(Object.values(RecordErrorCode));
  let converted = 0;
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(seeds[rnd.int(0, seeds.length - 1)]!);
    const edits = rnd.int(1, 3);
    for (let e = 0; e < edits; e++) {
      const at = rnd.int(0, b.length - 1);
      if (rnd.bool()) b.writeUInt8(b.readUInt8(at) ^ (1 << rnd.int(0, 7)), at);
      else if (at + 4 <= b.length) b.writeInt32BE(rnd.int(-2, 0x7fffffff), at);
    }
    // Re-seal every top-level CRC now and then, so inner damage is reached too.
    if (rnd.bool()) {
      for (let pos = 0; pos + 17 <= b.length; ) {
        const size = b.readInt32BE(pos + 8);
        if (size < 14 || pos + 12 + size > b.length) break;
        b.writeUInt32BE(legacyCrc32(b.subarray(pos + 16, pos + 12 + size)), pos + 12);
        pos += 12 + size;
      }
    }
    const r = await upConvertLegacyMessageSet(b, limits);
    if (r.ok) {
      converted++;
      assert.ok(validateProducedRecords(r.batch, limits).ok);
    } else {
      assert.ok(codes.has(r.errorCode), `unexpected code ${r.errorCode}: ${r.message}`);
    }
  }
  assert.ok(converted > 0);
});
