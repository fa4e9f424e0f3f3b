import { crc32 } from '@node-rs/crc32';
import { compress, decompress, type CompressionCodec } from './compression.js';
import { readInt64AsNumber, writeInt64FromNumber } from './int64.js';
import { withLz4HeaderChecksum } from './legacy-lz4.js';
import { RecordErrorCode } from './record-error-codes.js';
import type { Problem } from './validate.js';

/*
 * Kafka's legacy MessageSet (message format v0 and v1, magic 0 and 1): a sequence of
 *   offset int64 | message_size int32 | crc uint32 | magic int8 | attributes int8 |
 *   [timestamp int64, magic 1 only] | key bytes (int32 length, -1 = null) | value bytes
 * where message_size counts from the CRC to the end and the CRC (CRC-32, IEEE) covers magic..end.
 * A compressed message is a wrapper whose value is a compressed message set of the same magic.
 * Both formats put the magic at byte 16, so it tells a legacy message from a magic-2 batch.
 */

export const LEGACY_OFFSET_OFFSET = 0;
export const LEGACY_SIZE_OFFSET = 8;
export const LEGACY_CRC_OFFSET = 12;
export const LEGACY_MAGIC_OFFSET = 16;
export const LEGACY_ATTRIBUTES_OFFSET = 17;
export const LEGACY_TIMESTAMP_OFFSET = 18;
/** offset + message_size: the bytes message_size does not count. */
export const LEGACY_LOG_OVERHEAD = 12;
/** Smallest message_size: crc, magic, attributes and the two length prefixes (Kafka's RECORD_OVERHEAD_V0/V1). */
export const LEGACY_RECORD_OVERHEAD_V0 = 14;
export const LEGACY_RECORD_OVERHEAD_V1 = 22;
/** attributes bit 3 (magic 1): the timestamp is the broker's append time. */
export const LEGACY_TIMESTAMP_TYPE_MASK = 0x08;
export const LEGACY_CODEC_MASK = 0x07;

export type LegacyMagic = 0 | 1;

const EMPTY = Buffer.alloc(0);

/** CRC-32 (IEEE) as legacy messages use it, unsigned. Native: the same binding as crc32c. */
export function legacyCrc32(buf: Uint8Array): number {
  return crc32(buf) >>> 0;
}

/** True when `records` starts with a magic 0 or 1 message rather than a magic-2 batch. */
export function isLegacyMessageSet(records: Buffer): boolean {
  if (records.length <= LEGACY_MAGIC_OFFSET) return false;
  const magic = records[LEGACY_MAGIC_OFFSET];
  return magic === 0 || magic === 1;
}

/** Total bytes of one message (offset and size fields included); a null key or value is length -1. */
export function legacyMessageSize(magic: LegacyMagic, keyLength: number, valueLength: number): number {
  const overhead = magic === 0 ? LEGACY_RECORD_OVERHEAD_V0 : LEGACY_RECORD_OVERHEAD_V1;
  return LEGACY_LOG_OVERHEAD + overhead + Math.max(0, keyLength) + Math.max(0, valueLength);
}

/**
 * The fields of one parsed message as positions in its buffer, so a whole set can be walked with
 * one reused object instead of one per message. Lengths of -1 mean null.
 */
export class LegacyMessageView {
  offset = 0;
  /** Total bytes, offset and size fields included. */
  size = 0;
  magic: LegacyMagic = 0;
  attributes = 0;
  /** -1 (no timestamp) for magic 0. */
  timestamp = -1;
  keyStart = 0;
  keyLength = -1;
  valueStart = 0;
  valueLength = -1;

  get codec(): number {
    return this.attributes & LEGACY_CODEC_MASK;
  }

  /** Magic 1 only; Kafka ignores the bit for magic 0. */
  get isLogAppendTime(): boolean {
    return this.magic === 1 && (this.attributes & LEGACY_TIMESTAMP_TYPE_MASK) !== 0;
  }
}

export interface ReadLegacyMessageOptions {
  /** A message larger than this (total bytes) is MESSAGE_TOO_LARGE; checked before the CRC, as Kafka does. */
  maxMessageBytes?: number;
  /** Off only when re-walking bytes this process already verified. */
  verifyCrc?: boolean;
}

