import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  CONTROL_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
} from './batch-header.js';
import type { TimestampType } from './batch-header.js';
import { compress } from './compression.js';
import type { CompressionCodec } from './compression.js';
import { crc32c } from './crc32c.js';
import { sizeOfVarint, writeVarint } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key: Buffer | null;
  value: Buffer | null;
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** Defaults to the record's index; explicit gaps mimic compacted batches. */
  offsetDelta?: number;
}

export interface BuildRecordBatchOptions {
  baseOffset?: bigint | number;
  records: readonly RecordInput[];
  compression?: CompressionCodec;
  /** -1 (the default) means no producer id, i.e. a non-idempotent producer. */
  producerId?: bigint | number;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  /** Producers send -1; brokers stamp the leader epoch on append. */
  partitionLeaderEpoch?: number;
  timestampType?: TimestampType;
}

/**
 * Bytes of one record's body (everything after its length varint), for records written with
 * `writeRecord`. `headerKeyBytes` is the sum of Buffer.byteLength(key) over the headers.
 */
export function sizeOfRecordBody(
  timestampDelta: number,
  offsetDelta: number,
  key: Buffer | null,
  value: Buffer | null,
  headers: readonly RecordHeader[],
): number {
  let body = 1 + sizeOfVarint(timestampDelta) + sizeOfVarint(offsetDelta) + sizeOfNullableBytes(key) + sizeOfNullableBytes(value) + sizeOfVarint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const k = Buffer.byteLength(h.key, 'utf8');
    body += sizeOfVarint(k) + k + sizeOfNullableBytes(h.value);
  }
  return body;
}

/**
 * Write one record (length varint, then body) at `pos`, straight into the batch buffer: no object per
 * record or per header. `body` is `sizeOfRecordBody` of the same fields. Returns the new position.
 */
export function writeRecord(
  buf: Buffer,
  pos: number,
  body: number,
  timestampDelta: number,
  offsetDelta: number,
  key: Buffer | null,
  value: Buffer | null,
  headers: readonly RecordHeader[],
): number {
  pos = writeVarint(buf, pos, body);
  buf[pos++] = 0; // record attributes: unused by Kafka
  pos = writeVarint(buf, pos, timestampDelta);
  pos = writeVarint(buf, pos, offsetDelta);
  pos = writeNullableBytes(buf, pos, key);
  pos = writeNullableBytes(buf, pos, value);
  pos = writeVarint(buf, pos, headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const k = Buffer.byteLength(h.key, 'utf8');
    pos = writeVarint(buf, pos, k);
    pos += buf.write(h.key, pos, k, 'utf8');
    pos = writeNullableBytes(buf, pos, h.value);
  }
  return pos;
}

export interface RecordBatchHeaderFields {
  baseOffset?: bigint | number;
  /** Records in the batch; the last offset delta is count - 1 unless given. */
  count: number;
  lastOffsetDelta?: number;
  baseTimestamp: number;
  maxTimestamp: number;
  compression?: CompressionCodec;
  producerId?: bigint | number;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  partitionLeaderEpoch?: number;
  timestampType?: TimestampType;
}

/**
 * Fill in the 61-byte header of `batch` (whose records, compressed or not, already follow it and
 * end at batch.length) and its CRC. Used by buildRecordBatch and by the producer, which writes
 * records into the batch buffer as they are sent and finishes the batch when it drains it.
 */
export function writeRecordBatchHeader(batch: Buffer, f: RecordBatchHeaderFields): Buffer {
  let attributes = f.compression ?? 0;
  if (f.timestampType === 1) attributes |= TIMESTAMP_TYPE_MASK;
  if (f.isTransactional === true) attributes |= TRANSACTIONAL_MASK;
  if (f.isControl === true) attributes |= CONTROL_MASK;
  writeInt64(batch, f.baseOffset ?? 0, BASE_OFFSET_OFFSET);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  batch.writeInt32BE(f.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET);
  batch.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  batch.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  batch.writeInt32BE(f.lastOffsetDelta ?? f.count - 1, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(batch, f.baseTimestamp, BASE_TIMESTAMP_OFFSET);
  writeInt64(batch, f.maxTimestamp, MAX_TIMESTAMP_OFFSET);
  writeInt64(batch, f.producerId ?? -1, PRODUCER_ID_OFFSET);
  batch.writeInt16BE(f.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  batch.writeInt32BE(f.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
  batch.writeInt32BE(f.count, RECORDS_COUNT_OFFSET);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return batch;
}

/** A signed 64-bit field from a bigint, or from a safe-integer number without a BigInt on the way. */
function writeInt64(buf: Buffer, v: bigint | number, at: number): void {
  if (typeof v === 'bigint') {
    buf.writeBigInt64BE(v, at);
    return;
  }
  if (!Number.isSafeInteger(v)) throw new RangeError(`int64 field ${v} is not a safe integer`);
  const high = Math.floor(v / 0x1_0000_0000);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(v - high * 0x1_0000_0000, at + 4);
}

/** Builds one magic-2 record batch with its CRC filled in. */
export async function buildRecordBatch(options: BuildRecordBatchOptions): Promise<Buffer> {
  const { records } = options;
  const first = records[0];
  if (first === undefined) throw new RangeError('a record batch needs at least one record');
  const compression = options.compression ?? 0;

  const baseTimestamp = first.timestamp;
  let maxTimestamp = baseTimestamp;
  const bodySizes: number[] = new Array<number>(records.length);
  let recordsSize = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    const body = sizeOfRecordBody(record.timestamp - baseTimestamp, record.offsetDelta ?? i, record.key, record.value, record.headers ?? NO_HEADERS);
    bodySizes[i] = body;
    recordsSize += sizeOfVarint(body) + body;
  }

  // Uncompressed records are written straight into the batch to avoid a copy.
  let pos = compression === 0 ? RECORD_BATCH_HEADER_SIZE : 0;
  const recordsBuf = Buffer.allocUnsafe(pos + recordsSize);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    pos = writeRecord(recordsBuf, pos, bodySizes[i]!, record.timestamp - baseTimestamp, record.offsetDelta ?? i, record.key, record.value, record.headers ?? NO_HEADERS);
  }

  let batch: Buffer;
  if (compression === 0) {
    batch = recordsBuf;
  } else {
    const payload = await compress(compression, recordsBuf);
    batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
    payload.copy(batch, RECORD_BATCH_HEADER_SIZE);
  }

  const fields: RecordBatchHeaderFields = {
    baseOffset: options.baseOffset ?? 0,
    count: records.length,
    lastOffsetDelta: records[records.length - 1]!.offsetDelta ?? records.length - 1,
    baseTimestamp,
    maxTimestamp,
    compression,
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerEpoch ?? -1,
    baseSequence: options.baseSequence ?? -1,
    isTransactional: options.isTransactional === true,
    isControl: options.isControl === true,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
  };
  if (options.timestampType !== undefined) fields.timestampType = options.timestampType;
  return writeRecordBatchHeader(batch, fields);
}

const NO_HEADERS: readonly RecordHeader[] = [];

function sizeOfNullableBytes(bytes: Buffer | null): number {
  return bytes === null ? 1 : sizeOfVarint(bytes.length) + bytes.length;
}

function writeNullableBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  pos = writeVarint(buf, pos, bytes.length);
  // Small values: a byte loop beats the native copy's call overhead.
  const n = bytes.length;
  if (n <= 32) {
    for (let i = 0; i < n; i++) buf[pos + i] = bytes[i]!;
  } else {
    bytes.copy(buf, pos);
  }
  return pos + n;
}
