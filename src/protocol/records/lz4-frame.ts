import { compressFrame, decompressFrame, uncompress as lz4BlockUncompress } from 'lz4-napi';
import { DecompressionLimitError } from './decompression-limit-error.js';

/**
 * Kafka's lz4 codec (magic 2) is the standard LZ4 frame format (magic
 * 0x184D2204), as written by Java's KafkaLZ4BlockOutputStream and by
 * librdkafka. lz4-napi's compressFrame/decompressFrame speak that format; its
 * compress/uncompress are bare blocks behind a 4-byte size prefix and must not
 * be sent on the wire.
 */
const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const UNCOMPRESSED_BLOCK_FLAG = 0x8000_0000;
/** How far back a linked block may reference earlier output. */
const LINKED_BLOCK_WINDOW = 64 * 1024;

const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;

interface Lz4Block {
  start: number;
  end: number;
  uncompressed: boolean;
}

interface Lz4Frame {
  blockMaxSize: number;
  linked: boolean;
  contentSize: number | undefined;
  blocks: Lz4Block[];
}

interface Lz4Layout {
  frames: Lz4Frame[];
  /** Output is at least this large (declared content sizes, stored blocks). */
  lowerBound: number;
  /** Output cannot exceed this: every compressed block expands to at most its frame's block size. */
  upperBound: number;
  /** Skippable frames seen; lz4-napi's one-shot decoder stops after the first frame of any kind. */
  skippableFrames: number;
}

function blockMaxSizeOf(bd: number): number {
  const id = (bd >> 4) & 0x07;
  if (id < 4 || (bd & 0x8f) !== 0) throw new Error(`lz4: invalid block descriptor 0x${bd.toString(16)}`);
  return 1 << (8 + 2 * id);
}

function need(data: Buffer, pos: number, bytes: number): void {
  if (data.length - pos < bytes) throw new Error('lz4: truncated frame');
}

/**
 * Walks frame and block headers only (no decompression) so the output size
 * can be bounded before any output is allocated. The header checksum byte is
 * skipped rather than verified: the batch CRC already covers these bytes, and
 * lz4-napi verifies it on the fast path.
 */
function readLayout(data: Buffer): Lz4Layout {
  const frames: Lz4Frame[] = [];
  let lowerBound = 0;
  let upperBound = 0;
  let skippableFrames = 0;
  let pos = 0;
  while (pos < data.length) {
    need(data, pos, 4);
    const magic = data.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      skippableFrames++;
      need(data, pos, 8);
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error(`lz4: bad frame magic 0x${magic.toString(16)}`);
    need(data, pos, 7);
    const flg = data[pos + 4]!;
    if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) throw new Error('lz4: unsupported frame version');
    if ((flg & FLG_DICT_ID) !== 0) throw new Error('lz4: frames needing an external dictionary are not supported');
    const blockMaxSize = blockMaxSizeOf(data[pos + 5]!);
    pos += 6;
    let contentSize: number | undefined;
    if ((flg & FLG_CONTENT_SIZE) !== 0) {
      need(data, pos, 9);
      contentSize = Number(data.readBigUInt64LE(pos));
      pos += 8;
    }
    pos += 1; // header checksum
    const blockChecksumBytes = (flg & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
    const blocks: Lz4Block[] = [];
    let storedBytes = 0;
    let frameUpper = 0;
    for (;;) {
      need(data, pos, 4);
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      const uncompressed = (word & UNCOMPRESSED_BLOCK_FLAG) !== 0;
      const size = (word & ~UNCOMPRESSED_BLOCK_FLAG) >>> 0;
      if (size > blockMaxSize) throw new Error(`lz4: block of ${size} bytes exceeds frame block size ${blockMaxSize}`);
      need(data, pos, size + blockChecksumBytes);
      blocks.push({ start: pos, end: pos + size, uncompressed });
      if (uncompressed) storedBytes += size;
      frameUpper += uncompressed ? size : blockMaxSize;
      pos += size + blockChecksumBytes;
    }
    if ((flg & FLG_CONTENT_CHECKSUM) !== 0) {
      need(data, pos, 4);
      pos += 4;
    }
    frames.push({ blockMaxSize, linked: (flg & FLG_BLOCK_INDEPENDENCE) === 0, contentSize, blocks });
    lowerBound += contentSize ?? storedBytes;
    upperBound += frameUpper;
  }
  if (pos > data.length) throw new Error('lz4: truncated skippable frame');
  return { frames, lowerBound, upperBound, skippableFrames };
}

