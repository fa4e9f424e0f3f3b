/**
 * Splits a byte stream into Kafka frames (a 4-byte big-endian size, then that many bytes). A frame's
 * buffer is allocated once, from the size prefix, after the size is checked against the limit; a frame
 * that arrives whole inside one chunk is a view of that chunk, not a copy. No Buffer.concat.
 */
export class FrameTooLargeError extends Error {
  readonly code = 'FRAME_TOO_LARGE';
}

export class FrameReader {
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeFill = 0;
  private frame: Buffer | null = null;
  private frameFill = 0;

  constructor(private readonly frameMaxBytes: number) {}

  /** True when part of a frame has been received. */
  get partial(): boolean {
    return this.sizeFill > 0 || this.frame !== null;
  }

  /** Feed a chunk; calls onFrame for each complete frame. Throws FrameTooLargeError on a bad size. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.frame === null) {
        // Fast path: the whole frame is inside this chunk.
        if (this.sizeFill === 0 && chunk.length - pos >= 4) {
          const size = this.checkSize(chunk.readInt32BE(pos));
          if (chunk.length - pos - 4 >= size) {
            onFrame(chunk.subarray(pos + 4, pos + 4 + size));
            pos += 4 + size;
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
