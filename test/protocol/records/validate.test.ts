import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compress as snappyRaw } from 'snappy';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  CompressionCodec,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RecordErrorCode,
  buildRecordBatch,
  crc32c,
  validateProducedRecords,
} from '../../../src/protocol/records/index.js';
import type { BuildRecordBatchOptions, ValidationResult } from '../../../src/protocol/records/index.js';

const limits = { maxBatchBytes: 1024 * 1024, maxDecompressedBytes: 1024 * 1024 };

function threeRecords(): BuildRecordBatchOptions['records'] {
  return [0, 1, 2].map((i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value ${i}`), timestamp: 1_000 + i }));
}

async function batchOf(options: Partial<BuildRecordBatchOptions> = {}): Promise<Buffer> {
  return buildRecordBatch({ records: threeRecords(), ...options });
}

/** Re-seals a deliberately modified batch so only the intended defect remains. */
function reseal(batch: Buffer, start = 0): Buffer {
  const end = start + batch.readInt32BE(start + BATCH_LENGTH_OFFSET) + 12;
  batch.writeUInt32BE(crc32c(batch.subarray(start + ATTRIBUTES_OFFSET, end)), start + CRC_OFFSET);
  return batch;
}

function assertError(result: ValidationResult, errorCode: number, pattern?: RegExp): void {
  assert.equal(result.ok, false, 'expected validation to fail');
  if (result.ok) return;
  assert.equal(result.errorCode, errorCode, result.message);
  if (pattern) assert.match(result.message, pattern);
}

test('a CRC mismatch is CORRUPT_MESSAGE', async () => {
  const batch = await batchOf();
  batch[batch.length - 1]! ^= 0x01;
  assertError(validateProducedRecords(batch, limits), RecordErrorCode.CORRUPT_MESSAGE, /CRC/);
  const crcFlipped = await batchOf();
  crcFlipped[CRC_OFFSET]! ^= 0x80;
  assertError(validateProducedRecords(crcFlipped, limits), RecordErrorCode.CORRUPT_MESSAGE, /CRC/);
});

test('legacy message formats (magic 0 and 1) are UNSUPPORTED_FOR_MESSAGE_FORMAT', () => {
  for (const magic of [0, 1]) {
    // offset, size, crc, magic, attributes, [timestamp], key (null), value "v"
    const body = Buffer.from([magic, 0, ...(magic === 1 ? [0, 0, 0, 0, 0, 0, 0, 1] : []), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x76]);
    const message = Buffer.alloc(16 + body.length);
    message.writeInt32BE(4 + body.length, 8);
    body.copy(message, 16);
    assertError(validateProducedRecords(message, limits), RecordErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, new RegExp(`v${magic}`));
  }
});

test('an unknown magic is CORRUPT_MESSAGE', async () => {
  const batch = await batchOf();
  batch[MAGIC_OFFSET] = 3;
  assertError(validateProducedRecords(batch, limits), RecordErrorCode.CORRUPT_MESSAGE, /magic/);
});

test('a control batch from a client is INVALID_RECORD', async () => {
  const batch = await batchOf({ isControl: true, records: [{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: 1 }] });
  assertError(validateProducedRecords(batch, limits), RecordErrorCode.INVALID_RECORD, /control/);
});

test('a records count that disagrees with the records is INVALID_RECORD', async () => {
  for (const count of [2, 4]) {
    const batch = await batchOf();
    batch.writeInt32BE(count, RECORDS_COUNT_OFFSET);
    batch.writeInt32BE(count - 1, LAST_OFFSET_DELTA_OFFSET);
    assertError(validateProducedRecords(reseal(batch), limits), RecordErrorCode.INVALID_RECORD, /declares/);
  }
});

test('lastOffsetDelta inconsistent with the count, or a zero count, is INVALID_RECORD', async () => {
  const batch = await batchOf();
  batch.writeInt32BE(5, LAST_OFFSET_DELTA_OFFSET);
  assertError(validateProducedRecords(reseal(batch), limits), RecordErrorCode.INVALID_RECORD, /last offset delta/);
  const empty = await batchOf();
  empty.writeInt32BE(0, RECORDS_COUNT_OFFSET);
  empty.writeInt32BE(-1, LAST_OFFSET_DELTA_OFFSET);
  assertError(validateProducedRecords(reseal(empty), limits), RecordErrorCode.INVALID_RECORD, /count/);
});

test('record lengths that do not add up to the batch are CORRUPT_MESSAGE', async () => {
  // An extra byte after the last record: the walk runs past the end on it.
  const original = await batchOf();
  const padded = Buffer.concat([original, Buffer.from([0x02])]);
  padded.writeInt32BE(padded.length - 12, BATCH_LENGTH_OFFSET);
  assertError(validateProducedRecords(reseal(padded), limits), RecordErrorCode.CORRUPT_MESSAGE, /record 3/);
  // The first record claims more bytes than the batch holds.
  const overlong = await batchOf();
  overlong[RECORD_BATCH_HEADER_SIZE] = 0x7e;
  assertError(validateProducedRecords(reseal(overlong), limits), RecordErrorCode.CORRUPT_MESSAGE, /invalid length/);
  // A record length varint that never terminates.
  const unterminated = await batchOf({ records: [{ key: null, value: Buffer.alloc(3), timestamp: 0 }] });
  unterminated.fill(0xff, RECORD_BATCH_HEADER_SIZE);
  assertError(validateProducedRecords(reseal(unterminated), limits), RecordErrorCode.CORRUPT_MESSAGE, /varint/);
});

test('torn or undersized batches are CORRUPT_MESSAGE', async () => {
  const batch = await batchOf();
  for (const cut of [1, 16, 17, RECORD_BATCH_HEADER_SIZE, batch.length - 1]) {
    assertError(validateProducedRecords(batch.subarray(0, cut), limits), RecordErrorCode.CORRUPT_MESSAGE, /truncated/);
  }
  const twoWithTornTail = Buffer.concat([batch, batch.subarray(0, batch.length - 5)]);
  assertError(validateProducedRecords(twoWithTornTail, limits), RecordErrorCode.CORRUPT_MESSAGE, new RegExp(`byte ${batch.length}`));
  const tiny = Buffer.from(batch);
  tiny.writeInt32BE(20, BATCH_LENGTH_OFFSET);
  assertError(validateProducedRecords(tiny, limits), RecordErrorCode.CORRUPT_MESSAGE, /below/);
});

test('an empty records field is INVALID_RECORD', () => {
  assertError(validateProducedRecords(Buffer.alloc(0), limits), RecordErrorCode.INVALID_RECORD);
});

test('a batch over maxBatchBytes is MESSAGE_TOO_LARGE', async () => {
  const batch = await batchOf();
  assert.equal(validateProducedRecords(batch, { ...limits, maxBatchBytes: batch.length }).ok, true);
  assertError(validateProducedRecords(batch, { ...limits, maxBatchBytes: batch.length - 1 }), RecordErrorCode.MESSAGE_TOO_LARGE);
});

test('an unknown compression codec is UNSUPPORTED_COMPRESSION_TYPE', async () => {
  const batch = await batchOf();
  batch.writeInt16BE(5, ATTRIBUTES_OFFSET);
  assertError(validateProducedRecords(reseal(batch), limits), RecordErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
});

test('a non-zero base offset from a client is INVALID_RECORD', async () => {
  assertError(validateProducedRecords(await batchOf({ baseOffset: 7 }), limits), RecordErrorCode.INVALID_RECORD, /base offset/);
});

test('an idempotent batch without a sequence number is INVALID_RECORD', async () => {
  const batch = await batchOf({ producerId: 12, producerEpoch: 0 });
  assertError(validateProducedRecords(batch, limits), RecordErrorCode.INVALID_RECORD, /sequence/);
  assert.equal(validateProducedRecords(await batchOf({ producerId: 12, producerEpoch: 0, baseSequence: 0 }), limits).ok, true);
});

test('compressed batches declaring more than maxDecompressedBytes are refused up front', async () => {
  const batch = await batchOf({ compression: CompressionCodec.SNAPPY, records: [{ key: null, value: Buffer.alloc(300_000), timestamp: 0 }] });
  assert.equal(validateProducedRecords(batch, limits).ok, true);
  assertError(validateProducedRecords(batch, { ...limits, maxDecompressedBytes: 100_000 }), RecordErrorCode.MESSAGE_TOO_LARGE, /decompress/);

  // A raw snappy block claiming 2 GiB behind a valid CRC.
  const raw = await snappyRaw(Buffer.alloc(10));
  const lying = Buffer.concat([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08]), raw.subarray(1)]);
  const framed = await batchOf({ compression: CompressionCodec.SNAPPY });
  const forged = Buffer.concat([framed.subarray(0, RECORD_BATCH_HEADER_SIZE), lying]);
  forged.writeInt32BE(forged.length - 12, BATCH_LENGTH_OFFSET);
  assertError(validateProducedRecords(reseal(forged), limits), RecordErrorCode.MESSAGE_TOO_LARGE);
});

test('garbage in a compressed payload is CORRUPT_MESSAGE when the framing is unreadable', async () => {
  const batch = await batchOf({ compression: CompressionCodec.LZ4 });
  batch.fill(0x55, RECORD_BATCH_HEADER_SIZE);
  assertError(validateProducedRecords(reseal(batch), limits), RecordErrorCode.CORRUPT_MESSAGE, /malformed/);
  const headerOnly = Buffer.from(batch.subarray(0, RECORD_BATCH_HEADER_SIZE));
  headerOnly.writeInt32BE(RECORD_BATCH_HEADER_SIZE - 12, BATCH_LENGTH_OFFSET);
  assertError(validateProducedRecords(reseal(headerOnly), limits), RecordErrorCode.CORRUPT_MESSAGE, /no payload/);
});
