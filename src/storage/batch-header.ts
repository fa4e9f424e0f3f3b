import { crc32c } from '@node-rs/crc32';

/**
 * Field positions in a magic-2 record batch header, and the few reads the log needs. The log never
 * decodes records: everything it needs (offsets, timestamps, sizes) is in the fixed 61-byte header.
 */

export const BASE_OFFSET_AT = 0;
export const BATCH_LENGTH_AT = 8;
export const PARTITION_LEADER_EPOCH_AT = 12;
export const MAGIC_AT = 16;
export const CRC_AT = 17;
/** The CRC covers everything from the attributes to the end, so the log can rewrite the base offset. */
export const CRC_COVERED_FROM = 21;
export const ATTRIBUTES_AT = 21;
export const LAST_OFFSET_DELTA_AT = 23;
export const BASE_TIMESTAMP_AT = 27;
export const MAX_TIMESTAMP_AT = 35;
export const PRODUCER_ID_AT = 43;
export const PRODUCER_EPOCH_AT = 51;
export const BASE_SEQUENCE_AT = 53;
export const RECORDS_COUNT_AT = 57;
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;
/** Smallest legal batchLength: a header with no records. */
export const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - LOG_OVERHEAD;
export const CURRENT_MAGIC = 2;
export const NO_TIMESTAMP = -1;

const TWO_POW_32 = 0x1_0000_0000;

/** An int64 as a number: exact for every offset and millisecond timestamp the log will meet. */
export function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_POW_32 + buf.readUInt32BE(at + 4);
}

export function writeInt64(buf: Buffer, at: number, value: number): void {
  const hi = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(value - hi * TWO_POW_32, at + 4);
}

export interface BatchInfo {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly recordsCount: number;
  /** Whole batch size in bytes, including the 12-byte log overhead. */
  readonly size: number;
  readonly attributes: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

/** Header fields of the batch at `at`; the caller has checked the header is present. */
export function readBatchInfo(buf: Buffer, at: number): BatchInfo {
  const baseOffset = readInt64(buf, at + BASE_OFFSET_AT);
  return {
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(at + LAST_OFFSET_DELTA_AT),
    maxTimestamp: readInt64(buf, at + MAX_TIMESTAMP_AT),
    recordsCount: buf.readInt32BE(at + RECORDS_COUNT_AT),
    size: LOG_OVERHEAD + buf.readInt32BE(at + BATCH_LENGTH_AT),
    attributes: buf.readInt16BE(at + ATTRIBUTES_AT),
    producerId: readInt64(buf, at + PRODUCER_ID_AT),
    producerEpoch: buf.readInt16BE(at + PRODUCER_EPOCH_AT),
    baseSequence: buf.readInt32BE(at + BASE_SEQUENCE_AT),
  };
}

/** Size of the batch at `at` from its length field alone (needs only the first 12 bytes). */
export function batchSizeAt(buf: Buffer, at: number): number {
  return LOG_OVERHEAD + buf.readInt32BE(at + BATCH_LENGTH_AT);
}

/** Why a header cannot be a batch we wrote, or null when it looks sound. `available` bounds the batch. */
export function headerProblem(buf: Buffer, at: number, available: number): string | null {
  if (available < BATCH_HEADER_BYTES) return 'truncated header';
  const length = buf.readInt32BE(at + BATCH_LENGTH_AT);
  if (length < MIN_BATCH_LENGTH) return `batch length ${length} too small`;
  if (LOG_OVERHEAD + length > available) return `batch length ${length} runs past the end`;
  const magic = buf.readInt8(at + MAGIC_AT);
  if (magic !== CURRENT_MAGIC) return `magic ${magic}`;
  if (buf.readInt32BE(at + LAST_OFFSET_DELTA_AT) < 0) return 'negative last offset delta';
  return null;
}

export function crcMatches(buf: Buffer, at: number, size: number): boolean {
  const stored = buf.readUInt32BE(at + CRC_AT);
  return crc32c(buf.subarray(at + CRC_COVERED_FROM, at + size)) >>> 0 === stored;
}

/**
 * The checks append does itself, cheaply, although the caller validated the batch: a mis-sized
 * buffer would corrupt every offset after it.
 */
export function checkAppendable(batch: Buffer): BatchInfo {
  const problem = headerProblem(batch, 0, batch.length);
  if (problem !== null) throw new Error(`Cannot append record batch: ${problem}`);
  const size = batchSizeAt(batch, 0);
  if (size !== batch.length) {
    throw new Error(`Cannot append record batch: length field says ${size} bytes, buffer has ${batch.length}`);
  }
  return readBatchInfo(batch, 0);
}