function corrupt(message: string): Problem {
  return { errorCode: RecordErrorCode.CORRUPT_MESSAGE, message };
}

/**
 * Parses and checks the message at buf[pos, end) into `view`: sizes bounded by the bytes that are
 * there, the magic, the CRC, and key and value lengths that exactly fill the message. Returns a
 * problem (nothing is thrown) so callers can map it to a produce error.
 */
export function readLegacyMessage(buf: Buffer, pos: number, end: number, view: LegacyMessageView, opts: ReadLegacyMessageOptions = {}): Problem | undefined {
  const remaining = end - pos;
  if (remaining < LEGACY_ATTRIBUTES_OFFSET) return corrupt(`message at byte ${pos}: truncated header (${remaining} bytes)`);
  const magic = buf.readInt8(pos + LEGACY_MAGIC_OFFSET);
  if (magic !== 0 && magic !== 1) return corrupt(`message at byte ${pos}: invalid magic ${magic}`);
  const messageSize = buf.readInt32BE(pos + LEGACY_SIZE_OFFSET);
  const minimum = magic === 0 ? LEGACY_RECORD_OVERHEAD_V0 : LEGACY_RECORD_OVERHEAD_V1;
  if (messageSize < minimum) return corrupt(`message at byte ${pos}: size ${messageSize} is below the minimum ${minimum} for magic ${magic}`);
  if (messageSize > remaining - LEGACY_LOG_OVERHEAD) {
    return corrupt(`message at byte ${pos}: ${messageSize + LEGACY_LOG_OVERHEAD} bytes claimed, ${remaining} present`);
  }
  const total = messageSize + LEGACY_LOG_OVERHEAD;
  if (opts.maxMessageBytes !== undefined && total > opts.maxMessageBytes) {
    return { errorCode: RecordErrorCode.MESSAGE_TOO_LARGE, message: `message at byte ${pos}: ${total} bytes exceeds ${opts.maxMessageBytes}` };
  }
  const messageEnd = pos + total;
  if (opts.verifyCrc !== false) {
    const stored = buf.readUInt32BE(pos + LEGACY_CRC_OFFSET);
    const computed = legacyCrc32(buf.subarray(pos + LEGACY_MAGIC_OFFSET, messageEnd));
    if (stored !== computed) return corrupt(`message at byte ${pos}: CRC mismatch (stored ${stored}, computed ${computed})`);
  }
  let p = pos + LEGACY_TIMESTAMP_OFFSET;
  let timestamp = -1;
  if (magic === 1) {
    timestamp = readInt64AsNumber(buf, p);
    p += 8;
  }
  const keyLength = buf.readInt32BE(p);
  p += 4;
  // The value's length prefix must still fit after the key.
  if (keyLength < -1 || keyLength > messageEnd - p - 4) return corrupt(`message at byte ${pos}: invalid key length ${keyLength}`);
  const keyStart = p;
  p += Math.max(0, keyLength);
  const valueLength = buf.readInt32BE(p);
  p += 4;
  if (valueLength < -1 || valueLength > messageEnd - p) return corrupt(`message at byte ${pos}: invalid value length ${valueLength}`);
  const valueStart = p;
  p += Math.max(0, valueLength);
  if (p !== messageEnd) return corrupt(`message at byte ${pos}: ${messageEnd - p} bytes after the value`);
  view.offset = readInt64AsNumber(buf, pos + LEGACY_OFFSET_OFFSET);
  view.size = total;
  view.magic = magic;
  view.attributes = buf.readUInt8(pos + LEGACY_ATTRIBUTES_OFFSET);
  view.timestamp = timestamp;
  view.keyStart = keyStart;
  view.keyLength = keyLength;
  view.valueStart = valueStart;
  view.valueLength = valueLength;
  return undefined;
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  // Timestamps come from clients and may be any int64; only exact ones take the cheap path.
  if (Number.isSafeInteger(value)) writeInt64FromNumber(buf, pos, value);
  else buf.writeBigInt64BE(BigInt.asIntN(64, BigInt(value)), pos);
}

