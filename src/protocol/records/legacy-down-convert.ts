import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  compressionOf,
  isControlBatch,
  timestampTypeOf,
  TimestampType,
} from './batch-header.js';
import { decompress } from './compression.js';
import { readInt64AsNumber } from './int64.js';
import { LEGACY_TIMESTAMP_TYPE_MASK, legacyMessageSize, writeLegacyMessage, type LegacyMagic } from './legacy-message-set.js';
import { VarintCursor } from './varint.js';

export interface DownConvertOptions {
  /** 0 for Fetch v0-1, 1 for Fetch v2-3. */
  magic: LegacyMagic;
  /** Records below it are dropped: each becomes a message of its own, which the reader would skip anyway. */
  fetchOffset: number;
  /** Output budget in bytes; only whole messages are written. */
  maxBytes: number;
  /** Write the first message even when it alone exceeds maxBytes (KIP-74's rule for the first partition). */
  minOneMessage: boolean;
  /** Budget for each batch's decompressed records. */
  maxDecompressedBytes: number;
}

export interface DownConversion {
  /** Uncompressed legacy messages; empty when nothing fitted. */
  records: Buffer;
  messages: number;
  /** Offset after the last message written, or fetchOffset when none was. */
  nextOffset: number;
}

/** One decoded record as ranges of its batch's data: a single reused object per conversion. */
class RecordCursor {
  offset = 0;
  timestamp = 0;
  keyStart = 0;
  keyLength = -1;
  valueStart = 0;
  valueLength = -1;
}

interface BatchInfo {
  data: Buffer;
  count: number;
  baseOffset: number;
  baseTimestamp: number;
  /** The broker's append time when the batch is LogAppendTime, which then applies to every record. */
  logAppendTime: number | undefined;
}

/** Reads the next record of a batch's records section into `rec`; throws on malformed bytes. */
function nextRecord(cursor: VarintCursor, batch: BatchInfo, rec: RecordCursor): void {
  const length = cursor.readVarint();
  const start = cursor.pos;
  const end = start + length;
  if (length < 1 || length > cursor.end - start) throw new RangeError(`invalid record length ${length}`);
  // Fields are read with the batch-wide cursor (no object per record) and checked against the record's end.
  cursor.pos = start + 1; // the unused attributes byte
  const timestampDelta = cursor.readVarlong();
  const offsetDelta = cursor.readVarint();
  rec.keyLength = cursor.readVarint();
  rec.keyStart = cursor.pos;
  if (rec.keyLength < -1 || rec.keyLength > end - cursor.pos) throw new RangeError(`invalid key length ${rec.keyLength}`);
  cursor.pos += Math.max(0, rec.keyLength);
  rec.valueLength = cursor.readVarint();
  rec.valueStart = cursor.pos;
  if (cursor.pos > end) throw new RangeError(`record fields run past its length ${length}`);
  if (rec.valueLength < -1 || rec.valueLength > end - cursor.pos) throw new RangeError(`invalid value length ${rec.valueLength}`);
  // Headers follow; legacy messages cannot carry them, so they are skipped with the record.
  cursor.pos = end;
  rec.offset = batch.baseOffset + offsetDelta;
  rec.timestamp = batch.logAppendTime ?? batch.baseTimestamp + timestampDelta;
}

/**
 * Kafka's down-conversion for Fetch v0-3 (RecordsUtil.downConvert to magic 0 or 1), writing
 * uncompressed messages: each record of the stored magic-2 batches becomes one message with its
 * absolute offset, key and value, and for magic 1 its timestamp (a LogAppendTime batch gives every
 * message the append time and the LogAppendTime attribute, as Kafka does). Headers are dropped,
 * control batches skipped, and records before `fetchOffset` left out. Only whole messages are written,
 * up to `maxBytes`.
 *
 * Memory: one batch is decompressed at a time (bounded by maxDecompressedBytes) and the output is
 * bounded by maxBytes plus, with minOneMessage, one message. Throws on malformed stored batches.
 */
export async function downConvertToLegacy(stored: Buffer, opts: DownConvertOptions): Promise<DownConversion> {
  const { magic } = opts;
  const chunks: Buffer[] = [];
  let total = 0;
  let messages = 0;
  let nextOffset = opts.fetchOffset;
  let full = false;
  const rec = new RecordCursor();
  for (let pos = 0; !full && stored.length - pos >= RECORD_BATCH_HEADER_SIZE; ) {
    const batchLength = stored.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH) throw new Error(`batch at byte ${pos}: invalid batch length ${batchLength}`);
    const end = pos + LOG_OVERHEAD + batchLength;
    if (end > stored.length) break; // a read may end mid-batch
    const batchStart = pos;
    pos = end;
    const storedMagic = stored.readInt8(batchStart + MAGIC_OFFSET);
    if (storedMagic !== CURRENT_MAGIC) throw new Error(`batch at byte ${batchStart}: unexpected magic ${storedMagic}`);
    const attributes = stored.readInt16BE(batchStart + ATTRIBUTES_OFFSET);
    if (isControlBatch(attributes)) continue;
    const baseOffset = readInt64AsNumber(stored, batchStart + BASE_OFFSET_OFFSET);
    // A batch wholly before the fetch offset is not even decompressed.
    if (baseOffset + stored.readInt32BE(batchStart + LAST_OFFSET_DELTA_OFFSET) < opts.fetchOffset) continue;
    const codec = compressionOf(attributes);
    const payload = stored.subarray(batchStart + RECORD_BATCH_HEADER_SIZE, end);
    const batch: BatchInfo = {
      data: codec === 0 ? payload : await decompress(codec, payload, opts.maxDecompressedBytes),
      count: stored.readInt32BE(batchStart + RECORDS_COUNT_OFFSET),
      baseOffset,
      baseTimestamp: readInt64AsNumber(stored, batchStart + BASE_TIMESTAMP_OFFSET),
      logAppendTime: timestampTypeOf(attributes) === TimestampType.LOG_APPEND_TIME ? readInt64AsNumber(stored, batchStart + MAX_TIMESTAMP_OFFSET) : undefined,
    };
    const messageAttributes = magic === 1 && batch.logAppendTime !== undefined ? LEGACY_TIMESTAMP_TYPE_MASK : 0;

    // First pass: how many of this batch's records fit, so its share of the output is allocated once.
    let cursor = new VarintCursor(batch.data, 0, batch.data.length);
    let fit = 0;
    let bytes = 0;
    for (let i = 0; i < batch.count; i++) {
      nextRecord(cursor, batch, rec);
      if (rec.offset < opts.fetchOffset) continue;
      const size = legacyMessageSize(magic, rec.keyLength, rec.valueLength);
      if (total + bytes + size > opts.maxBytes && !(opts.minOneMessage && messages + fit === 0)) {
        full = true;
        break;
      }
      bytes += size;
      fit++;
    }
    if (fit === 0) continue;

    const out = Buffer.allocUnsafe(bytes);
    cursor = new VarintCursor(batch.data, 0, batch.data.length);
    let at = 0;
    for (let written = 0; written < fit; ) {
      nextRecord(cursor, batch, rec);
      if (rec.offset < opts.fetchOffset) continue;
      at = writeLegacyMessage(out, at, magic, rec.offset, messageAttributes, rec.timestamp, batch.data, rec.keyStart, rec.keyLength, batch.data, rec.valueStart, rec.valueLength);
      nextOffset = rec.offset + 1;
      written++;
    }
    chunks.push(out);
    total += bytes;
    messages += fit;
  }
  const records = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  return { records, messages, nextOffset };
}
