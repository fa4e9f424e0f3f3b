import type { FileSystem } from '../../io/file-system.js';
import { READ_BUFFERS } from '../read-buffer-pool.js';
import { fileHandleCacheOf, type CachedFile } from './file-handle-cache.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD, NO_TIMESTAMP, batchSizeAt, readInt64, type BatchInfo } from '../batch-header.js';
import { SyncFailedError } from './storage-error.js';
import type { TimestampLookup } from '../types.js';
import { BatchScanner, LOCATE_READ_BYTES, type ByteSource } from './batch-scanner.js';
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, segmentFilePath } from './log-dir-layout.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import type { LogConfig } from '../log-config.js';

/** Index entries store offsets relative to the segment base as int32. */
const MAX_RELATIVE_OFFSET = 0x7fffffff;

/**
 * Appended batches wait in memory, in the caller's buffers, until the partition writes them with one
 * writev: at the end of the event-loop turn, before any fdatasync, on roll and on close, and as soon
 * as the next batch would take the queue past either bound. The byte bound is small on purpose: bytes
 * that just arrived from the socket are still in the CPU cache, so copying them into the page cache
 * soon is cheaper than copying a larger but colder queue later (measured: 64 KiB beat 1 MiB by about a third
 * in the produce benchmark). The batch bound keeps each write one syscall (Linux's IOV_MAX is 1024)
 * and reads among the queue cheap.
 */
export const PENDING_WRITE_BYTES_MAX = 64 * 1024;
export const PENDING_WRITE_BATCHES_MAX = 256;

export interface SegmentRead {
  /** Whole batches from the requested position, or null when none fit the budget. */
  readonly chunk: Buffer | null;
  /** True when the read consumed the segment to its end, so a reader may continue in the next one. */
  readonly reachedEnd: boolean;
}

type SegmentState = 'open' | 'closed' | 'deleted';

/** What the segment tracked before its first pending batch: restored when the pending ones are abandoned. */
interface TrackingMark {
  readonly offsetEntries: number;
  readonly timeEntries: number;
  readonly maxTimestamp: number;
  readonly offsetOfMaxTimestamp: number;
  readonly bytesSinceLastIndexEntry: number;
}

/**
 * One segment: a .log of batches starting at `baseOffset`, and its two sparse indexes. Its three
 * files are CachedFiles of the log manager's FileHandleCache: opened on use, closed when the cache
 * needs the descriptor for a more recently used file, reopened on the next use. A handle is taken
 * from the cache for each operation and never kept across calls.
 */