/**
 * Writes one message at `pos` with its CRC and returns the position after it. Key and value are
 * given as ranges of their buffers (length -1 for null) so callers copying out of a decoded batch
 * allocate nothing per message. The caller sized `out` with legacyMessageSize.
 */
export function writeLegacyMessage(
  out: Buffer,
  pos: number,
  magic: LegacyMagic,
  offset: number,
  attributes: number,
  timestamp: number,
  keySrc: Buffer,
  keyStart: number,
  keyLength: number,
  valueSrc: Buffer,
  valueStart: number,
  valueLength: number,
): number {
  const total = legacyMessageSize(magic, keyLength, valueLength);
  writeInt64(out, pos + LEGACY_OFFSET_OFFSET, offset);
  out.writeInt32BE(total - LEGACY_LOG_OVERHEAD, pos + LEGACY_SIZE_OFFSET);
  out.writeInt8(magic, pos + LEGACY_MAGIC_OFFSET);
  out.writeUInt8(attributes & 0xff, pos + LEGACY_ATTRIBUTES_OFFSET);
  let p = pos + LEGACY_TIMESTAMP_OFFSET;
  if (magic === 1) {
    writeInt64(out, p, timestamp);
    p += 8;
  }
  out.writeInt32BE(keyLength, p);
  p += 4;
  if (keyLength > 0) p += keySrc.copy(out, p, keyStart, keyStart + keyLength);
  out.writeInt32BE(valueLength, p);
  p += 4;
  if (valueLength > 0) p += valueSrc.copy(out, p, valueStart, valueStart + valueLength);
  out.writeUInt32BE(legacyCrc32(out.subarray(pos + LEGACY_MAGIC_OFFSET, p)), pos + LEGACY_CRC_OFFSET);
  return p;
}

export interface LegacyMessageInput {
  key: Buffer | null;
  value: Buffer | null;
  /** Magic 1 only; defaults to -1 (no timestamp). */
  timestamp?: number;
  /** Defaults to the message's index: absolute for magic 0, relative inside a magic-1 wrapper. */
  offset?: number;
}

export interface BuildLegacyMessageSetOptions {
  magic: LegacyMagic;
  messages: readonly LegacyMessageInput[];
  /** With a codec other than none, the messages are wrapped in one compressed message. */
  compression?: CompressionCodec;
  /** The wrapper's offset; producers send 0, brokers the last inner offset. Defaults to messages.length - 1. */
  wrapperOffset?: number;
  /** The wrapper's timestamp (magic 1): defaults to the largest inner one, as Java producers do. */
  wrapperTimestamp?: number;
  /** Sets the LogAppendTime attribute on every message written (magic 1). */
  logAppendTime?: boolean;
}

/**
 * Builds a legacy message set as old producers did: one message per record, or one compressed
 * wrapper around them (inner offsets 0..n-1, which are relative in magic 1 and taken as is for
 * magic 0). lz4 in a magic-0 wrapper gets Kafka 0.8's header checksum. For tests and tools.
 */
export async function buildLegacyMessageSet(opts: BuildLegacyMessageSetOptions): Promise<Buffer> {
  const { magic, messages } = opts;
  const attributes = magic === 1 && opts.logAppendTime === true ? LEGACY_TIMESTAMP_TYPE_MASK : 0;
  let size = 0;
  for (const m of messages) size += legacyMessageSize(magic, m.key?.length ?? -1, m.value?.length ?? -1);
  const set = Buffer.alloc(size);
  let pos = 0;
  let maxTimestamp = -1;
  messages.forEach((m, i) => {
    const timestamp = m.timestamp ?? -1;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const key = m.key ?? EMPTY;
    const value = m.value ?? EMPTY;
    pos = writeLegacyMessage(set, pos, magic, m.offset ?? i, attributes, timestamp, key, 0, m.key === null ? -1 : key.length, value, 0, m.value === null ? -1 : value.length);
  });
  const codec = opts.compression ?? 0;
  if (codec === 0) return set;
  let payload = await compress(codec, set);
  if (magic === 0 && codec === 3) payload = withLz4HeaderChecksum(payload, true);
  const wrapper = Buffer.alloc(legacyMessageSize(magic, -1, payload.length));
  writeLegacyMessage(wrapper, 0, magic, opts.wrapperOffset ?? messages.length - 1, attributes | codec, opts.wrapperTimestamp ?? maxTimestamp, EMPTY, 0, -1, payload, 0, payload.length);
  return wrapper;
}

