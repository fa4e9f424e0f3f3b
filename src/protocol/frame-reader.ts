/**
 * Splits a byte stream into Kafka frames (a 4-byte big-endian size, then that many bytes). A frame's
 * buffer is allocated once, from the size prefix, after the size is checked against the limit; a frame
 * that arrives whole inside one chunk is a view of that chunk, not a copy. No Buffer.concat.
 *
 * Two ways to feed it:
 * - `push(chunk)`: chunks the socket allocated (a 'data' event); frames may be views of them.
 * - `readTarget()` then `wrote(n)`: for a socket that reads into memory the caller provides
 *   (net.Socket's `onread`). While a large frame is incomplete, the target is the unfilled rest of
 *   that frame's own buffer, so the kernel writes the bytes where they stay: no copy at all. Otherwise
 *   it is a reusable scratch buffer, and frames found in it are copied out (the scratch is overwritten
 *   by the next read, so no frame may be a view of it).
 */
export class FrameTooLargeError extends Error {
  readonly code = 'FRAME_TOO_LARGE';
}

/** Below this many missing bytes a read goes to the scratch buffer: it may bring the next frames too. */
const DIRECT_READ_MIN_BYTES = 8 * 1024;
const SCRATCH_BYTES = 16 * 1024;

export class FrameReader {
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeFill = 0;
  private frame: Buffer | null = null;
  private frameFill = 0;
  private scratch: Buffer | null = null;
  /** What the last readTarget() returned: the frame's tail (true) or the scratch buffer (false). */
  private direct = false;

  constructor(private readonly frameMaxBytes: number) {}

  /** True when part of a frame has been received. */
  get partial(): boolean {
    return this.sizeFill > 0 || this.frame !== null;
  }

  /** Feed a chunk; calls onFrame for each complete frame. Throws FrameTooLargeError on a bad size. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    this.consume(chunk, onFrame, true);
  }

  /**
   * Where the next read should land: the missing part of the current frame when it is large, else
   * the scratch buffer. Report what was read with `wrote` before asking again.
   */
  readTarget(): Buffer {
    const f = this.frame;
    if (f !== null && f.length - this.frameFill >= DIRECT_READ_MIN_BYTES) {
      this.direct = true;
      return f.subarray(this.frameFill);
    }
    this.direct = false;
    return (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
  }

  /** `n` bytes were read into the buffer the last readTarget() returned; calls onFrame per complete frame. */
  wrote(n: number, onFrame: (frame: Buffer) => void): void {
    if (n <= 0) return;
    if (this.direct) {
      this.direct = false;
      const f = this.frame;
      if (f === null || n > f.length - this.frameFill) throw new RangeError(`read of ${n} bytes past the frame being filled`);
      this.frameFill += n;
      if (this.frameFill === f.length) this.emit(onFrame);
      return;
    }
    this.consume(this.scratch!.subarray(0, n), onFrame, false);
  }

  private consume(chunk: Buffer, onFrame: (frame: Buffer) => void, views: boolean): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.frame === null) {
        // Fast path: the whole frame is inside this chunk.
        if (this.sizeFill === 0 && chunk.length - pos >= 4) {
          const size = this.checkSize(chunk.readInt32BE(pos));
          if (chunk.length - pos - 4 >= size) {
            const start = pos + 4;
            onFrame(views ? chunk.subarray(start, start + size) : Buffer.from(chunk.subarray(start, start + size)));
            pos = start + size;
            continue;
          }
          this.frame = Buffer.allocUnsafe(size);
          this.frameFill = 0;
          pos += 4;
          continue;
        }
        const take = Math.min(4 - this.sizeFill, chunk.length - pos);
        chunk.copy(this.sizeBytes, this.sizeFill, pos, pos + take);
        this.sizeFill += take;
        pos += take;
        if (this.sizeFill < 4) return;
        this.sizeFill = 0;
        const size = this.checkSize(this.sizeBytes.readInt32BE(0));
        this.frame = Buffer.allocUnsafe(size);
        this.frameFill = 0;
        if (size === 0) this.emit(onFrame);
        continue;
      }
      const take = Math.min(this.frame.length - this.frameFill, chunk.length - pos);
      chunk.copy(this.frame, this.frameFill, pos, pos + take);
      this.frameFill += take;
      pos += take;
      if (this.frameFill === this.frame.length) this.emit(onFrame);
    }
  }

  private emit(onFrame: (frame: Buffer) => void): void {
    const f = this.frame!;
    this.frame = null;
    this.frameFill = 0;
    onFrame(f);
  }

  private checkSize(size: number): number {
    if (size < 0) throw new FrameTooLargeError(`Negative frame size ${size}`);
    if (size > this.frameMaxBytes) throw new FrameTooLargeError(`Frame of ${size} bytes exceeds socket.request.max.bytes (${this.frameMaxBytes})`);
    return size;
  }
}
