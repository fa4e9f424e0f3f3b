import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  BASE_OFFSET_OFFSET,
  compressionOf,
  isControlBatch,
  isTransactionalBatch,
  timestampTypeOf,
} from './batch-header.js';
import type { TimestampType } from './batch-header.js';
import { decompressedSizeLowerBound, isCompressionCodec } from './compression.js';
import type { CompressionCodec } from './compression.js';
import { crc32c } from './crc32c.js';
import { readInt64AsNumber } from './int64.js';
import { RecordErrorCode } from './record-error-codes.js';
import { VarintCursor } from './varint.js';

export interface ProducedRecordsLimits {
  /** Largest accepted batch in bytes, header included (Kafka's max.message.bytes). */
  maxBatchBytes: number;
  /** Largest records section a batch may declare once decompressed. */
  maxDecompressedBytes: number;
}

export interface ValidatedBatch {
  /** Offset of the batch within the validated buffer. */
  start: number;
  /** Total bytes of the batch, i.e. batchLength field + LOG_OVERHEAD. */
  length: number;
  recordsCount: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  isTransactional: boolean;
  timestampType: TimestampType;
  compression: CompressionCodec;
}

export type ValidationResult =
  | { ok: true; batches: ValidatedBatch[] }
  | { ok: false; errorCode: RecordErrorCode; message: string };

/** Smallest possible record body: attributes, timestamp delta, offset delta, key/value lengths, header count. */
const MIN_RECORD_BODY = 6;

function fail(errorCode: RecordErrorCode, batchStart: number, message: string): ValidationResult {
  return { ok: false, errorCode, message: `batch at byte ${batchStart}: ${message}` };
}

/**
 * Structural validation of a Produce request's `records` field, one object
 * per batch and none per record. As in Kafka, the size limit is checked
 * before the CRC and the CRC before anything inside the batch, so a damaged
 * batch reports CORRUPT_MESSAGE rather than a misleading content error.
 * Compressed batches are not decompressed here: only the size their codec
 * headers declare is checked, and their records are left to the caller.
 * Kafka itself accepts exactly one batch per partition from produce v3+;
 * enforcing that is left to the caller (batches.length).
 */
