import { compress as zstdCompress, decompress as zstdNativeDecompress } from '@mongodb-js/zstd';
import { DecompressionLimitError } from './decompression-limit-error.js';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** No compressed block may decode to more than this (zstd format spec, Block_Maximum_Size). */
const MAX_BLOCK_SIZE = 128 * 1024;
const BLOCK_RAW = 0;
const BLOCK_RLE = 1;
const BLOCK_COMPRESSED = 2;
/** Field widths indexed by the frame header descriptor's flag bits. */
const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const;

interface ZstdBounds {
  lowerBound: number;
  upperBound: number;
}

function need(data: Buffer, pos: number, bytes: number): void {
  if (data.length - pos < bytes) throw new Error('zstd: truncated frame');
}

function readLittleEndian(data: Buffer, pos: number, bytes: number): number {
  let value = 0;
  for (let i = bytes - 1; i >= 0; i--) value = value * 256 + data[pos + i]!;
  return value;
}

/**
 * Bounds the decompressed size from frame and block headers alone. Raw and
 * RLE blocks state their exact output; a compressed block yields at most
 * min(window, 128 KiB). The declared frame content size is used only as a
 * lower bound, because a lying size is detected by the decoder only after it
 * has produced output.
 */
function readBounds(data: Buffer): ZstdBounds {
  let lowerBound = 0;
  let upperBound = 0;
  let pos = 0;
  while (pos < data.length) {
    need(data, pos, 4);
    const magic = data.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(data, pos, 8);
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error(`zstd: bad frame magic 0x${magic.toString(16)}`);
    need(data, pos, 5);
    const descriptor = data[pos + 4]!;
    pos += 5;
    const sizeFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    if ((descriptor & 0x08) !== 0) throw new Error('zstd: reserved frame header bit set');
    let windowSize = Infinity;
    if (!singleSegment) {
      need(data, pos, 1);
      const wd = data[pos++]!;
      const windowBase = 2 ** (10 + (wd >> 3));
      windowSize = windowBase + (windowBase / 8) * (wd & 0x07);
    }
    pos += DICTIONARY_ID_BYTES[descriptor & 0x03]!;
    const sizeBytes = sizeFlag === 0 && singleSegment ? 1 : CONTENT_SIZE_BYTES[sizeFlag]!;
    let contentSize: number | undefined;
    if (sizeBytes > 0) {
      need(data, pos, sizeBytes);
      contentSize = readLittleEndian(data, pos, sizeBytes) + (sizeBytes === 2 ? 256 : 0);
      pos += sizeBytes;
      if (singleSegment) windowSize = contentSize;
    }
    const compressedBlockMax = Math.min(windowSize, MAX_BLOCK_SIZE);
    let exactBytes = 0;
    let frameUpper = 0;
    for (;;) {
      need(data, pos, 3);
      const header = data.readUIntLE(pos, 3);
      pos += 3;
      const type = (header >> 1) & 0x03;
      const size = header >>> 3;
      if (type === BLOCK_RAW) {
        need(data, pos, size);
        pos += size;
        exactBytes += size;
        frameUpper += size;
      } else if (type === BLOCK_RLE) {
        need(data, pos, 1);
        pos += 1;
        exactBytes += size;
        frameUpper += size;
      } else if (type === BLOCK_COMPRESSED) {
        need(data, pos, size);
        pos += size;
        frameUpper += compressedBlockMax;
      } else {
        throw new Error('zstd: reserved block type');
      }
      if ((header & 1) !== 0) break;
    }
    if ((descriptor & 0x04) !== 0) {
      need(data, pos, 4);
      pos += 4;
    }
    lowerBound += Math.max(contentSize ?? 0, exactBytes);
    upperBound += frameUpper;
  }
  if (pos > data.length) throw new Error('zstd: truncated skippable frame');
  return { lowerBound, upperBound };
}

export function zstdDeclaredSize(data: Buffer): number {
  return readBounds(data).lowerBound;
}

export function zstdCompressFrame(data: Buffer): Promise<Buffer> {
  return zstdCompress(data);
}

/**
 * The binding only offers one-shot decompression, so the bound has to come
 * from the block headers. When the worst case fits the budget plus one block
 * of slack, decoding goes ahead and the real size is checked after the fact:
 * the allocation is then capped by that worst case, never by the attacker.
 * Otherwise the frame is refused without decoding. Streaming encoders (Java's
 * zstd-jni, librdkafka) fill every block but the last, so their worst case is
 * within one block of the real size and legitimate batches are not refused;
 * an encoder that flushes many tiny blocks could be refused near the limit.
 */
export async function zstdDecompress(data: Buffer, maxBytes: number): Promise<Buffer> {
  const { lowerBound, upperBound } = readBounds(data);
  if (lowerBound > maxBytes) {
    throw new DecompressionLimitError(maxBytes, `zstd data declares at least ${lowerBound} bytes`);
  }
  if (upperBound > maxBytes + MAX_BLOCK_SIZE) {
    throw new DecompressionLimitError(maxBytes, `zstd data may expand to ${upperBound} bytes`);
  }
  const out = await zstdNativeDecompress(data);
  if (out.length > maxBytes) throw new DecompressionLimitError(maxBytes, `zstd data produced ${out.length} bytes`);
  return out;
}
