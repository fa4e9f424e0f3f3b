/**
 * The one quirk of lz4 in message format v0: Kafka 0.8-0.9 computed the LZ4 frame's header checksum
 * (HC) over the frame magic as well as the descriptor (KAFKA-3160), and the fix arrived together with
 * magic 1, so a magic-0 wrapper carries that "broken" HC and a magic-1 wrapper the standard one.
 * Kafka ignores the HC of magic-0 input; the native decoder here always verifies it, so a magic-0
 * payload gets its HC recomputed before decoding. The broken form is also written, for tests and
 * for anyone building magic-0 lz4 the way old Kafka did.
 */

const FRAME_MAGIC = 0x184d2204;
const FLG_CONTENT_SIZE = 0x08;
const FLG_DICT_ID = 0x01;

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

/** XXH32 of buf[start, end), unsigned: the hash the LZ4 frame format uses for its checksums. */
export function xxh32(buf: Buffer, start = 0, end = buf.length, seed = 0): number {
  let pos = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    for (; pos + 16 <= end; pos += 16) {
      v1 = round(v1, buf.readUInt32LE(pos));
      v2 = round(v2, buf.readUInt32LE(pos + 4));
      v3 = round(v3, buf.readUInt32LE(pos + 8));
      v4 = round(v4, buf.readUInt32LE(pos + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME5) | 0;
  }
  h = (h + (end - start)) | 0;
  for (; pos + 4 <= end; pos += 4) h = Math.imul(rotl((h + Math.imul(buf.readUInt32LE(pos), PRIME3)) | 0, 17), PRIME4);
  for (; pos < end; pos++) h = Math.imul(rotl((h + Math.imul(buf[pos]!, PRIME5)) | 0, 11), PRIME1);
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A copy of an LZ4 frame whose header checksum is recomputed: the standard one (over the descriptor)
 * or, with `broken`, the one Kafka 0.8-0.9 wrote (over magic and descriptor). Only the first frame's
 * header is touched; anything that is not an LZ4 frame is returned unchanged for the decoder to refuse.
 */
export function withLz4HeaderChecksum(payload: Buffer, broken: boolean): Buffer {
  if (payload.length < 7 || payload.readUInt32LE(0) !== FRAME_MAGIC) return payload;
  const flg = payload[4]!;
  const hcAt = 6 + ((flg & FLG_CONTENT_SIZE) !== 0 ? 8 : 0) + ((flg & FLG_DICT_ID) !== 0 ? 4 : 0);
  if (hcAt >= payload.length) return payload;
  const out = Buffer.from(payload);
  out[hcAt] = (xxh32(out, broken ? 0 : 4, hcAt) >>> 8) & 0xff;
  return out;
}