export function validateProducedRecords(records: Buffer, limits: ProducedRecordsLimits): ValidationResult {
  if (records.length === 0) return fail(RecordErrorCode.INVALID_RECORD, 0, 'produce request contains no record batches');
  const batches: ValidatedBatch[] = [];
  let pos = 0;
  while (pos < records.length) {
    const remaining = records.length - pos;
    if (remaining <= MAGIC_OFFSET) return fail(RecordErrorCode.CORRUPT_MESSAGE, pos, 'truncated batch header');
    const magic = records.readInt8(pos + MAGIC_OFFSET);
    if (magic === 0 || magic === 1) {
      return fail(RecordErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, pos, `message format v${magic} is not supported`);
    }
    if (magic !== CURRENT_MAGIC) return fail(RecordErrorCode.CORRUPT_MESSAGE, pos, `invalid magic ${magic}`);
    const batchLength = records.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH) {
      return fail(RecordErrorCode.CORRUPT_MESSAGE, pos, `batch length ${batchLength} is below ${MIN_BATCH_LENGTH}`);
    }
    const size = batchLength + LOG_OVERHEAD;
    if (size > remaining) {
      return fail(RecordErrorCode.CORRUPT_MESSAGE, pos, `batch of ${size} bytes is truncated to ${remaining}`);
    }
    if (size > limits.maxBatchBytes) {
      return fail(RecordErrorCode.MESSAGE_TOO_LARGE, pos, `batch of ${size} bytes exceeds ${limits.maxBatchBytes}`);
    }
    const end = pos + size;
    // Kafka requires clients to leave offset assignment to the broker.
    if (readInt64AsNumber(records, pos + BASE_OFFSET_OFFSET) !== 0) {
      return fail(RecordErrorCode.INVALID_RECORD, pos, 'base offset must be 0 in a produce request');
    }
    const storedCrc = records.readUInt32BE(pos + CRC_OFFSET);
    const actualCrc = crc32c(records.subarray(pos + ATTRIBUTES_OFFSET, end));
    if (storedCrc !== actualCrc) {
      return fail(RecordErrorCode.CORRUPT_MESSAGE, pos, `CRC mismatch (stored ${storedCrc}, computed ${actualCrc})`);
    }
    const attributes = records.readInt16BE(pos + ATTRIBUTES_OFFSET);
    const compression = compressionOf(attributes);
    if (!isCompressionCodec(compression)) {
      return fail(RecordErrorCode.UNSUPPORTED_COMPRESSION_TYPE, pos, `unknown compression codec ${compression}`);
    }
    if (isControlBatch(attributes)) {
      return fail(RecordErrorCode.INVALID_RECORD, pos, 'clients may not write control batches');
    }
    const recordsCount = records.readInt32BE(pos + RECORDS_COUNT_OFFSET);
    const lastOffsetDelta = records.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
    if (recordsCount < 1) return fail(RecordErrorCode.INVALID_RECORD, pos, `invalid record count ${recordsCount}`);
    if (lastOffsetDelta !== recordsCount - 1) {
      const message = `last offset delta ${lastOffsetDelta} is inconsistent with record count ${recordsCount}`;
      return fail(RecordErrorCode.INVALID_RECORD, pos, message);
    }
    const producerId = readInt64AsNumber(records, pos + PRODUCER_ID_OFFSET);
    const baseSequence = records.readInt32BE(pos + BASE_SEQUENCE_OFFSET);
    if (producerId >= 0 && baseSequence < 0) {
      return fail(RecordErrorCode.INVALID_RECORD, pos, `invalid sequence ${baseSequence} for producer ${producerId}`);
    }
    const recordsStart = pos + RECORD_BATCH_HEADER_SIZE;
    if (compression === 0) {
      const problem = checkUncompressedRecords(records, recordsStart, end, recordsCount);
      if (problem !== undefined) return fail(problem.errorCode, pos, problem.message);
    } else if (recordsStart === end) {
      return fail(RecordErrorCode.CORRUPT_MESSAGE, pos, 'compressed batch has no payload');
    } else {
      const problem = checkCompressedSize(compression, records.subarray(recordsStart, end), limits.maxDecompressedBytes);
      if (problem !== undefined) return fail(problem.errorCode, pos, problem.message);
    }
    batches.push({
      start: pos,
      length: size,
      recordsCount,
      lastOffsetDelta,
      baseTimestamp: readInt64AsNumber(records, pos + BASE_TIMESTAMP_OFFSET),
      maxTimestamp: readInt64AsNumber(records, pos + MAX_TIMESTAMP_OFFSET),
      producerId,
      producerEpoch: records.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
      baseSequence,
      isTransactional: isTransactionalBatch(attributes),
      timestampType: timestampTypeOf(attributes),
      compression,
    });
    pos = end;
  }
  return { ok: true, batches };
}

export interface Problem {
  errorCode: RecordErrorCode;
  message: string;
}

/**
 * Hops from record to record using only each record's length prefix, so the
 * count and the byte total are verified without decoding any field.
 */
export function checkUncompressedRecords(buf: Buffer, start: number, end: number, expectedCount: number): Problem | undefined {
  const cursor = new VarintCursor(buf, start, end);
  let count = 0;
  try {
    while (cursor.pos < end) {
      const length = cursor.readVarint();
      if (length < MIN_RECORD_BODY || length > end - cursor.pos) {
        return { errorCode: RecordErrorCode.CORRUPT_MESSAGE, message: `record ${count} has invalid length ${length}` };
      }
      cursor.pos += length;
      count++;
      if (count > expectedCount) break;
    }
  } catch (err) {
    return { errorCode: RecordErrorCode.CORRUPT_MESSAGE, message: `record ${count}: ${(err as Error).message}` };
  }
  if (count !== expectedCount) {
    return {
      errorCode: RecordErrorCode.INVALID_RECORD,
      message: `batch declares ${expectedCount} records but contains ${count > expectedCount ? 'more' : count}`,
    };
  }
  return undefined;
}

function checkCompressedSize(codec: CompressionCodec, payload: Buffer, maxBytes: number): Problem | undefined {
  let declared: number;
  try {
    declared = decompressedSizeLowerBound(codec, payload);
  } catch (err) {
    return { errorCode: RecordErrorCode.CORRUPT_MESSAGE, message: `malformed compressed records: ${(err as Error).message}` };
  }
  if (declared > maxBytes) {
    // Not CORRUPT_MESSAGE: that code is retriable and a resend cannot shrink the batch.
    return {
      errorCode: RecordErrorCode.MESSAGE_TOO_LARGE,
      message: `records decompress to at least ${declared} bytes, over the limit of ${maxBytes}`,
    };
  }
  return undefined;
}