export interface DecodedLegacyMessage {
  /** Absolute offset (inner offsets of a magic-1 wrapper resolved against the wrapper's). */
  offset: number;
  magic: LegacyMagic;
  /** -1 for magic 0; the wrapper's time for records inside a LogAppendTime wrapper. */
  timestamp: number;
  logAppendTime: boolean;
  /** Views into the input (or decompressed) buffer, not copies. */
  key: Buffer | null;
  value: Buffer | null;
  /** The codec of the wrapper the message came out of (0 when it stood alone). */
  wrapperCodec: number;
}

function sliceOf(buf: Buffer, start: number, length: number): Buffer | null {
  return length < 0 ? null : buf.subarray(start, start + length);
}

/**
 * Fully decodes a legacy message set, wrappers included, as old consumers do: for clients and
 * tests. A message cut off at the end is ignored (fetch responses may end mid-message); anything
 * else malformed, including a wrapper inside a wrapper, throws. Each wrapper inflates to at most
 * `maxDecompressedBytes`.
 */
export async function decodeLegacyMessageSet(buf: Buffer, opts: { maxDecompressedBytes: number }): Promise<DecodedLegacyMessage[]> {
  const out: DecodedLegacyMessage[] = [];
  const view = new LegacyMessageView();
  let pos = 0;
  while (buf.length - pos >= LEGACY_LOG_OVERHEAD) {
    if (pos + LEGACY_LOG_OVERHEAD + buf.readInt32BE(pos + LEGACY_SIZE_OFFSET) > buf.length) break;
    const problem = readLegacyMessage(buf, pos, buf.length, view);
    if (problem !== undefined) throw new Error(problem.message);
    pos += view.size;
    const codec = view.codec;
    if (codec === 0) {
      out.push({ offset: view.offset, magic: view.magic, timestamp: view.timestamp, logAppendTime: view.isLogAppendTime, key: sliceOf(buf, view.keyStart, view.keyLength), value: sliceOf(buf, view.valueStart, view.valueLength), wrapperCodec: 0 });
      continue;
    }
    if (view.valueLength < 0) throw new Error(`wrapper at offset ${view.offset} has a null value`);
    let payload = buf.subarray(view.valueStart, view.valueStart + view.valueLength);
    if (view.magic === 0 && codec === 3) payload = withLz4HeaderChecksum(payload, false);
    const inner = await decompress(codec, payload, opts.maxDecompressedBytes);
    const wrapper = { offset: view.offset, magic: view.magic, timestamp: view.timestamp, logAppendTime: view.isLogAppendTime };
    const first = out.length;
    const innerView = new LegacyMessageView();
    for (let p = 0; p < inner.length; p += innerView.size) {
      const innerProblem = readLegacyMessage(inner, p, inner.length, innerView);
      if (innerProblem !== undefined) throw new Error(`inside the wrapper at offset ${wrapper.offset}: ${innerProblem.message}`);
      if (innerView.codec !== 0) throw new Error(`wrapper at offset ${wrapper.offset} contains another compressed message`);
      if (innerView.magic !== wrapper.magic) throw new Error(`wrapper at offset ${wrapper.offset} (magic ${wrapper.magic}) contains a magic ${innerView.magic} message`);
      out.push({
        offset: innerView.offset,
        magic: innerView.magic,
        timestamp: wrapper.logAppendTime ? wrapper.timestamp : innerView.timestamp,
        logAppendTime: wrapper.logAppendTime,
        key: sliceOf(inner, innerView.keyStart, innerView.keyLength),
        value: sliceOf(inner, innerView.valueStart, innerView.valueLength),
        wrapperCodec: codec,
      });
    }
    // Magic 1 inner offsets are relative: the wrapper carries the absolute offset of the last one.
    const last = out[out.length - 1];
    if (wrapper.magic === 1 && last !== undefined && out.length > first) {
      const shift = wrapper.offset - last.offset;
      for (let i = first; i < out.length; i++) out[i]!.offset += shift;
    }
  }
  return out;
}
