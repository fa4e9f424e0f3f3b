import { READ_BUFFERS } from '../storage/read-buffer-pool.js';

/**
 * One Buffer over chunks that are adjacent views of the same memory (batches read from one segment),
 * without copying; a copy only when they are not (a read that crossed a segment boundary, or the
 * memory engine's batches, which live in the socket reads they arrived in). The copy goes into a
 * pooled read buffer and the chunks' own pooled memory is given back at once: nothing else refers to
 * a read's chunks. Whoever sends the result gives its memory back (`result.buffer`) once it has left.
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
  const joined = READ_BUFFERS.take(totalBytes);
  let at = 0;
  for (const c of chunks) {
    at += c.copy(joined, at);
    READ_BUFFERS.give(c.buffer);
  }
  return joined.subarray(0, totalBytes);
}