export class LogSegment implements ByteSource {
  /** Bytes in the segment: those written to the .log, then those pending. */
  private sizeBytes: number;
  /** Bytes written to the .log file; everything past it is in `pending`. */
  private writtenBytes: number;
  /** Batches appended but not written yet, in order, starting at file position `writtenBytes`. */
  private pending: Buffer[] = [];
  /** File position of each pending batch, for reads that land among them. */
  private pendingPositions: number[] = [];
  private pendingBytes = 0;
  /** Taken when the first batch is queued; rollbackPending() returns to it. */
  private mark: TrackingMark | null = null;
  /** Largest batch max timestamp in the segment, and the last offset of the batch holding it. */
  maxTimestamp = NO_TIMESTAMP;
  offsetOfMaxTimestamp = -1;
  /** Log bytes appended since the last index entry: the index gets an entry every index.interval.bytes. */
  private bytesSinceLastIndexEntry = 0;
  /** Bumped by every write to the .log; a flush syncs the file when it is ahead of what was synced. */
  private logWriteGeneration = 0;
  private syncedLog = 0;
  private syncedIndex = 0;
  private syncedTimeIndex = 0;
  /** fdatasyncs still running; handles are closed only when none are, so an fd is never reused under one. */
  private syncsInFlight = 0;
  private state: SegmentState = 'open';

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    readonly baseOffset: number,
    private readonly log: CachedFile,
    readonly offsetIndex: OffsetIndex,
    readonly timeIndex: TimeIndex,
    /** Clock time the segment was created or loaded; segment.ms rolls are measured from it. */
    readonly createdAtMs: number,
    /** Whether both index files existed when the segment was opened. */
    private readonly indexesFound: boolean,
  ) {
    this.sizeBytes = fs.size(log.get());
    this.writtenBytes = this.sizeBytes;
  }

  /** A new, empty segment. Existing files at this base offset hold nothing valid and are replaced. */
  static create(fs: FileSystem, dir: string, baseOffset: number, nowMs: number): LogSegment {
    return LogSegment.openFiles(fs, dir, baseOffset, nowMs, 'w+');
  }

  /** An existing segment, as found on disk; its indexes are not loaded yet (see loadIndexes). */
  static open(fs: FileSystem, dir: string, baseOffset: number, nowMs: number): LogSegment {
    return LogSegment.openFiles(fs, dir, baseOffset, nowMs, 'c+');
  }

  private static openFiles(fs: FileSystem, dir: string, baseOffset: number, nowMs: number, indexFlags: 'w+' | 'c+'): LogSegment {
    // A missing index would be created empty below and then look valid; remember it was missing.
    const indexesFound =
      fs.exists(segmentFilePath(dir, baseOffset, INDEX_SUFFIX)) && fs.exists(segmentFilePath(dir, baseOffset, TIME_INDEX_SUFFIX));
    const cache = fileHandleCacheOf(fs);
    const log = cache.file(segmentFilePath(dir, baseOffset, LOG_SUFFIX), indexFlags === 'w+' ? 'w+' : 'r+');
    const indexFile = cache.file(segmentFilePath(dir, baseOffset, INDEX_SUFFIX), indexFlags);
    const timeIndexFile = cache.file(segmentFilePath(dir, baseOffset, TIME_INDEX_SUFFIX), indexFlags);
    // 'w+' replaces old files now; 'c+' index files are created on first use (loading or rebuilding).
    if (indexFlags === 'w+') {
      indexFile.get();
      timeIndexFile.get();
    }
    const index = new OffsetIndex(cache, indexFile, baseOffset);
    const timeIndex = new TimeIndex(cache, timeIndexFile, baseOffset);
    return new LogSegment(cache, dir, baseOffset, log, index, timeIndex, nowMs, indexesFound);
  }

  get size(): number {
    return this.sizeBytes;
  }

  /**
   * Load both index files; false when either is missing or unusable (the caller then recovers the
   * segment, which rebuilds them). Takes the max timestamp from the time index's last entry.
   */
  loadIndexes(): boolean {
    if (!this.indexesFound || !this.offsetIndex.load(this.sizeBytes) || !this.timeIndex.load()) return false;
    const last = this.timeIndex.lastEntry();
    if (last !== null) {
      this.maxTimestamp = last.timestamp;
      this.offsetOfMaxTimestamp = last.offset;
    }
    return true;
  }

  shouldRoll(batchSize: number, lastOffset: number, nowMs: number, config: LogConfig): boolean {
    if (this.sizeBytes === 0) return false;
    return (
      this.sizeBytes + batchSize > config.segmentBytes ||
      nowMs - this.createdAtMs > config.segmentMs ||
      this.offsetIndex.isFull() ||
      this.timeIndex.isFull() ||
      lastOffset - this.baseOffset > MAX_RELATIVE_OFFSET
    );
  }

  /**
   * Queue one batch (its base offset already written) and index it in memory; writePending() writes
   * it. The segment keeps `batch` itself until then. When the queue is full, it is written first, so
   * a failed write throws before anything about this batch is recorded.
   */
  append(batch: Buffer, info: BatchInfo, indexIntervalBytes: number): void {
    const full = this.pendingBytes + batch.length > PENDING_WRITE_BYTES_MAX || this.pending.length >= PENDING_WRITE_BATCHES_MAX;
    if (full && this.pendingBytes > 0) this.writePending();
    if (this.pending.length === 0) {
      this.mark = {
        offsetEntries: this.offsetIndex.entries,
        timeEntries: this.timeIndex.entries,
        maxTimestamp: this.maxTimestamp,
        offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
        bytesSinceLastIndexEntry: this.bytesSinceLastIndexEntry,
      };
    }
    const position = this.sizeBytes;
    this.pending.push(batch);
    this.pendingPositions.push(position);
    this.pendingBytes += batch.length;
    this.sizeBytes += batch.length;
    this.track(info, position, indexIntervalBytes);
  }

  /** Whether queueing `batchBytes` more would make append() write the queue first. */
  wouldOverflow(batchBytes: number): boolean {
    return this.pendingBytes > 0 && (this.pendingBytes + batchBytes > PENDING_WRITE_BYTES_MAX || this.pending.length >= PENDING_WRITE_BATCHES_MAX);
  }

  /**
   * Write every pending batch with one writev, then the index entries added meanwhile (after the log
   * bytes they point at). A failed log write throws and leaves the batches pending (the owner then
   * abandons them with rollbackPending: part of them may be in the file). A failed index write does
   * not throw: the log bytes stand, the entries stay in memory and are written again by the next
   * write or sync; the error is returned for the owner to report.
   */
  writePending(): unknown {
    if (this.pendingBytes === 0) return undefined;
    if (this.state !== 'open') throw new Error(`Segment ${this.describe()} is ${this.state}`);
    this.fs.write(this.log.get(), this.pending, this.writtenBytes);
    this.writtenBytes += this.pendingBytes;
    this.pending = [];
    this.pendingPositions = [];
    this.pendingBytes = 0;
    this.mark = null;
    this.logWriteGeneration++;
    try {
      this.persistIndexes();
      return undefined;
    } catch (err) {
      return err;
    }
  }

  /** Base offset of the first pending batch (its offset was written into it by the log), or null. */
  firstPendingOffset(): number | null {
    const first = this.pending[0];
    return first === undefined ? null : readInt64(first, 0);
  }

  /**
   * Abandon the pending batches after their write failed: forget them and their index entries and
   * timestamps, then cut the .log back to the end of the last batch written whole, removing whatever
   * part of the failed writev reached the file. In-memory state is restored first, so if the
   * truncate fails too (it throws) reads still end at the last whole batch.
   */
  rollbackPending(): void {
    const mark = this.mark;
    this.discardPending();
    if (mark !== null) {
      this.offsetIndex.truncateEntries(mark.offsetEntries);
      this.timeIndex.truncateEntries(mark.timeEntries);
      this.maxTimestamp = mark.maxTimestamp;
      this.offsetOfMaxTimestamp = mark.offsetOfMaxTimestamp;
      this.bytesSinceLastIndexEntry = mark.bytesSinceLastIndexEntry;
    }
    if (this.state !== 'open') return;
    this.logWriteGeneration++;
    this.fs.truncate(this.log.get(), this.writtenBytes);
  }

  /** Batches are queued in memory, not yet written to the file. */
  hasPending(): boolean {
    return this.pendingBytes > 0;
  }

  /** Forget the pending batches unwritten (the segment is being deleted). */
  discardPending(): void {
    this.sizeBytes -= this.pendingBytes;
    this.pending = [];
    this.pendingPositions = [];
    this.pendingBytes = 0;
    this.mark = null;
  }

  /**
   * Read [position, position + length) into `buf` at `offset`: from the file below `writtenBytes`,
   * from the pending batches above it. Fewer bytes only at the end.
   */
  readAt(buf: Buffer, offset: number, length: number, position: number): number {
    if (this.pendingBytes === 0 || position + length <= this.writtenBytes) return this.fs.read(this.log.get(), buf, offset, length, position);
    let done = 0;
    if (position < this.writtenBytes) {
      const fromFile = this.writtenBytes - position;
      done = this.fs.read(this.log.get(), buf, offset, fromFile, position);
      if (done < fromFile) return done;
    }
    let i = this.pendingIndexOf(position + done);
    while (done < length && position + done < this.sizeBytes) {
      const batch = this.pending[i] as Buffer;
      const from = position + done - (this.pendingPositions[i] as number);
      const n = Math.min(batch.length - from, length - done);
      batch.copy(buf, offset + done, from, from + n);
      done += n;
      i++;
    }
    return done;
  }

  /**
   * Account for a batch now in the log at `position`: Kafka's cadence — an offset index entry (and a
   * time index entry if the max timestamp rose) once more than index.interval.bytes have gone by.
   */
  track(info: BatchInfo, position: number, indexIntervalBytes: number): void {
    if (info.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = info.maxTimestamp;
      this.offsetOfMaxTimestamp = info.lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes) {
      this.offsetIndex.append(info.lastOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += info.size;
  }

  /** Account for the batch the last index entry points at, already indexed (used when reloading). */
  trackIndexed(info: BatchInfo): void {
    if (info.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = info.maxTimestamp;
      this.offsetOfMaxTimestamp = info.lastOffset;
    }
    this.bytesSinceLastIndexEntry = info.size;
  }

  persistIndexes(): void {
    this.offsetIndex.persist();
    this.timeIndex.persist();
  }

  /**
   * Write what is pending and make sure the time index records the segment's max timestamp (before it
   * stops being active).
   */
  finalizeTimeIndex(): void {
    if (this.state !== 'open') return;
    this.writePending();
    this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
    // Not written (disk full)? The entry stays in memory and the next sync writes it.
    this.timeIndex.persist();
  }

  /** Forget both indexes (memory and files) before recovery rebuilds them. */
  resetIndexes(): void {
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.maxTimestamp = NO_TIMESTAMP;
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceLastIndexEntry = 0;
  }

  /** Cut the .log at `size` (recovery drops a torn tail). */
  truncateLog(size: number): void {
    if (this.pendingBytes > 0) throw new Error(`Cannot truncate ${this.describe()} with writes pending`);
    this.fs.truncate(this.log.get(), size);
    this.sizeBytes = size;
    this.writtenBytes = size;
    this.logWriteGeneration++;
  }

  /** Size of the .log file itself, which after a crash may exceed what we have accounted for. */
  fileSize(): number {
    return this.fs.size(this.log.get());
  }

  /** Recovery believed bytes it read back; they may be in the page cache only, so sync them next. */
  markUnsynced(): void {
    this.logWriteGeneration++;
  }

  scanner(from: number, chunkBytes: number, verifyCrc: boolean, end = this.sizeBytes): BatchScanner {
    return new BatchScanner(this, from, end, chunkBytes, verifyCrc);
  }

  /** Position of the batch containing `offset`, or null when the segment ends before it. */
  locate(offset: number): number | null {
    const from = this.offsetIndex.lookup(offset);
    const found = this.locateFrom(from, offset);
    if (found !== 'corrupt') return found;
    // No checksum covers an index entry's position: a damaged one points into the middle of a batch.
    // Scanning from the segment start is slow but right; the index is rebuilt at the next recovery.
    const again = from > 0 ? this.locateFrom(0, offset) : 'corrupt';
    if (again === 'corrupt') throw new Error(`Corrupt batch in ${this.describe()} while looking for offset ${offset}`);
    return again;
  }

  private locateFrom(from: number, offset: number): number | null | 'corrupt' {
    const scan = this.scanner(from, LOCATE_READ_BYTES, from > 0);
    let first = from > 0;
    for (;;) {
      const step = scan.next();
      if (step.kind === 'end') return null;
      if (step.kind === 'invalid') return 'corrupt';
      // The batch an index entry points at must start inside this segment, at or before the target.
      if (first && (step.info.baseOffset < this.baseOffset || step.info.baseOffset > offset)) return 'corrupt';
      first = false;
      if (step.info.lastOffset >= offset) return step.position;
    }
  }

  /**
   * Whole batches from `position` within `budget` bytes, with one read. When none fits and
   * `mustIncludeOne`, the first batch alone (KIP-74: a consumer must always make progress).
   */
  readFrom(position: number, budget: number, mustIncludeOne: boolean, endPosition = this.sizeBytes): SegmentRead {
    const end = Math.min(endPosition, this.sizeBytes);
    if (position >= end) return { chunk: null, reachedEnd: true };
    const want = Math.min(Math.max(budget, 0), end - position);
    if (want >= BATCH_HEADER_BYTES) {
      // Pooled: the Fetch handler gives it back once the response has left (see read-buffer-pool.ts).
      const buf = READ_BUFFERS.take(want);
      let whole = 0;
      try {
        const got = this.readAt(buf, 0, want, position);
        while (whole + LOG_OVERHEAD <= got) {
          const size = this.checkedSize(buf, whole, position + whole);
          if (whole + size > got) break;
          whole += size;
        }
      } finally {
        if (whole === 0) READ_BUFFERS.give(buf.buffer);
      }
      if (whole > 0) return { chunk: buf.subarray(0, whole), reachedEnd: position + whole >= end };
    }
    if (!mustIncludeOne) return { chunk: null, reachedEnd: false };
    const header = Buffer.allocUnsafe(LOG_OVERHEAD);
    this.readAt(header, 0, LOG_OVERHEAD, position);
    const size = this.checkedSize(header, 0, position);
    const one = Buffer.allocUnsafe(size);
    const got = this.readAt(one, 0, size, position);
    if (got !== size || position + size > end) throw new Error(`Short read in ${this.describe()} at ${position}`);
    return { chunk: one, reachedEnd: position + size >= end };
  }

  /**
   * First batch at or after `startingOffset` whose max timestamp is >= `timestamp`. The time index
   * finds where to start: no batch before its entry can reach the timestamp.
   */
  findByTimestamp(timestamp: number, startingOffset: number): TimestampLookup | null {
    if (this.maxTimestamp < timestamp) return null;
    const entry = this.timeIndex.lookup(timestamp);
    const fromTime = entry === null ? 0 : this.offsetIndex.lookup(entry.offset);
    const from = Math.max(fromTime, this.offsetIndex.lookup(startingOffset));
    const scan = this.scanner(from, LOCATE_READ_BYTES, false);
    for (;;) {
      const step = scan.next();
      if (step.kind === 'end') return null;
      if (step.kind === 'invalid') throw new Error(`Corrupt batch in ${this.describe()} at ${step.position}: ${step.reason}`);
      const info = step.info;
      if (info.lastOffset >= startingOffset && info.maxTimestamp >= timestamp) {
        return { offset: Math.max(info.baseOffset, startingOffset), timestamp: info.maxTimestamp };
      }
    }
  }

  /** The largest timestamp among batches at or after `startingOffset` (first batch holding it wins). */
  maxTimestampFrom(startingOffset: number): TimestampLookup | null {
    if (startingOffset <= this.baseOffset) {
      return this.maxTimestamp === NO_TIMESTAMP ? null : this.findByTimestamp(this.maxTimestamp, startingOffset);
    }
    // The log start cuts into this segment, so its recorded max may belong to a batch below it.
    const scan = this.scanner(this.offsetIndex.lookup(startingOffset), LOCATE_READ_BYTES, false);
    let best: TimestampLookup | null = null;
    for (;;) {
      const step = scan.next();
      if (step.kind === 'end') return best;
      if (step.kind === 'invalid') throw new Error(`Corrupt batch in ${this.describe()} at ${step.position}: ${step.reason}`);
      const info = step.info;
      if (info.lastOffset >= startingOffset && info.maxTimestamp > (best?.timestamp ?? NO_TIMESTAMP)) {
        best = { offset: Math.max(info.baseOffset, startingOffset), timestamp: info.maxTimestamp };
      }
    }
  }

  isDirty(): boolean {
    return (
      this.pendingBytes > 0 ||
      this.logWriteGeneration > this.syncedLog ||
      this.offsetIndex.writeGeneration > this.syncedIndex ||
      this.timeIndex.writeGeneration > this.syncedTimeIndex
    );
  }

  /**
   * Write what is pending and any index entries not yet written, then fdatasync whichever of the
   * three files changed since their last sync. A failed write throws as it is; a failed fdatasync
   * throws SyncFailedError.
   */
  async sync(): Promise<void> {
    if (this.state !== 'open') return;
    const indexError = this.writePending();
    if (indexError !== undefined) throw indexError;
    this.persistIndexes();
    const logGen = this.logWriteGeneration;
    const indexGen = this.offsetIndex.writeGeneration;
    const timeGen = this.timeIndex.writeGeneration;
    const syncs: Promise<void>[] = [];
    // Each sync pins its handle in the cache until it returns (a reopen if it had been closed).
    if (logGen > this.syncedLog) syncs.push(this.log.sync());
    if (indexGen > this.syncedIndex) syncs.push(this.offsetIndex.file.sync());
    if (timeGen > this.syncedTimeIndex) syncs.push(this.timeIndex.file.sync());
    if (syncs.length === 0) return;
    this.syncsInFlight++;
    // allSettled, not all: a handle must stay open until every sync on it has returned.
    const results = await Promise.allSettled(syncs);
    this.syncsInFlight--;
    if (this.state !== 'open') {
      // Deleted or closed while syncing: its bytes no longer matter, and now the handles can go.
      if (this.syncsInFlight === 0) this.closeHandles();
      return;
    }
    for (const r of results) if (r.status === 'rejected') throw new SyncFailedError(`fdatasync of ${this.describe()} failed`, r.reason);
    this.syncedLog = Math.max(this.syncedLog, logGen);
    this.syncedIndex = Math.max(this.syncedIndex, indexGen);
    this.syncedTimeIndex = Math.max(this.syncedTimeIndex, timeGen);
  }

  /** Release the files. Anything still pending is dropped: the owner writes it first when it matters. */
  close(): void {
    if (this.state !== 'open') return;
    this.discardPending();
    this.state = 'closed';
    if (this.syncsInFlight === 0) this.closeHandles();
  }

  /** Remove the files now; the handles follow once no sync is using them. */
  delete(): void {
    if (this.state === 'deleted') return;
    const wasOpen = this.state === 'open';
    this.discardPending();
    this.state = 'deleted';
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
      const path = segmentFilePath(this.dir, this.baseOffset, suffix);
      if (this.fs.exists(path)) this.fs.unlink(path);
    }
    if (wasOpen && this.syncsInFlight === 0) this.closeHandles();
  }

  describe(): string {
    return segmentFilePath(this.dir, this.baseOffset, LOG_SUFFIX);
  }

  /** Index of the pending batch holding file position `position` (which is at or past writtenBytes). */
  private pendingIndexOf(position: number): number {
    const positions = this.pendingPositions;
    let lo = 0;
    let hi = positions.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((positions[mid] as number) <= position) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private checkedSize(buf: Buffer, at: number, filePosition: number): number {
    const size = batchSizeAt(buf, at);
    if (size < BATCH_HEADER_BYTES) throw new Error(`Corrupt batch length in ${this.describe()} at ${filePosition}`);
    return size;
  }

  private closeHandles(): void {
    this.log.release();
    this.offsetIndex.file.release();
    this.timeIndex.file.release();
  }
}
