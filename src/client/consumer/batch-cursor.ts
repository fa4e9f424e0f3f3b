import {
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CONTROL_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
  TimestampType,
} from '../../protocol/records/batch-header.js';
import { decompress } from '../../protocol/records/compression.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import { readInt64AsNumber } from '../../protocol/records/int64.js';
import type { DecodedRecord } from '../../protocol/records/record-batch-reader.js';
import { decodeRecords } from './record-decoder.js';
import { isAbortMarker, type AbortedTransactions } from './aborted-transactions.js';

/** Where the complete batches of a fetched record set end, and the offset after the last one. */
export interface ScanResult {
  /** Bytes covered by complete, well-formed batch frames. */
  readonly limit: number;
  /** The offset after the last complete batch; null when there is none. */
  readonly nextOffset: bigint | null;
  /** Why scanning stopped before the end, when a frame is malformed (not merely cut off). */
  readonly error: string | null;
}

/**
 * Reads only batch frames (length, magic, offsets), never records, so the fetcher can hand a
 * response to the buffer and fetch on from `nextOffset` at once. A trailing partial batch is normal:
 * a broker cuts the record set at max_bytes.
 */
export function scanBatches(buf: Buffer): ScanResult {
  let pos = 0;
  let nextOffset: number | null = null;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH) return { limit: pos, nextOffset: big(nextOffset), error: `invalid batch length ${batchLength}` };
    const end = pos + LOG_OVERHEAD + batchLength;
    if (end > buf.length) break;
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== CURRENT_MAGIC) return { limit: pos, nextOffset: big(nextOffset), error: `unsupported message format (magic ${magic})` };
    nextOffset = readInt64AsNumber(buf, pos) + buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET) + 1;
    pos = end;
  }
  return { limit: pos, nextOffset: big(nextOffset), error: null };
}

function big(n: number | null): bigint | null {
  return n === null ? null : BigInt(n);
}

/** The records of one batch that the application may see, with what they share. */
export interface CursorBatch {
  readonly records: readonly DecodedRecord[];
  readonly timestampType: TimestampType;
  /** -1 when the broker stamped none. */
  readonly leaderEpoch: number;
  readonly baseOffset: number;
}

export interface BatchCursorOptions {
  readonly verifyCrc: boolean;
  readonly maxDecompressedBytes: number;
  /** Present under read_committed: drops the batches of aborted transactions. */
  readonly aborted: AbortedTransactions | null;
}

/**
 * Decodes a fetched record set one batch at a time, as the application consumes it: memory holds
 * the raw bytes plus one decoded batch, and decompression happens on demand. Control batches,
 * aborted transactions and batches wholly below the position are skipped. A failing batch (CRC,
 * malformed, decompression limit) throws and is not skipped: the next call throws again, so a
 * corrupt batch is never silently passed over.
 */
export class BatchCursor {
  private pos = 0;

  constructor(private readonly buf: Buffer, private readonly limit: number, private readonly options: BatchCursorOptions) {}

  get done(): boolean {
    return this.pos >= this.limit;
  }

  /** The byte offset of the batch `next` would read; for error messages. */
  get bytePosition(): number {
    return this.pos;
  }

  /** The next batch with records at or after `position`, or null when the record set is exhausted. */
  async next(position: bigint): Promise<CursorBatch | null> {
    const { buf, options } = this;
    while (this.pos < this.limit) {
      const start = this.pos;
      const end = start + LOG_OVERHEAD + buf.readInt32BE(start + BATCH_LENGTH_OFFSET);
      const baseOffset = readInt64AsNumber(buf, start);
      const lastOffset = baseOffset + buf.readInt32BE(start + LAST_OFFSET_DELTA_OFFSET);
      const attributes = buf.readInt16BE(start + ATTRIBUTES_OFFSET);
      const isControl = (attributes & CONTROL_MASK) !== 0;
      const slice = buf.subarray(start, end);
      const aborted = options.aborted;
      if (aborted !== null) {
        const producerId = readInt64AsNumber(buf, start + PRODUCER_ID_OFFSET);
        if (producerId >= 0) {
          aborted.reach(lastOffset);
          if (isControl) {
            const control = await this.decode(slice, baseOffset);
            if (control !== null && isAbortMarker(control.records[0]?.key ?? null)) aborted.closed(producerId);
            this.pos = end;
            continue;
          }
          if ((attributes & TRANSACTIONAL_MASK) !== 0 && aborted.isAborted(producerId)) {
            this.verify(slice, baseOffset);
            this.pos = end;
            continue;
          }
        }
      }
      if (isControl || lastOffset < Number(position)) {
        this.verify(slice, baseOffset);
        this.pos = end;
        continue;
      }
      const batch = await this.decode(slice, baseOffset);
      this.pos = end;
      if (batch === null) continue;
      return batch;
    }
    return null;
  }

  /**
   * One batch's records, checked as decodeRecordBatches checks them (length, magic, CRC, record
   * framing); null for a batch cut off at the end of the buffer.
   */
  private async decode(slice: Buffer, baseOffset: number): Promise<CursorBatch | null> {
    try {
      if (slice.length < LOG_OVERHEAD) return null;
      const batchLength = slice.readInt32BE(BATCH_LENGTH_OFFSET);
      if (batchLength < MIN_BATCH_LENGTH) throw new Error(`batch at byte 0: invalid batch length ${batchLength}`);
      if (LOG_OVERHEAD + batchLength > slice.length) return null;
      const magic = slice.readInt8(MAGIC_OFFSET);
      if (magic !== CURRENT_MAGIC) throw new Error(`batch at byte 0: unsupported magic ${magic}`);
      if (this.options.verifyCrc) {
        const stored = slice.readUInt32BE(CRC_OFFSET);
        const actual = crc32c(slice.subarray(ATTRIBUTES_OFFSET));
        if (actual !== stored) throw new Error(`batch at byte 0: CRC mismatch (stored ${stored}, computed ${actual})`);
      }
      const attributes = slice.readInt16BE(ATTRIBUTES_OFFSET);
      const compression = attributes & COMPRESSION_CODEC_MASK;
      const timestampType: TimestampType = (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
      const payload = slice.subarray(RECORD_BATCH_HEADER_SIZE);
      const data = compression === 0 ? payload : await decompress(compression, payload, this.options.maxDecompressedBytes);
      const records = decodeRecords(data, {
        baseOffset,
        baseTimestamp: readInt64AsNumber(slice, BASE_TIMESTAMP_OFFSET),
        maxTimestamp: readInt64AsNumber(slice, MAX_TIMESTAMP_OFFSET),
        timestampType,
        recordsCount: slice.readInt32BE(RECORDS_COUNT_OFFSET),
      });
      return { records, timestampType, leaderEpoch: slice.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET), baseOffset };
    } catch (err) {
      throw new BatchError(baseOffset, (err as Error).message);
    }
  }

  /** Skipped batches are checked too, as Kafka's consumer checks every batch it iterates. */
  private verify(slice: Buffer, baseOffset: number): void {
    if (!this.options.verifyCrc) return;
    const stored = slice.readUInt32BE(CRC_OFFSET);
    const actual = crc32c(slice.subarray(ATTRIBUTES_OFFSET));
    if (stored !== actual) throw new BatchError(baseOffset, `CRC mismatch (stored ${stored}, computed ${actual})`);
  }
}

/** A batch that cannot be read; `baseOffset` says where. */
export class BatchError extends Error {
  constructor(readonly baseOffset: number, detail: string) {
    super(`batch at offset ${baseOffset}: ${detail}`);
  }
}
