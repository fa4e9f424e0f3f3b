import { BATCH_HEADER_BYTES, batchSizeAt, crcMatches, headerProblem, readBatchInfo, type BatchInfo } from '../batch-header.js';

/**
 * Walks the batches of a segment file from a position, reading the file in chunks rather than one
 * syscall per header. Used to find a batch after an index lookup (headers only) and by recovery
 * (whole batches, CRC checked).
 */

/** Enough for the batches between two index entries at the default 4 KiB index interval. */
export const LOCATE_READ_BYTES = 16 * 1024;
/** Recovery reads whole segments; larger chunks mean fewer syscalls. */
export const RECOVERY_READ_BYTES = 1024 * 1024;

export type ScanStep =
  | { readonly kind: 'batch'; readonly position: number; readonly info: BatchInfo }
  | { readonly kind: 'end'; readonly position: number }
  | { readonly kind: 'invalid'; readonly position: number; readonly reason: string };

/** Where a scanner reads from: a segment, which serves bytes from its file and from its pending writes. */
export interface ByteSource {
  /** Read up to `length` bytes into `buf` at `offset` from `position`; fewer only at the end. */
  readAt(buf: Buffer, offset: number, length: number, position: number): number;
}

export class BatchScanner {
  private buf: Buffer;
  /** File position of buf[0], and how many bytes of buf are valid. */
  private bufStart = 0;
  private bufLength = 0;
  private position: number;
  private end: number;

  constructor(
    private readonly source: ByteSource,
    from: number,
    /** Scan stops here: the segment's known size, so a read never enters bytes being written. */
    end: number,
    chunkBytes: number,
    /** Verify each batch's CRC (reads whole batches); otherwise only headers are read. */
    private readonly verifyCrc: boolean,
  ) {
    this.position = from;
    this.end = end;
    this.buf = Buffer.allocUnsafe(Math.max(chunkBytes, BATCH_HEADER_BYTES));
  }

  next(): ScanStep {
    const position = this.position;
    if (position >= this.end) return { kind: 'end', position };
    const headerAt = this.ensure(position, Math.min(BATCH_HEADER_BYTES, this.end - position));
    const available = this.end - position;
    const problem = headerProblem(this.buf, headerAt, available);
    if (problem !== null) return { kind: 'invalid', position, reason: problem };
    const size = batchSizeAt(this.buf, headerAt);
    let at = headerAt;
    if (this.verifyCrc) {
      at = this.ensure(position, size);
      if (position + size > this.end) return { kind: 'invalid', position, reason: 'batch runs past the end' };
      if (!crcMatches(this.buf, at, size)) return { kind: 'invalid', position, reason: 'CRC mismatch' };
    }
    this.position = position + size;
    return { kind: 'batch', position, info: readBatchInfo(this.buf, at) };
  }

  /**
   * Make [position, position+length) available in this.buf and return its index there. A batch larger
   * than the chunk gets a buffer of its own size (bounded by the segment, whose size we checked).
   */
  private ensure(position: number, length: number): number {
    if (position >= this.bufStart && position + length <= this.bufStart + this.bufLength) return position - this.bufStart;
    if (length > this.buf.length) this.buf = Buffer.allocUnsafe(length);
    const want = Math.min(this.buf.length, this.end - position);
    const got = this.source.readAt(this.buf, 0, want, position);
    this.bufStart = position;
    this.bufLength = got;
    // The file is shorter than we were told (it changed under us): what is missing is torn.
    if (got < want) this.end = position + got;
    return 0;
  }
}
