import type { FileSystem } from '../../io/file-system.js';
import type { CachedFile } from './file-handle-cache.js';
import { grownCapacity } from './growable-entries.js';

/**
 * A segment's .index: sparse (offset → file position) entries in Kafka's format, 8 bytes each:
 * int32 offset relative to the segment base, int32 position of the batch in the .log. The offset is
 * the batch's LAST offset (Kafka's convention). The whole index is kept in memory for binary search;
 * the file is only appended to, and read back at startup.
 */

export const OFFSET_INDEX_ENTRY_BYTES = 8;
/** Kafka's segment.index.bytes default (10 MiB) in entries; a full index makes the segment roll. */
export const MAX_OFFSET_INDEX_ENTRIES = (10 * 1024 * 1024) / OFFSET_INDEX_ENTRY_BYTES;

export class OffsetIndex {
  private relativeOffsets = new Int32Array(0);
  private positions = new Int32Array(0);
  private count = 0;
  /** Entries from here on exist only in memory until persist(). */
  private persisted = 0;
  /** Bumped by every file change, so a flush knows whether this file needs an fdatasync. */
  writeGeneration = 0;

  constructor(
    private readonly fs: FileSystem,
    /** Opened on use, closed when the file-handle cache needs the descriptor. */
    readonly file: CachedFile,
    readonly baseOffset: number,
  ) {}

  /**
   * Load the file's entries. Returns false, leaving the index empty, when the file cannot be an index
   * of a log of `logSize` bytes (torn length, offsets or positions out of order or out of range).
   */
  load(logSize: number): boolean {
    const bytes = this.fs.size(this.file.get());
    if (bytes % OFFSET_INDEX_ENTRY_BYTES !== 0 || bytes / OFFSET_INDEX_ENTRY_BYTES > MAX_OFFSET_INDEX_ENTRIES) return false;
    const buf = Buffer.allocUnsafe(bytes);
    if (this.fs.read(this.file.get(), buf, 0, bytes, 0) !== bytes) return false;
    const n = bytes / OFFSET_INDEX_ENTRY_BYTES;
    this.ensureCapacity(n);
    let prevOffset = -1;
    let prevPosition = -1;
    for (let i = 0; i < n; i++) {
      const rel = buf.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
      const pos = buf.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (rel <= prevOffset || pos <= prevPosition || pos >= logSize) {
        this.count = 0;
        return false;
      }
      this.relativeOffsets[i] = rel;
      this.positions[i] = pos;
      prevOffset = rel;
      prevPosition = pos;
    }
    this.count = n;
    this.persisted = n;
    return true;
  }

  get entries(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count >= MAX_OFFSET_INDEX_ENTRIES;
  }

  /** Position of the last indexed batch, or 0 (the first batch is never indexed). */
  lastPosition(): number {
    return this.count === 0 ? 0 : (this.positions[this.count - 1] ?? 0);
  }

  /** Add an entry in memory; persist() writes it. */
  append(offset: number, position: number): void {
    if (this.count === this.relativeOffsets.length) this.ensureCapacity(this.count + 1);
    this.relativeOffsets[this.count] = offset - this.baseOffset;
    this.positions[this.count] = position;
    this.count++;
  }

  /** Write the entries added since the last persist with one write. */
  persist(): void {
    if (this.persisted === this.count) return;
    const buf = Buffer.allocUnsafe((this.count - this.persisted) * OFFSET_INDEX_ENTRY_BYTES);
    for (let i = this.persisted; i < this.count; i++) {
      const at = (i - this.persisted) * OFFSET_INDEX_ENTRY_BYTES;
      buf.writeInt32BE(this.relativeOffsets[i] ?? 0, at);
      buf.writeInt32BE(this.positions[i] ?? 0, at + 4);
    }
    this.fs.write(this.file.get(), [buf], this.persisted * OFFSET_INDEX_ENTRY_BYTES);
    this.persisted = this.count;
    this.writeGeneration++;
  }

  /**
   * Forget the entries from the n-th on, in memory only: they index batches whose write failed and
   * were never persisted (entries are persisted only after the log bytes they point at).
   */
  truncateEntries(n: number): void {
    if (n >= this.count) return;
    if (n < this.persisted) throw new Error(`Cannot forget persisted index entries (${n} < ${this.persisted})`);
    this.count = n;
  }

  /** Drop every entry, in memory and on disk (before a rebuild). */
  clear(): void {
    this.count = 0;
    this.persisted = 0;
    this.fs.truncate(this.file.get(), 0);
    this.writeGeneration++;
  }

  /** File position to start scanning from for `offset`: the last entry at or below it, else 0. */
  lookup(offset: number): number {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.relativeOffsets[mid] ?? 0) <= rel) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? 0 : (this.positions[found] ?? 0);
  }

  private ensureCapacity(needed: number): void {
    if (needed <= this.relativeOffsets.length) return;
    const capacity = grownCapacity(this.relativeOffsets.length, needed, MAX_OFFSET_INDEX_ENTRIES);
    const offsets = new Int32Array(capacity);
    const positions = new Int32Array(capacity);
    offsets.set(this.relativeOffsets.subarray(0, this.count));
    positions.set(this.positions.subarray(0, this.count));
    this.relativeOffsets = offsets;
    this.positions = positions;
  }
}
