/**
 * Zigzag varints as used inside magic-2 records (protobuf-style, signed).
 * Reading goes through a cursor object so a whole batch can be walked with a
 * single allocation instead of one result object per field.
 */
export class VarintCursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    /** Reads stop here; a walker may narrow it to one record and widen it again. */
    public end: number,
  ) {}

  /** Signed 32-bit zigzag varint; like Kafka, rejects encodings longer than 5 bytes. */
  readVarint(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos >= end) throw new RangeError('varint runs past the end of its container');
    let byte = buf[pos++]!;
    let raw = byte & 0x7f;
    // Most varints in a record (lengths, deltas, counts) fit one byte: no loop for them.
    if ((byte & 0x80) !== 0) {
      for (let shift = 7; ; shift += 7) {
        if (shift > 28) throw new RangeError('varint longer than 5 bytes');
        if (pos >= end) throw new RangeError('varint runs past the end of its container');
        byte = buf[pos++]!;
        raw |= (byte & 0x7f) << shift;
        if ((byte & 0x80) === 0) break;
      }
    }
    this.pos = pos;
    return (raw >>> 1) ^ -(raw & 1);
  }

  /**
   * Signed 64-bit zigzag varint as a number: exact within ±2^53, which is
   * what timestamp deltas need; beyond that precision is lost, not wrapped.
   */
  readVarlong(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos >= end) throw new RangeError('varlong runs past the end of its container');
    const first = buf[pos++]!;
    const negative = (first & 1) !== 0;
    // Accumulate raw/2 directly so the dropped sign bit cannot cost precision.
    let half = (first & 0x7f) >>> 1;
    let more = (first & 0x80) !== 0;
    for (let scale = 64, i = 1; more; scale *= 128, i++) {
      if (i >= 10) throw new RangeError('varlong longer than 10 bytes');
      if (pos >= end) throw new RangeError('varlong runs past the end of its container');
      const byte = buf[pos++]!;
      half += (byte & 0x7f) * scale;
      more = (byte & 0x80) !== 0;
    }
    this.pos = pos;
    return negative ? -half - 1 : half;
  }

  /** Length-prefixed bytes where length -1 means null; returns a view, not a copy. */
  readNullableBytes(): Buffer | null {
    const length = this.readVarint();
    if (length < 0) {
      if (length !== -1) throw new RangeError(`invalid byte array length ${length}`);
      return null;
    }
    const start = this.pos;
    if (length > this.end - start) throw new RangeError('byte array runs past the end of its container');
    this.pos = start + length;
    return this.buf.subarray(start, start + length);
  }
}

/** Beyond this magnitude the zigzag value no longer fits a double exactly. */
const FLOAT_SAFE_MAGNITUDE = 2 ** 52;

function zigzag(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`);
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function zigzagBig(value: number): bigint {
  if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`);
  const big = BigInt(value);
  return big >= 0n ? big * 2n : -big * 2n - 1n;
}

export function sizeOfVarint(value: number): number {
  // Fast path: 32-bit values (lengths, deltas), zigzag in integer arithmetic.
  if ((value | 0) === value) {
    const raw = ((value << 1) ^ (value >> 31)) >>> 0;
    return raw < 0x80 ? 1 : raw < 0x4000 ? 2 : raw < 0x20_0000 ? 3 : raw < 0x1000_0000 ? 4 : 5;
  }
  if (Math.abs(value) > FLOAT_SAFE_MAGNITUDE) return Math.ceil(zigzagBig(value).toString(2).length / 7);
  let raw = zigzag(value);
  let size = 1;
  while (raw >= 0x80) {
    raw = Math.floor(raw / 128);
    size++;
  }
  return size;
}

/** Writes a zigzag varint (any safe integer, so it doubles as varlong); returns the new position. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  if ((value | 0) === value) {
    let raw = ((value << 1) ^ (value >> 31)) >>> 0;
    while (raw >= 0x80) {
      buf[pos++] = (raw & 0x7f) | 0x80;
      raw >>>= 7;
    }
    buf[pos++] = raw;
    return pos;
  }
  if (Math.abs(value) > FLOAT_SAFE_MAGNITUDE) return writeBigVarint(buf, pos, value);
  let raw = zigzag(value);
  while (raw >= 0x80) {
    buf[pos++] = (raw % 128) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[pos++] = raw;
  return pos;
}

function writeBigVarint(buf: Buffer, pos: number, value: number): number {
  let raw = zigzagBig(value);
  while (raw >= 0x80n) {
    buf[pos++] = Number(raw & 0x7fn) | 0x80;
    raw >>= 7n;
  }
  buf[pos++] = Number(raw);
  return pos;
}
