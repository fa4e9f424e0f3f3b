import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
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
} from './batch-header.js';
import { compress, decompress, decompressedSizeLowerBound, type CompressionCodec } from './compression.js';
import { crc32c } from './crc32c.js';
import { DecompressionLimitError } from './decompression-limit-error.js';
import { writeInt64FromNumber } from './int64.js';
import { withLz4HeaderChecksum } from './legacy-lz4.js';
import { LEGACY_MAGIC_OFFSET, LegacyMessageView, readLegacyMessage, type LegacyMagic } from './legacy-message-set.js';
import { RecordErrorCode } from './record-error-codes.js';
import type { ProducedRecordsLimits } from './validate.js';
import { sizeOfVarint, writeVarint } from './varint.js';

export type UpConversionResult =
  | {
      ok: true;
      /** One magic-2 batch, base offset 0, no producer id, CreateTime: ready for the log like a produced batch. */
      batch: Buffer;
      recordsCount: number;
      sourceMagic: LegacyMagic;
      compression: CompressionCodec;
    }
  | { ok: false; errorCode: RecordErrorCode; message: string };

function fail(errorCode: RecordErrorCode, message: string): UpConversionResult {
  return { ok: false, errorCode, message };
}

/** The legacy codecs: zstd (4) arrived with magic 2 (KIP-110) and was never valid in a v0/v1 wrapper. */
function isLegacyCodec(codec: number): codec is 1 | 2 | 3 {
  return codec >= 1 && codec <= 3;
}

/** Where the records to convert live: the request's bytes, or one wrapper's inflated inner set. */
interface Source {
  buf: Buffer;
  /** Inner messages of a magic-1 LogAppendTime wrapper all take the wrapper's timestamp. */
  wrapperTimestamp: number | undefined;
}

