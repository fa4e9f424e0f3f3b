/**
 * A writer that builds a message as a list of chunks. Small fields go into a growing scratch buffer;
 * large byte fields (record batches in Fetch responses) are appended by reference, so a response that
 * carries megabytes of stored batches never copies them: the socket writes the chunks with writev.
 */
const INITIAL_SCRATCH_BYTES = 256;
/** Byte fields at least this large are referenced, not copied. */
const ZERO_COPY_MIN_BYTES = 1024;

export class Writer {
  private chunks: Buffer[] = [];
  private scratch: Buffer;
  private pos = 0;
  /** Start of the part of `scratch` not yet moved into `chunks`. */
  private mark = 0;
  private sealedBytes = 0;

  constructor(initialBytes = INITIAL_SCRATCH_BYTES) {
    this.scratch = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.sealedBytes + (this.pos - this.mark);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    // Seal what we have and continue in a fresh buffer: earlier bytes are never moved.
    this.seal();
    this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2));
    this.pos = 0;
    this.mark = 0;
  }

  private seal(): void {
    if (this.pos > this.mark) {
      this.chunks.push(this.scratch.subarray(this.mark, this.pos));
      this.sealedBytes += this.pos - this.mark;
      this.mark = this.pos;
    }
  }

  int8(v: number): void {
    this.ensure(1);
    this.scratch.writeInt8(v, this.pos);
    this.pos += 1;
  }

  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }

  int16(v: number): void {
    this.ensure(2);
    this.scratch.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.scratch.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.scratch.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.scratch.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  int64(v: bigint): void {
    this.ensure(8);
    this.scratch.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.scratch.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  uvarint(v: number): void {
    this.ensure(5);
    let n = v >>> 0;
    while (n >= 0x80) {
      this.scratch[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.scratch[this.pos++] = n;
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  varlong(v: bigint): void {
    this.ensure(10);
    let n = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (n >= 0x80n) {
      this.scratch[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.scratch[this.pos++] = Number(n);
  }

  uuid(v: string): void {
    const hex = v.replace(/-/g, '');
    this.ensure(16);
    if (hex.length === 32) this.scratch.write(hex, this.pos, 16, 'hex');
    else this.scratch.fill(0, this.pos, this.pos + 16);
    this.pos += 16;
  }

  private lengthPrefix(n: number, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(n + 1);
    else if (wide) this.int32(n);
    else this.int16(n);
  }

  string(v: string | null, compact: boolean): void {
    if (v === null) {
      this.lengthPrefix(-1, compact, false);
      return;
    }
    const n = Buffer.byteLength(v, 'utf8');
    this.lengthPrefix(n, compact, false);
    this.ensure(n);
    this.scratch.write(v, this.pos, n, 'utf8');
    this.pos += n;
  }

  bytes(v: Uint8Array | null, compact: boolean): void {
    if (v === null) {
      this.lengthPrefix(-1, compact, true);
      return;
    }
    this.lengthPrefix(v.length, compact, true);
    this.raw(v);
  }

  arrayLength(n: number | null, compact: boolean): void {
    this.lengthPrefix(n === null ? -1 : n, compact, true);
  }

  /** Append bytes as they are: copied when small, referenced when large. */
  raw(v: Uint8Array): void {
    if (v.length >= ZERO_COPY_MIN_BYTES) {
      this.seal();
      const b = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length);
      this.chunks.push(b);
      this.sealedBytes += b.length;
      return;
    }
    this.ensure(v.length);
    this.scratch.set(v, this.pos);
    this.pos += v.length;
  }

  /** Append everything another writer holds (a tagged field's payload). */
  append(other: Writer): void {
    for (const c of other.finish()) this.raw(c);
  }

  /** The chunks written so far, in order. The writer may still be appended to afterwards. */
  finish(): Buffer[] {
    this.seal();
    return this.chunks.slice();
  }

  /** One contiguous buffer: for tests and small messages only (it copies). */
  toBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.length);
  }
}
