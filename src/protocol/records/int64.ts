const TWO_POW_32 = 0x1_0000_0000;

/**
 * Reads a big-endian int64 as a JS number. Splitting into two int32 reads
 * avoids a BigInt allocation per field on the produce hot path; values are
 * exact within ±2^53, which covers offsets, millisecond timestamps and
 * producer ids in practice (-1 decodes as -1).
 */
export function readInt64AsNumber(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64FromNumber(buf: Buffer, pos: number, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int64 value ${value} is not a safe integer`);
  }
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}
