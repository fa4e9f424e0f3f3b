import type { FileSystem } from '../../io/file-system.js';
import type { CachedFile } from './file-handle-cache.js';
import { NO_TIMESTAMP, readInt64, writeInt64 } from '../batch-header.js';
import { grownCapacity } from './growable-entries.js';

/**
 * A segment's .timeindex in Kafka's format, 12 bytes per entry: int64 timestamp, int32 offset relative
 * to the segment base. Each entry says "the largest timestamp up to this offset is this one"; the
 * offset is the last offset of the batch that holds that timestamp. Timestamps only increase, so the
 * index is searchable even when producers send timestamps out of order.
 */

export const TIME_INDEX_ENTRY_BYTES = 12;
/** Kafka's segment.index.bytes default (10 MiB) in entries; a full index makes the segment roll. */
export const MAX_TIME_INDEX_ENTRIES = Math.floor((10 * 1024 * 1024) / TIME_INDEX_ENTRY_BYTES);

export interface TimeIndexEntry {
  readonly timestamp: number;
  readonly offset: number;
}

export class TimeIndex {
  /** Float64 holds every int64 millisecond timestamp exactly (they are far below 2^53). */
  private timestamps = new Float64Array(0);
  private relativeOffsets = new Int32Array(0);
  private count = 0;
  private persisted = 0;
  writeGeneration = 0;

  constructor(
    private readonly fs: FileSystem,
    /** Opened on use, closed when the file-handle cache needs the descriptor. */
    readonly file: CachedFile,
    readonly baseOffset: number,
  ) {}

  /** Load the file; false (index left empty) when it cannot be a valid time index. */
  load(): boolean {
    const bytes = this.fs.size(this.file.get());
    if (bytes % TIME_INDEX_ENTRY_BYTES !== 0 || bytes / TIME_INDEX_ENTRY_BYTES > MAX_TIME_INDEX_ENTRIES) return false;
    const buf = Buffer.allocUnsafe(bytes);
    if (this.fs.read(this.file.get(), buf, 0, bytes, 0) !== bytes) return false;
    const n = bytes / TIME_INDEX_ENTRY_BYTES;
    this.ensureCapacity(n);
    let prevTimestamp = NO_TIMESTAMP;
    let prevOffset = -1;
    for (let i = 0; i < n; i++) {
      const ts = readInt64(buf, i * TIME_INDEX_ENTRY_BYTES);
      const rel = buf.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
      if (ts <= prevTimestamp || rel < prevOffset) {
        this.count = 0;
        return false;
      }
      this.timestamps[i] = ts;
      this.relativeOffsets[i] = rel;
      prevTimestamp = ts;
      prevOffset = rel;
    }
    this.count = n;
    this.persisted = n;
    return true;
  }

  get entries(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count >= MAX_TIME_INDEX_ENTRIES;
  }

  lastEntry(): TimeIndexEntry | null {
    if (this.count === 0) return null;
    return {
      timestamp: this.timestamps[this.count - 1] ?? NO_TIMESTAMP,
      offset: this.baseOffset + (this.relativeOffsets[this.count - 1] ?? 0),
    };
  }

  /** Add an entry in memory if it raises the largest timestamp; persist() writes it. */
  maybeAppend(timestamp: number, offset: number): void {
    const last = this.count === 0 ? NO_TIMESTAMP : (this.timestamps[this.count - 1] ?? NO_TIMESTAMP);
    if (timestamp <= last) return;
    if (this.count === this.timestamps.length) this.ensureCapacity(this.count + 1);
    this.timestamps[this.count] = timestamp;
    this.relativeOffsets[this.count] = offset - this.baseOffset;
    this.count++;
  }

  persist(): void {
    if (this.persisted === this.count) return;
    const buf = Buffer.allocUnsafe((this.count - this.persisted) * TIME_INDEX_ENTRY_BYTES);
    for (let i = this.persisted; i < this.count; i++) {
      const at = (i - this.persisted) * TIME_INDEX_ENTRY_BYTES;
      writeInt64(buf, at, this.timestamps[i] ?? NO_TIMESTAMP);
      buf.writeInt32BE(this.relativeOffsets[i] ?? 0, at + 8);
    }
    this.fs.write(this.file.get(), [buf], this.persisted * TIME_INDEX_ENTRY_BYTES);
    this.persisted = this.count;
    this.writeGeneration++;
  }

  /** Forget the entries from the n-th on, in memory only (see OffsetIndex.truncateEntries). */
  truncateEntries(n: number): void {
    if (n >= this.count) return;
    if (n < this.persisted) throw new Error(`Cannot forget persisted time index entries (${n} < ${this.persisted})`);
    this.count = n;
  }

  clear(): void {
    this.count = 0;
    this.persisted = 0;
    this.fs.truncate(this.file.get(), 0);
    this.writeGeneration++;
  }

  /**
   * The entry with the largest timestamp <= `timestamp`, or null. No batch before the entry's batch
   * can reach `timestamp`, so a search for the first batch at or above it may start there.
   */
  lookup(timestamp: number): TimeIndexEntry | null {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.timestamps[mid] ?? NO_TIMESTAMP) <= timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return null;
    return { timestamp: this.timestamps[found] ?? NO_TIMESTAMP, offset: this.baseOffset + (this.relativeOffsets[found] ?? 0) };
  }

  private ensureCapacity(needed: number): void {
    if (needed <= this.timestamps.length) return;
    const capacity = grownCapacity(this.timestamps.length, needed, MAX_TIME_INDEX_ENTRIES);
    const timestamps = new Float64Array(capacity);
    const offsets = new Int32Array(capacity);
    timestamps.set(this.timestamps.subarray(0, this.count));
    offsets.set(this.relativeOffsets.subarray(0, this.count));
    this.timestamps = timestamps;
    this.relativeOffsets = offsets;
  }
}