/** Sizes of the magic-2 records section, found while validating so the output is allocated once. */
interface Plan {
  count: number;
  recordsBytes: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

function timestampOf(view: LegacyMessageView, source: Source): number {
  return source.wrapperTimestamp ?? view.timestamp;
}

function recordBodySize(timestampDelta: number, offsetDelta: number, view: LegacyMessageView): number {
  return (
    1 + // attributes
    sizeOfVarint(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    (view.keyLength < 0 ? 1 : sizeOfVarint(view.keyLength) + view.keyLength) +
    (view.valueLength < 0 ? 1 : sizeOfVarint(view.valueLength) + view.valueLength) +
    1 // header count: legacy messages have no headers
  );
}

/**
 * Walks the inner messages of one wrapper: each must carry the wrapper's magic and no codec of its
 * own (Kafka refuses nested wrappers with INVALID_RECORD), and its CRC must hold (CORRUPT_MESSAGE).
 * Inner offsets are not checked: Kafka rewrites them anyway, for old clients that got them wrong.
 */
function planInner(source: Source, magic: LegacyMagic, view: LegacyMessageView): Plan | UpConversionResult {
  const { buf } = source;
  const plan: Plan = { count: 0, recordsBytes: 0, baseTimestamp: -1, maxTimestamp: -1 };
  for (let pos = 0; pos < buf.length; pos += view.size) {
    const problem = readLegacyMessage(buf, pos, buf.length, view);
    if (problem !== undefined) return fail(problem.errorCode, `inside the compressed wrapper: ${problem.message}`);
    if (view.magic !== magic) return fail(RecordErrorCode.INVALID_RECORD, `a magic ${magic} wrapper contains a magic ${view.magic} message`);
    if (view.codec !== 0) return fail(RecordErrorCode.INVALID_RECORD, 'a compressed wrapper may not contain another compressed message');
    const problem2 = addToPlan(plan, view, source);
    if (problem2 !== undefined) return problem2;
  }
  if (plan.count === 0) return fail(RecordErrorCode.INVALID_RECORD, 'the compressed wrapper holds no messages');
  return plan;
}

function addToPlan(plan: Plan, view: LegacyMessageView, source: Source): UpConversionResult | undefined {
  const timestamp = timestampOf(view, source);
  // Kafka's record builder refuses negative timestamps other than "none" and cannot go past int64;
  // numbers here must also stay exact for the varint delta.
  if (timestamp < -1 || !Number.isSafeInteger(timestamp)) {
    return fail(RecordErrorCode.INVALID_RECORD, `message ${plan.count} has invalid timestamp ${timestamp}`);
  }
  if (plan.count === 0) plan.baseTimestamp = timestamp;
  if (timestamp > plan.maxTimestamp) plan.maxTimestamp = timestamp;
  const body = recordBodySize(timestamp - plan.baseTimestamp, plan.count, view);
  plan.recordsBytes += sizeOfVarint(body) + body;
  plan.count++;
  return undefined;
}

function writeNullable(out: Buffer, pos: number, src: Buffer, start: number, length: number): number {
  pos = writeVarint(out, pos, length);
  if (length > 0) pos += src.copy(out, pos, start, start + length);
  return pos;
}

/** Second walk over bytes the first one verified: writes the magic-2 records (no CRC re-check). */
function writeRecords(out: Buffer, pos: number, source: Source, plan: Plan, view: LegacyMessageView): void {
  const { buf } = source;
  for (let at = 0, i = 0; i < plan.count; at += view.size, i++) {
    readLegacyMessage(buf, at, buf.length, view, { verifyCrc: false });
    const timestampDelta = timestampOf(view, source) - plan.baseTimestamp;
    pos = writeVarint(out, pos, recordBodySize(timestampDelta, i, view));
    out[pos++] = 0; // record attributes: unused by Kafka
    pos = writeVarint(out, pos, timestampDelta);
    pos = writeVarint(out, pos, i);
    pos = writeNullable(out, pos, buf, view.keyStart, view.keyLength);
    pos = writeNullable(out, pos, buf, view.valueStart, view.valueLength);
    out[pos++] = 0; // no headers
  }
}

function writeBatchHeader(batch: Buffer, plan: Plan, compression: CompressionCodec): void {
  batch.writeBigInt64BE(0n, BASE_OFFSET_OFFSET);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  batch.writeInt32BE(-1, PARTITION_LEADER_EPOCH_OFFSET);
  batch.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  // CreateTime: a LogAppendTime topic stamps the batch afterwards, as it does any produced batch.
  batch.writeInt16BE(compression, ATTRIBUTES_OFFSET);
  batch.writeInt32BE(plan.count - 1, LAST_OFFSET_DELTA_OFFSET);
  writeInt64FromNumber(batch, BASE_TIMESTAMP_OFFSET, plan.baseTimestamp);
  writeInt64FromNumber(batch, MAX_TIMESTAMP_OFFSET, plan.maxTimestamp);
  batch.writeBigInt64BE(-1n, PRODUCER_ID_OFFSET);
  batch.writeInt16BE(-1, PRODUCER_EPOCH_OFFSET);
  batch.writeInt32BE(-1, BASE_SEQUENCE_OFFSET);
  batch.writeInt32BE(plan.count, RECORDS_COUNT_OFFSET);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
}

async function inflateWrapper(view: LegacyMessageView, records: Buffer, maxDecompressedBytes: number): Promise<Buffer | UpConversionResult> {
  const codec = view.codec;
  if (view.valueLength < 0) return fail(RecordErrorCode.INVALID_RECORD, 'the compressed wrapper has a null value');
  let payload = records.subarray(view.valueStart, view.valueStart + view.valueLength);
  if (view.magic === 0 && codec === 3) payload = withLz4HeaderChecksum(payload, false);
  try {
    const declared = decompressedSizeLowerBound(codec, payload);
    if (declared > maxDecompressedBytes) {
      // As for magic 2: not CORRUPT_MESSAGE, which is retriable, since a resend cannot shrink it.
      return fail(RecordErrorCode.MESSAGE_TOO_LARGE, `the wrapper decompresses to at least ${declared} bytes, over the limit of ${maxDecompressedBytes}`);
    }
    return await decompress(codec, payload, maxDecompressedBytes);
  } catch (err) {
    if (err instanceof DecompressionLimitError) {
      return fail(RecordErrorCode.INVALID_RECORD, `the wrapper inflates beyond ${maxDecompressedBytes} bytes`);
    }
    return fail(RecordErrorCode.CORRUPT_MESSAGE, `the wrapper cannot be decompressed: ${(err as Error).message}`);
  }
}

/**
 * Kafka 3.x's up-conversion of a Produce v0-2 legacy message set (LogValidator with the log at
 * magic 2): every shallow message is size-checked against max.message.bytes, then CRC-checked; all
 * must share the first one's magic; a compressed set must be exactly one wrapper, whose inner
 * messages are checked in turn. The records become ONE magic-2 batch with offsets 0..n-1, the
 * wrapper's codec (none for uncompressed sets), no producer id, and each record's own timestamp:
 * -1 for magic 0, as Kafka keeps NO_TIMESTAMP under CreateTime. A result over max.message.bytes is
 * MESSAGE_TOO_LARGE, as Kafka checks converted batches again.
 *
 * Memory: no object per message; the magic-2 records are never larger than the legacy ones (a
 * message's overhead, 26 or 34 bytes, exceeds a record's), so the output is bounded by the request,
 * or for a wrapper by `maxDecompressedBytes`.
 */
export async function upConvertLegacyMessageSet(records: Buffer, limits: ProducedRecordsLimits): Promise<UpConversionResult> {
  if (records.length <= LEGACY_MAGIC_OFFSET) return fail(RecordErrorCode.CORRUPT_MESSAGE, 'truncated message set');
  const first = records.readInt8(LEGACY_MAGIC_OFFSET);
  if (first !== 0 && first !== 1) return fail(RecordErrorCode.CORRUPT_MESSAGE, `magic ${first} is not a legacy message format`);
  const magic: LegacyMagic = first;
  const view = new LegacyMessageView();

  // Shallow walk: framing, size limit and CRC of every message, as Kafka's analyzeAndValidateRecords.
  let shallowCount = 0;
  let wrapperCodec = 0;
  let wrapperAt = -1;
  for (let pos = 0; pos < records.length; pos += view.size) {
    if (records.length - pos > LEGACY_MAGIC_OFFSET && records.readInt8(pos + LEGACY_MAGIC_OFFSET) !== magic) {
      return fail(RecordErrorCode.INVALID_RECORD, `message at byte ${pos} has magic ${records.readInt8(pos + LEGACY_MAGIC_OFFSET)}, the first has ${magic}`);
    }
    const problem = readLegacyMessage(records, pos, records.length, view, { maxMessageBytes: limits.maxBatchBytes });
    if (problem !== undefined) return fail(problem.errorCode, problem.message);
    if (view.codec !== 0) {
      wrapperCodec = view.codec;
      wrapperAt = pos;
    }
    shallowCount++;
  }

  let source: Source;
  let plan: Plan;
  if (wrapperCodec === 0) {
    source = { buf: records, wrapperTimestamp: undefined };
    plan = { count: 0, recordsBytes: 0, baseTimestamp: -1, maxTimestamp: -1 };
    for (let pos = 0; pos < records.length; pos += view.size) {
      readLegacyMessage(records, pos, records.length, view, { verifyCrc: false });
      const problem = addToPlan(plan, view, source);
      if (problem !== undefined) return problem;
    }
  } else {
    // Kafka: "Compressed outer record has more than one batch".
    if (shallowCount !== 1) return fail(RecordErrorCode.INVALID_RECORD, 'a compressed message set must be exactly one wrapper message');
    if (!isLegacyCodec(wrapperCodec)) {
      return fail(RecordErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${wrapperCodec} is not valid in message format v${magic}`);
    }
    readLegacyMessage(records, wrapperAt, records.length, view, { verifyCrc: false });
    const wrapperTimestamp = view.isLogAppendTime ? view.timestamp : undefined;
    const inner = await inflateWrapper(view, records, limits.maxDecompressedBytes);
    if (!Buffer.isBuffer(inner)) return inner;
    source = { buf: inner, wrapperTimestamp };
    const planned = planInner(source, magic, view);
    if ('ok' in planned) return planned;
    plan = planned;
  }

  const compression = wrapperCodec as CompressionCodec;
  let batch: Buffer;
  if (compression === 0) {
    batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + plan.recordsBytes);
    writeRecords(batch, RECORD_BATCH_HEADER_SIZE, source, plan, view);
  } else {
    const section = Buffer.allocUnsafe(plan.recordsBytes);
    writeRecords(section, 0, source, plan, view);
    const payload = await compress(compression, section);
    batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
    payload.copy(batch, RECORD_BATCH_HEADER_SIZE);
  }
  if (batch.length > limits.maxBatchBytes) {
    return fail(RecordErrorCode.MESSAGE_TOO_LARGE, `the converted batch of ${batch.length} bytes exceeds ${limits.maxBatchBytes}`);
  }
  writeBatchHeader(batch, plan, compression);
  return { ok: true, batch, recordsCount: plan.count, sourceMagic: magic, compression };
}