export function lz4DeclaredSize(data: Buffer): number {
  return readLayout(data).lowerBound;
}

export function lz4CompressFrame(data: Buffer): Promise<Buffer> {
  return compressFrame(data);
}

/**
 * Bounded LZ4 frame decompression. When the header walk proves the output
 * fits (the common case: Java and librdkafka fill 64 KiB blocks), the whole
 * frame goes to the native decoder in one call, which also verifies
 * checksums. Otherwise (and for multi-frame input) blocks are decoded one at a time and decoding stops as
 * soon as the running total passes the budget, so at most one block (<= 4 MiB)
 * beyond the limit is ever materialised. That slow path skips the optional
 * xxhash block/content checksums; the batch CRC still covers the payload.
 */
export async function lz4Decompress(data: Buffer, maxBytes: number): Promise<Buffer> {
  const layout = readLayout(data);
  if (layout.lowerBound > maxBytes) {
    throw new DecompressionLimitError(maxBytes, `lz4 frame declares at least ${layout.lowerBound} bytes`);
  }
  // The one-shot decoder silently ignores anything after the first frame, so
  // concatenated frames (which librdkafka accepts) go through the block path.
  if (layout.upperBound <= maxBytes && layout.frames.length === 1 && layout.skippableFrames === 0) {
    const out = await decompressFrame(data);
    if (out.length > maxBytes) throw new DecompressionLimitError(maxBytes, `lz4 frame produced ${out.length} bytes`);
    return out;
  }
  return decompressBlockwise(layout.frames, data, maxBytes);
}

async function decompressBlockwise(frames: Lz4Frame[], data: Buffer, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for (const frame of frames) {
    const frameStart = parts.length;
    let frameBytes = 0;
    for (const block of frame.blocks) {
      let part: Buffer;
      if (block.uncompressed) {
        part = data.subarray(block.start, block.end);
      } else {
        // lz4-napi's block API wants a little-endian size prefix; the frame's
        // block size is a valid upper bound and the decoder reports the real length.
        const input = Buffer.allocUnsafe(4 + block.end - block.start);
        input.writeUInt32LE(frame.blockMaxSize, 0);
        data.copy(input, 4, block.start, block.end);
        const dictionary = frame.linked ? recentOutput(parts, frameStart) : undefined;
        part = await lz4BlockUncompress(input, dictionary);
      }
      total += part.length;
      frameBytes += part.length;
      if (total > maxBytes) {
        throw new DecompressionLimitError(maxBytes, `lz4 frame produced more than ${total - part.length} bytes`);
      }
      parts.push(part);
    }
    if (frame.contentSize !== undefined && frame.contentSize !== frameBytes) {
      throw new Error(`lz4: frame declared ${frame.contentSize} bytes but produced ${frameBytes}`);
    }
  }
  return Buffer.concat(parts, total);
}

/** The trailing window of this frame's output, which linked blocks may reference. */
function recentOutput(parts: Buffer[], frameStart: number): Buffer | undefined {
  const tail: Buffer[] = [];
  let size = 0;
  for (let i = parts.length - 1; i >= frameStart && size < LINKED_BLOCK_WINDOW; i--) {
    const part = parts[i]!;
    tail.unshift(part);
    size += part.length;
  }
  if (size === 0) return undefined;
  const joined = tail.length === 1 ? tail[0]! : Buffer.concat(tail, size);
  return joined.length > LINKED_BLOCK_WINDOW ? joined.subarray(joined.length - LINKED_BLOCK_WINDOW) : joined;
}
