import { DecompressionLimitError } from './decompression-limit-error.js';
import { gzipCompress, gzipDecompress } from './gzip-codec.js';
import { lz4CompressFrame, lz4DeclaredSize, lz4Decompress } from './lz4-frame.js';
import { snappyCompressXerial, snappyDeclaredSize, snappyDecompress } from './snappy-codec.js';
import { zstdCompressFrame, zstdDeclaredSize, zstdDecompress } from './zstd-frame.js';

export const CompressionCodec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];

export function isCompressionCodec(value: number): value is CompressionCodec {
  return value >= CompressionCodec.NONE && value <= CompressionCodec.ZSTD && Number.isInteger(value);
}

/** Snappy is written in xerial framing and lz4 as an LZ4 frame, matching the Java client. */
export async function compress(codec: CompressionCodec, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case CompressionCodec.NONE:
      return data;
    case CompressionCodec.GZIP:
      return gzipCompress(data);
    case CompressionCodec.SNAPPY:
      return snappyCompressXerial(data);
    case CompressionCodec.LZ4:
      return lz4CompressFrame(data);
    case CompressionCodec.ZSTD:
      return zstdCompressFrame(data);
  }
}

/**
 * Decompresses a batch's records section, refusing with
 * DecompressionLimitError (code 'DECOMPRESSION_LIMIT') rather than producing
 * more than `maxBytes`. How the bound is enforced differs by codec:
 * - gzip: zlib stops inflating at the limit;
 * - snappy: the size preambles are checked before decoding;
 * - lz4: frame/block headers bound the size up front, else block-by-block
 *   decoding stops at the limit;
 * - zstd: block headers bound the worst case up front; the exact size is only
 *   known afterwards, with the allocation capped by that worst case.
 * Malformed input throws an ordinary Error.
 */
export async function decompress(codec: number, data: Buffer, maxBytes: number): Promise<Buffer> {
  switch (codec) {
    case CompressionCodec.NONE:
      if (data.length > maxBytes) throw new DecompressionLimitError(maxBytes, `${data.length} uncompressed bytes`);
      return data;
    case CompressionCodec.GZIP:
      return gzipDecompress(data, maxBytes);
    case CompressionCodec.SNAPPY:
      return snappyDecompress(data, maxBytes);
    case CompressionCodec.LZ4:
      return lz4Decompress(data, maxBytes);
    case CompressionCodec.ZSTD:
      return zstdDecompress(data, maxBytes);
    default:
      throw new Error(`unknown compression codec ${codec}`);
  }
}

/**
 * A cheap, synchronous lower bound on the decompressed size read from codec
 * headers only (0 when the codec does not say, as with gzip). Lets a produce
 * request be refused before any decompression is scheduled. Throws on
 * malformed framing.
 */
export function decompressedSizeLowerBound(codec: number, data: Buffer): number {
  switch (codec) {
    case CompressionCodec.NONE:
      return data.length;
    case CompressionCodec.SNAPPY:
      return snappyDeclaredSize(data);
    case CompressionCodec.LZ4:
      return lz4DeclaredSize(data);
    case CompressionCodec.ZSTD:
      return zstdDeclaredSize(data);
    default:
      return 0;
  }
}
