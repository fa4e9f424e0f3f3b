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

interface EncodedHeader {
  key: Buffer;
  value: Buffer | null;
}

/** Builds one magic-2 record batch with its CRC filled in. */
export async function buildRecordBatch(options: BuildRecordBatchOptions): Promise<Buffer> {
  const { records } = options;
  const first = records[0];
  if (first === undefined) throw new RangeError('a record batch needs at least one record');
  const compression = options.compression ?? 0;

  const baseTimestamp = first.timestamp;
  let maxTimestamp = baseTimestamp;
  const bodySizes: number[] = [];
  const encodedHeaders: EncodedHeader[][] = [];
  let recordsSize = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    const headers = (record.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: h.value }));
    let body =
      1 +
      sizeOfVarint(record.timestamp - baseTimestamp) +
      sizeOfVarint(record.offsetDelta ?? i) +
      sizeOfNullableBytes(record.key) +
      sizeOfNullableBytes(record.value) +
      sizeOfVarint(headers.length);
    for (const header of headers) body += sizeOfNullableBytes(header.key) + sizeOfNullableBytes(header.value);
    bodySizes.push(body);
    encodedHeaders.push(headers);
    recordsSize += sizeOfVarint(body) + body;
  }

  // Uncompressed records are written straight into the batch to avoid a copy.
  let pos = compression === 0 ? RECORD_BATCH_HEADER_SIZE : 0;
  const recordsBuf = Buffer.allocUnsafe(pos + recordsSize);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    pos = writeVarint(recordsBuf, pos, bodySizes[i]!);
    recordsBuf[pos++] = 0; // record attributes: unused by Kafka
    pos = writeVarint(recordsBuf, pos, record.timestamp - baseTimestamp);
    pos = writeVarint(recordsBuf, pos, record.offsetDelta ?? i);
    pos = writeNullableBytes(recordsBuf, pos, record.key);
    pos = writeNullableBytes(recordsBuf, pos, record.value);
    const headers = encodedHeaders[i]!;
    pos = writeVarint(recordsBuf, pos, headers.length);
    for (const header of headers) {
      pos = writeNullableBytes(recordsBuf, pos, header.key);
      pos = writeNullableBytes(recordsBuf, pos, header.value);
    }
  }

  let batch: Buffer;
  if (compression === 0) {
    batch = recordsBuf;
  } else {
    const payload = await compress(compression, recordsBuf);
    batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
    payload.copy(batch, RECORD_BATCH_HEADER_SIZE);
  }

  let attributes = compression;
  if (options.timestampType === 1) attributes |= TIMESTAMP_TYPE_MASK;
  if (options.isTransactional === true) attributes |= TRANSACTIONAL_MASK;
  if (options.isControl === true) attributes |= CONTROL_MASK;

  batch.writeBigInt64BE(BigInt(options.baseOffset ?? 0), BASE_OFFSET_OFFSET);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET);
  batch.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  batch.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  batch.writeInt32BE(records[records.length - 1]!.offsetDelta ?? records.length - 1, LAST_OFFSET_DELTA_OFFSET);
  batch.writeBigInt64BE(BigInt(baseTimestamp), BASE_TIMESTAMP_OFFSET);
  batch.writeBigInt64BE(BigInt(maxTimestamp), MAX_TIMESTAMP_OFFSET);
  batch.writeBigInt64BE(BigInt(options.producerId ?? -1), PRODUCER_ID_OFFSET);
  batch.writeInt16BE(options.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  batch.writeInt32BE(options.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
  batch.writeInt32BE(records.length, RECORDS_COUNT_OFFSET);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return batch;
}

function sizeOfNullableBytes(bytes: Buffer | null): number {
  return bytes === null ? 1 : sizeOfVarint(bytes.length) + bytes.length;
}

function writeNullableBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  bytes.copy(buf, pos);
  return pos + bytes.length;
}
