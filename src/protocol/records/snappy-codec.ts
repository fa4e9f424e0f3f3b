import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';
import { DecompressionLimitError } from './decompression-limit-error.js';

/**
 * Kafka's snappy payloads come in two shapes: Java (snappy-java's
 * SnappyOutputStream) and librdkafka write the "xerial" framing, while
 * kafkajs-snappy and some Go clients write one raw snappy block. Both are
 * accepted on input; output uses xerial because that is what the Java broker
 * and clients produce and every Kafka client can read it.
 */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic plus int32 version and int32 min-compatible version. */
const XERIAL_HEADER_SIZE = 16;
const XERIAL_VERSION = 1;
/** snappy-java's default block size, so our chunking matches Java output. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

interface SnappyBlock {
  start: number;
  end: number;
  uncompressedLength: number;
}

function isXerialHeaderAt(data: Buffer, pos: number): boolean {
  return (
    data.length - pos >= XERIAL_HEADER_SIZE &&
    data.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, pos, pos + XERIAL_MAGIC.length) === 0
  );
}

/** The uncompressed length a raw snappy block declares in its leading varint. */
function rawUncompressedLength(data: Buffer, start: number, end: number): number {
  let value = 0;
  let pos = start;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (pos >= end) throw new Error('snappy: truncated length preamble');
    const byte = data[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) {
      if (value > 0xffff_ffff) break;
      return value;
    }
  }
  throw new Error('snappy: invalid length preamble');
}

/**
 * Locates every raw snappy block and its declared size without decompressing
 * anything. Concatenated xerial streams are accepted, as snappy-java does.
 */
function locateBlocks(data: Buffer): SnappyBlock[] {
  if (!isXerialHeaderAt(data, 0)) {
    return [{ start: 0, end: data.length, uncompressedLength: rawUncompressedLength(data, 0, data.length) }];
  }
  const blocks: SnappyBlock[] = [];
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (isXerialHeaderAt(data, pos)) {
      pos += XERIAL_HEADER_SIZE;
      continue;
    }
    if (data.length - pos < 4) throw new Error('snappy: truncated xerial chunk header');
    const length = data.readInt32BE(pos);
    const start = pos + 4;
    if (length < 0 || length > data.length - start) throw new Error(`snappy: invalid xerial chunk length ${length}`);
    const end = start + length;
    if (length > 0) blocks.push({ start, end, uncompressedLength: rawUncompressedLength(data, start, end) });
    pos = end;
  }
  return blocks;
}

/** Exact output size as declared by the block preambles (the decoder enforces them). */
export function snappyDeclaredSize(data: Buffer): number {
  let total = 0;
  for (const block of locateBlocks(data)) total += block.uncompressedLength;
  return total;
}

/**
 * Checks every block's declared size against the budget before decompressing
 * any of them, so a bomb is refused without allocating its output. The Rust
 * decoder allocates exactly the declared length and fails if the data
 * disagrees, so the declared sizes are a real bound.
 */
export async function snappyDecompress(data: Buffer, maxBytes: number): Promise<Buffer> {
  const blocks = locateBlocks(data);
  let total = 0;
  for (const block of blocks) {
    total += block.uncompressedLength;
    if (total > maxBytes) throw new DecompressionLimitError(maxBytes, `snappy data declares at least ${total} bytes`);
  }
  // asBuffer: true makes the binding return a Buffer; its typings still say string | Buffer.
  const parts = (await Promise.all(
    blocks.map((block) => snappyUncompress(data.subarray(block.start, block.end), { asBuffer: true })),
  )) as Buffer[];
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

export async function snappyCompressXerial(data: Buffer): Promise<Buffer> {
  const chunks: Promise<Buffer>[] = [];
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_SIZE) {
    chunks.push(snappyCompress(data.subarray(pos, pos + XERIAL_BLOCK_SIZE)));
  }
  const compressed = await Promise.all(chunks);
  let size = XERIAL_HEADER_SIZE;
  for (const chunk of compressed) size += 4 + chunk.length;
  const out = Buffer.allocUnsafe(size);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(XERIAL_VERSION, 8);
  out.writeInt32BE(XERIAL_VERSION, 12);
  let pos = XERIAL_HEADER_SIZE;
  for (const chunk of compressed) {
    out.writeInt32BE(chunk.length, pos);
    chunk.copy(out, pos + 4);
    pos += 4 + chunk.length;
  }
  return out;
}
