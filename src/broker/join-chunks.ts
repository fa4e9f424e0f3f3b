/**
 * One Buffer over chunks that are adjacent views of the same memory (batches read from one segment),
 * without copying; a copy only when they are not (a read that crossed a segment boundary).
 */
export function joinChunks(chunks: readonly Buffer[], totalBytes: number): Buffer {
  if (chunks.length === 0) return Buffer.alloc(0);
  const first = chunks[0]!;
  if (chunks.length === 1) return first;
  let end = first.byteOffset + first.length;
  let contiguous = true;
  for (let i = 1; i < chunks.length; i++) {
    const c = chunks[i]!;
    if (c.buffer !== first.buffer || c.byteOffset !== end) {
      contiguous = false;
      break;
    }
    end += c.length;
  }
  if (contiguous) return Buffer.from(first.buffer, first.byteOffset, totalBytes);
  return Buffer.concat(chunks as Buffer[], totalBytes);
}
