/**
 * A reader that never trusts its input. It remembers the first underflow or malformed value and from
 * then on returns zero values without moving, so a decoder runs to the end and the caller checks `ok`
 * once (franz-go's kbin.Reader does the same). Every length and count is checked against the bytes
 * that remain before anything is allocated: an attacker cannot make us allocate more than they sent.
 */
export class Reader {
  pos: number;
  readonly end: number;
  private failure: string | null = null;

  constructor(readonly buf: Buffer, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }

  get ok(): boolean {
    return this.failure === null;
  }

  get error(): string | null {
    return this.failure;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string): void {
    if (this.failure === null) this.failure = reason;
    this.pos = this.end;
  }

  private need(n: number): boolean {
    if (this.failure !== null) return false;
    if (this.end - this.pos < n) {
      this.fail(`underflow: needed ${n} bytes at ${this.pos}, ${this.end - this.pos} remain`);
      return false;
    }
    return true;
  }

  int8(): number {
    if (!this.need(1)) return 0;
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    if (!this.need(8)) return 0n;
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(): number {
    if (!this.need(8)) return 0;
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned LEB128, at most 5 bytes (a 32-bit value): longer encodings are malformed. */
  uvarint(): number {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      if (!this.need(1)) return 0;
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) break;
        return result;
      }
    }
    this.fail('malformed varint');
    return 0;
  }

  /** Zig-zag signed varint (32-bit). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zig-zag signed varlong, at most 10 bytes. */
  varlong(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (!this.need(1)) return 0n;
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
    }
    this.fail('malformed varlong');
    return 0n;
  }

  uuid(): string {
    if (!this.need(16)) return ZERO_UUID;
    const hex = this.buf.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** A length prefix: int16/int32 or compact (uvarint - 1). -1 means null. */
  private length(compact: boolean, wide: boolean): number {
    if (compact) return this.uvarint() - 1;
    return wide ? this.int32() : this.int16();
  }

  string(compact: boolean, nullable: boolean): string | null {
    const n = this.length(compact, false);
    if (n < 0) {
      if (n === -1 && nullable) return null;
      if (n < -1 || !nullable) this.fail('invalid string length');
      return nullable ? null : '';
    }
    if (!this.need(n)) return nullable ? null : '';
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Bytes as a view into the frame (no copy): the frame buffer is owned by the request. */
  bytes(compact: boolean, nullable: boolean): Buffer | null {
    const n = this.length(compact, true);
    if (n < 0) {
      if (n < -1 || !nullable) this.fail('invalid bytes length');
      return nullable ? null : EMPTY;
    }
    if (!this.need(n)) return nullable ? null : EMPTY;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /**
   * An array count. Every element takes at least one byte on the wire, so a count above the remaining
   * bytes is a lie and fails before the caller allocates anything.
   */
  arrayLength(compact: boolean): number {
    const n = this.length(compact, true);
    if (n < -1) {
      this.fail('invalid array length');
      return -1;
    }
    if (n > this.remaining()) {
      this.fail(`array count ${n} exceeds the ${this.remaining()} remaining bytes`);
      return -1;
    }
    return n;
  }

  skip(n: number): void {
    if (this.need(n)) this.pos += n;
  }

  /** A bounded reader over the next `n` bytes (a tagged field's payload). */
  sub(n: number): Reader {
    if (!this.need(n)) return new Reader(EMPTY);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** Skip a tagged-field section whose tags we do not know. */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count && this.ok; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const EMPTY = Buffer.alloc(0);
