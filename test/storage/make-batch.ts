import { crc32c } from '@node-rs/crc32';

/**
 * Builds and decodes magic-2 uncompressed record batches for storage tests. Deliberately independent
 * of src/protocol/records: the log must store whatever valid bytes it is given, so the tests carry
 * their own small encoder.
 */

export interface MakeBatchOptions {
  /** Timestamp of the first record; the others add `timestampDeltas` (default: all 0). */
  readonly baseTimestamp?: number;
  readonly timestampDeltas?: readonly number[];
  /** The base offset written into the header; the log overwrites it. */
  readonly baseOffset?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly isTransactional?: boolean;
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function pushVarint(out: number[], value: number): void {
  let v = zigzag(value);
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function writeInt64(buf: Buffer, at: number, value: number): void {
  buf.writeBigInt64BE(BigInt(value), at);
}

function encodeRecord(offsetDelta: number, timestampDelta: number, key: Buffer | null, value: Buffer | null): Buffer {
  const body: number[] = [];
  body.push(0); // attributes
  pushVarint(body, timestampDelta);
  pushVarint(body, offsetDelta);
  const parts: Buffer[] = [];
  const head = Buffer.from(body);
  const keyLen: number[] = [];
  pushVarint(keyLen, key === null ? -1 : key.length);
  const valueLen: number[] = [];
  pushVarint(valueLen, value === null ? -1 : value.length);
  const headers: number[] = [];
  pushVarint(headers, 0);
  parts.push(head, Buffer.from(keyLen));
  if (key !== null) parts.push(key);
  parts.push(Buffer.from(valueLen));
  if (value !== null) parts.push(value);
  parts.push(Buffer.from(headers));
  const recordBody = Buffer.concat(parts);
  const len: number[] = [];
  pushVarint(len, recordBody.length);
  return Buffer.concat([Buffer.from(len), recordBody]);
}

/** A valid batch whose records carry `values` (strings are UTF-8; keys are null). */
export function makeBatch(values: ReadonlyArray<string | Buffer>, options: MakeBatchOptions = {}): Buffer {
  if (values.length === 0) throw new Error('a batch needs at least one record');
  const baseTimestamp = options.baseTimestamp ?? 0;
  const deltas = options.timestampDeltas ?? values.map(() => 0);
  const records = values.map((v, i) =>
    encodeRecord(i, deltas[i] ?? 0, null, typeof v === 'string' ? Buffer.from(v, 'utf8') : v),
  );
  const header = Buffer.alloc(61);
  writeInt64(header, 0, options.baseOffset ?? 0);
  const total = 61 + records.reduce((n, r) => n + r.length, 0);
  header.writeInt32BE(total - 12, 8);
  header.writeInt32BE(0, 12); // partition leader epoch
  header.writeInt8(2, 16); // magic
  header.writeInt16BE(options.isTransactional === true ? 0x10 : 0, 21); // attributes: no compression, CreateTime
  header.writeInt32BE(values.length - 1, 23);
  writeInt64(header, 27, baseTimestamp);
  writeInt64(header, 35, baseTimestamp + Math.max(...deltas.slice(0, values.length), 0));
  writeInt64(header, 43, options.producerId ?? -1);
  header.writeInt16BE(options.producerEpoch ?? -1, 51);
  header.writeInt32BE(options.baseSequence ?? -1, 53);
  header.writeInt32BE(values.length, 57);
  const batch = Buffer.concat([header, ...records]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

/** A batch of `count` records whose values pad the batch to roughly `approxBytes`. */
export function makeSizedBatch(count: number, approxBytes: number, tag = 'x', baseTimestamp = 0): Buffer {
  const perRecord = Math.max(1, Math.floor((approxBytes - 61) / count) - 8);
  return makeBatch(Array.from({ length: count }, (_, i) => `${tag}${i}:`.padEnd(perRecord, '.')), { baseTimestamp });
}

export interface DecodedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly crcValid: boolean;
  readonly values: string[];
}

function readVarint(buf: Buffer, at: { pos: number }): number {
  let result = 0;
  let mul = 1;
  for (;;) {
    const b = buf[at.pos++];
    if (b === undefined) throw new Error('varint runs past the end');
    result += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 0x80;
  }
  return unzigzag(result);
}

/** Decode every whole batch in the chunks (as read() returns them), checking each CRC. */
export function decodeBatches(chunks: readonly Buffer[]): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  for (const chunk of chunks) {
    let pos = 0;
    while (pos < chunk.length) {
      const size = 12 + chunk.readInt32BE(pos + 8);
      const batch = chunk.subarray(pos, pos + size);
      if (batch.length !== size) throw new Error(`partial batch at ${pos}`);
      const baseOffset = Number(batch.readBigInt64BE(0));
      const count = batch.readInt32BE(57);
      const at = { pos: 61 };
      const values: string[] = [];
      for (let i = 0; i < count; i++) {
        readVarint(batch, at); // length
        at.pos++; // attributes
        readVarint(batch, at); // timestamp delta
        readVarint(batch, at); // offset delta
        const keyLen = readVarint(batch, at);
        if (keyLen > 0) at.pos += keyLen;
        const valueLen = readVarint(batch, at);
        values.push(valueLen < 0 ? '' : batch.toString('utf8', at.pos, at.pos + valueLen));
        if (valueLen > 0) at.pos += valueLen;
        const headers = readVarint(batch, at);
        if (headers !== 0) throw new Error('test decoder does not read headers');
      }
      out.push({
        baseOffset,
        lastOffset: baseOffset + batch.readInt32BE(23),
        maxTimestamp: Number(batch.readBigInt64BE(35)),
        crcValid: (crc32c(batch.subarray(21)) >>> 0) === batch.readUInt32BE(17),
        values,
      });
      pos += size;
    }
  }
  return out;
}
