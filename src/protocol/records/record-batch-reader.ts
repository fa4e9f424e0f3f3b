import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH,
  RECORD_BATCH_HEADER_SIZE,
  TimestampType,
  compressionOf,
  isControlBatch,
  isTransactionalBatch,
  readBatchHeader,
  timestampTypeOf,
} from './batch-header.js';
import type { BatchHeader } from './batch-header.js';
import { decompress } from './compression.js';
import { crc32c } from './crc32c.js';
import type { RecordHeader } from './record-batch-builder.js';
import { VarintCursor } from './varint.js';

export interface DecodeRecordBatchesOptions {
  verifyCrc: boolean;
  /** Per-batch budget for the decompressed records section. */
  maxDecompressedBytes: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  /** Views into the input (or decompressed) buffer, not copies. */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedBatch {
  header: BatchHeader;
  compression: number;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  records: DecodedRecord[];
}

/**
 * Fully decodes a sequence of magic-2 batches, for clients and tests; the
 * broker's produce path uses validateProducedRecords instead. A batch cut
 * off at the end of the buffer is ignored, because fetch responses are
 * allowed to end mid-batch. Malformed batches throw.
 */
export async function decodeRecordBatches(buf: Buffer, opts: DecodeRecordBatchesOptions): Promise<DecodedBatch[]> {
  const batches: DecodedBatch[] = [];
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH) throw new Error(`batch at byte ${pos}: invalid batch length ${batchLength}`);
    const end = pos + LOG_OVERHEAD + batchLength;
    if (end > buf.length) break;
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== CURRENT_MAGIC) throw new Error(`batch at byte ${pos}: unsupported magic ${magic}`);
    const header = readBatchHeader(buf, pos);
    if (opts.verifyCrc) {
      const actual = crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, end));
      if (actual !== header.crc) {
        throw new Error(`batch at byte ${pos}: CRC mismatch (stored ${header.crc}, computed ${actual})`);
      }
    }
    const payload = buf.subarray(pos + RECORD_BATCH_HEADER_SIZE, end);
    batches.push(await decodeBatch(payload, header, opts.maxDecompressedBytes, pos));
    pos = end;
  }
  return batches;
}

async function decodeBatch(payload: Buffer, header: BatchHeader, maxBytes: number, at: number): Promise<DecodedBatch> {
  const { attributes } = header;
  const compression = compressionOf(attributes);
  const timestampType = timestampTypeOf(attributes);
  const data = compression === 0 ? payload : await decompress(compression, payload, maxBytes);
  const cursor = new VarintCursor(data, 0, data.length);
  const records: DecodedRecord[] = [];
  try {
    for (let i = 0; i < header.recordsCount; i++) {
      records.push(readRecord(cursor, header, timestampType));
    }
  } catch (err) {
    throw new Error(`batch at byte ${at}: record ${records.length}: ${(err as Error).message}`);
  }
  if (cursor.pos !== data.length) {
    throw new Error(`batch at byte ${at}: ${data.length - cursor.pos} bytes left after ${header.recordsCount} records`);
  }
  return {
    header,
    compression,
    timestampType,
    isTransactional: isTransactionalBatch(attributes),
    isControl: isControlBatch(attributes),
    records,
  };
}

function readRecord(cursor: VarintCursor, header: BatchHeader, timestampType: TimestampType): DecodedRecord {
  const length = cursor.readVarint();
  const start = cursor.pos;
  if (length < 0 || length > cursor.end - start) throw new RangeError(`invalid record length ${length}`);
  const body = new VarintCursor(cursor.buf, start, start + length);
  body.pos++; // record attributes: unused by Kafka
  const timestampDelta = body.readVarlong();
  const offsetDelta = body.readVarint();
  const key = body.readNullableBytes();
  const value = body.readNullableBytes();
  const headerCount = body.readVarint();
  if (headerCount < 0) throw new RangeError(`invalid header count ${headerCount}`);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) {
    const headerKey = body.readNullableBytes();
    if (headerKey === null) throw new RangeError('null header key');
    headers.push({ key: headerKey.toString('utf8'), value: body.readNullableBytes() });
  }
  if (body.pos !== body.end) throw new RangeError(`record length ${length} disagrees with its contents`);
  cursor.pos = body.end;
  return {
    offset: header.baseOffset + offsetDelta,
    // Under LogAppendTime the broker's time in maxTimestamp replaces every record's own.
    timestamp:
      timestampType === TimestampType.LOG_APPEND_TIME ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}
