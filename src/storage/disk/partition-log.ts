import type { Clock, TimerHandle } from '../../io/clock.js';
import { MAX_TIMER_MS } from '../../io/clock.js';
import type { FileSystem } from '../../io/file-system.js';
import { NO_TIMESTAMP, checkAppendable, writeInt64, type BatchInfo } from '../batch-header.js';
import { isNever, type LogConfig } from '../log-config.js';
import {
  OffsetOutOfRangeError,
  type AppendResult,
  type PartitionLog,
  type ReadResult,
  type RetentionLimits,
  type RetentionResult,
  type TimestampLookup,
} from '../types.js';
import { segmentIndexFor, type LoadedPartition } from './recovery.js';
import { LogSegment } from './segment.js';
import { compactDiskLog } from '../cleaner/disk-cleaner.js';
import { buildMarkerBatch } from '../../protocol/records/control-batch.js';
import {
  ProducerStateError,
  type AbortedTransaction,
  type ProducerEntry,
  type ProducerStateManager,
} from '../producer-state/producer-state.js';
import { producerBatchOf } from '../producer-state/producer-batch.js';
import type { TransactionMarker } from '../types.js';
import { writeSnapshot } from './producer-state-store.js';
import { readTxnIndex, txnIndexPath, writeTxnIndex } from './txn-index-file.js';
import type { CompactionResult, CompactionSettings } from '../cleaner/types.js';
import { KafkaStorageError, SyncFailedError } from './storage-error.js';

/** What a partition log tells its manager. */
export interface PartitionLogHooks {
  /** A flush finished; the recovery point may have moved. */
  onFlushed(log: DiskPartitionLog): void;
  /** The log start offset moved (DeleteRecords) and should be checkpointed. */
  onLogStartAdvanced(log: DiskPartitionLog): void;
  /** A flush nobody awaits (flush.messages, flush.ms, segment roll) failed. */
  onBackgroundError(error: unknown): void;
}

export interface DiskPartitionLogParams {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly config: LogConfig;
  readonly loaded: LoadedPartition;
  readonly producers: ProducerStateManager;
  readonly hooks: PartitionLogHooks;
}

/** flush.ms of 0 would re-arm a zero-delay timer forever; a millisecond is as often as is useful. */
const MIN_FLUSH_TIMER_MS = 1;

/**
 * Appends wait this long (a zero-delay timer: after the current event-loop turn, and whatever else
 * is ready by then) to be written together with one writev. A synchronous write per 16 KiB batch was
 * nearly half of the broker's time under produce load.
 */
const PENDING_WRITE_DELAY_MS = 0;
/** acks=1 produces waiting for their bytes to reach the file; one per in-flight request at most. */
const WRITTEN_WAITERS_MAX = 100_000;

const EMPTY_READ: ReadResult = Object.freeze({ chunks: [], bytes: 0 });

const noop = (): void => undefined;

/** How to undo one pending append's producer-state change: the producer's entry before it (null: none). */
interface ProducerUndo {
  readonly producerId: number;
  readonly before: ProducerEntry | null;
}

function copyEntry(entry: ProducerEntry): ProducerEntry {
  return { ...entry, batches: [...entry.batches] };
}

function segmentLargestTimestamp(segment: LogSegment): number {
  return segment.maxTimestamp === NO_TIMESTAMP ? segment.createdAtMs : segment.maxTimestamp;
}

/**
 * A partition stored as Kafka-format segments in `<logDir>/<topic>-<partition>/`. Appends and reads
 * are synchronous; flush() is the only asynchronous operation, and concurrent callers share syncs.
 *
 * Disk faults (docs/reliability.md, "Disk full and I/O errors"):
 * - A failed write of the pending batches (ENOSPC, EIO) abandons ALL of them: the .log is truncated
 *   back to the end of the last batch written whole (a short writev may have put part of them in the
 *   file), their index entries are forgotten, the log end returns to the first abandoned offset (so
 *   the next append reuses it: no hole), and their producer-state changes are undone, so a retry is
 *   appended rather than answered as a duplicate of bytes that do not exist. Everyone waiting on them
 *   (written(), flush()) gets KafkaStorageError, i.e. KAFKA_STORAGE_ERROR: nothing unwritten is ever
 *   acknowledged. The partition stays online, so producing works again once space returns.
 * - This is safe because no reader ever saw the abandoned batches: read() writes the pending queue
 *   before reading, so only bytes that reached the file are served (Kafka too serves only what it
 *   appended to the file). Offsets of pending batches are visible only as the log end (ListOffsets).
 * - A failed fdatasync, or a truncate that cannot undo a failed write, takes the partition offline
 *   until restart (Kafka marks the log dir offline): after a failed writeback Linux may report the
 *   pages clean, so no later fsync can vouch for them. Appends and flushes then fail with
 *   KafkaStorageError; reads keep serving what is stored; the recovery point stays where it was, so
 *   the restart's recovery re-checks every batch after it.
 * - Producer snapshots and index writes are hints: their failure is reported, not fatal (the next
 *   sync writes missing index entries; recovery replays the log without a snapshot).
 */
export class DiskPartitionLog implements PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  private readonly fs: FileSystem;
  private readonly clock: Clock;
  private readonly hooks: PartitionLogHooks;
  private config: LogConfig;
  /** Ordered by base offset; the last one is active. Never empty. */
  private readonly segments: LogSegment[];
  private logStart: number;
  private logEnd: number;
  /** Every offset below this is durable: recovery after a crash starts at its segment. */
  private recoveryPointOffset: number;
  /** Segments with writes not yet fdatasynced; at most every segment. */
  private readonly dirtySegments = new Set<LogSegment>();
  /**
   * Segment files were created or removed since the directory was last synced. True at first: loading
   * may have created or deleted segments, and fdatasync on a file whose directory entry is not durable
   * vouches for nothing.
   */
  private dirDirty = true;
  /** Records appended since a flush was last triggered by flush.messages. */
  private messagesSinceFlush = 0;
  private syncInFlight: Promise<void> | null = null;
  /** The one sync queued behind the one in flight; every caller arriving meanwhile shares it. */
  private nextSync: Promise<void> | null = null;
  private flushTimer: TimerHandle | null = null;
  /** Armed while the active segment has appends not yet written. */
  private writeTimer: TimerHandle | null = null;
  private writtenWaiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private closing = false;
  private readonly producers: ProducerStateManager;
  /** Producer-state changes since start-up, and how many the last snapshot had seen. */
  private producerChanges = 0;
  private snapshottedChanges = -1;
  /**
   * The producer-state changes of the pending (not yet written) appends, oldest first: undone when
   * their write fails. Cleared whenever the pending batches are written; at most one per pending batch.
   */
  private producerUndo: ProducerUndo[] = [];
  /** Why the partition refuses writes until restart, or null while it is healthy. */
  private offlineReason: KafkaStorageError | null = null;

  constructor(params: DiskPartitionLogParams) {
    this.topic = params.topic;
    this.partition = params.partition;
    this.dir = params.dir;
    this.fs = params.fs;
    this.clock = params.clock;
    this.hooks = params.hooks;
    this.config = params.config;
    this.segments = params.loaded.segments;
    this.logStart = params.loaded.logStartOffset;
    this.logEnd = params.loaded.logEndOffset;
    this.recoveryPointOffset = params.loaded.recoveryPoint;
    for (const s of this.segments) if (s.isDirty()) this.dirtySegments.add(s);
    this.producers = params.producers;
    this.armFlushTimer();
  }

  logStartOffset(): number {
    return this.logStart;
  }

  logEndOffset(): number {
    return this.logEnd;
  }

  recoveryPoint(): number {
    return this.recoveryPointOffset;
  }

  segmentCount(): number {
    return this.segments.length;
  }

  /** Why the partition refuses writes until restart (a failed fsync), or null. */
  offlineError(): KafkaStorageError | null {
    return this.offlineReason;
  }

  append(batch: Buffer): AppendResult {
    this.assertOpen();
    this.assertWritable();
    const header = checkAppendable(batch);
    const producer = producerBatchOf(batch);
    const verdict = this.producers.check(producer);
    if (verdict.kind === 'duplicate') return { baseOffset: verdict.firstOffset, lastOffset: verdict.lastOffset, logEndOffset: this.logEnd, duplicate: true };
    if (verdict.kind === 'error') throw new ProducerStateError(verdict.errorCode, verdict.message);
    const result = this.store(batch, header);
    if (producer.producerId >= 0) {
      this.rememberUndo(producer.producerId);
      this.producers.onAppend(producer, result.baseOffset);
      this.producerChanges++;
    }
    this.afterAppend(header.recordsCount);
    return result;
  }

  appendMarker(marker: TransactionMarker): AppendResult {
    this.assertOpen();
    this.assertWritable();
    const verdict = this.producers.checkMarker(marker.producerId, marker.producerEpoch);
    if (verdict.kind === 'error') throw new ProducerStateError(verdict.errorCode, verdict.message);
    const timestamp = this.clock.now();
    const batch = buildMarkerBatch({ ...marker, timestamp });
    const result = this.store(batch, checkAppendable(batch));
    this.rememberUndo(marker.producerId);
    const aborted = this.producers.onMarker(marker.producerId, marker.producerEpoch, marker.commit, marker.coordinatorEpoch, result.baseOffset, timestamp, this.logEnd);
    this.producerChanges++;
    // The marker is only queued until this turn ends, so an index entry synced now is durable before it.
    // Without its index entry the marker must not be written at all: abandon it with the queue.
    // (The aborted-transaction entry added to the producer state stays; it lies at or beyond the log
    // end and covers the same producer's records as the abort the coordinator will send again.)
    if (aborted !== null) {
      try {
        this.indexAborted(this.active().baseOffset, [aborted]);
      } catch (err) {
        this.abandonPending(this.active(), err);
        throw new KafkaStorageError(`${this.topic}-${this.partition}: writing the aborted transaction index failed`, err);
      }
    }
    this.afterAppend(1);
    return result;
  }

  private rememberUndo(producerId: number): void {
    const entry = this.producers.entry(producerId);
    this.producerUndo.push({ producerId, before: entry === undefined ? null : copyEntry(entry) });
  }

  lastStableOffset(): number {
    return this.producers.lastStableOffset(this.logEnd);
  }

  abortedTransactions(from: number, upTo: number): AbortedTransaction[] {
    return this.producers.abortedTransactions(from, upTo);
  }

  producerState(): ProducerStateManager {
    return this.producers;
  }

  /** Add entries to a segment's .txnindex (rewritten whole and synced: markers are rare). */
  private indexAborted(segmentBase: number, entries: readonly AbortedTransaction[]): void {
    const path = txnIndexPath(this.dir, segmentBase);
    const existing = readTxnIndex(this.fs, path).filter((e) => !entries.some((n) => n.lastOffset === e.lastOffset));
    writeTxnIndex(this.fs, path, [...existing, ...entries].sort((a, b) => a.lastOffset - b.lastOffset));
  }

  /**
   * Queue the batch at the log end. Writing the queue first (a roll, or a full queue) may fail: then
   * the queued batches are abandoned (see the class comment), this one is not queued, and
   * KafkaStorageError is thrown.
   */
  private store(batch: Buffer, header: BatchInfo): AppendResult {
    const span = header.lastOffset - header.baseOffset;
    let active = this.active();
    if (active.shouldRoll(batch.length, this.logEnd + span, this.clock.now(), this.config)) active = this.roll();
    else if (active.wouldOverflow(batch.length)) this.writeOut(active);
    const baseOffset = this.logEnd;
    const lastOffset = baseOffset + span;
    const info: BatchInfo = { ...header, baseOffset, lastOffset };
    writeInt64(batch, 0, baseOffset);
    try {
      active.append(batch, info, this.config.indexIntervalBytes);
    } catch (err) {
      this.abandonPending(active, err);
      throw new KafkaStorageError(`${this.topic}-${this.partition}: write failed`, err);
    }
    this.dirtySegments.add(active);
    this.scheduleWrite();
    this.logEnd = lastOffset + 1;
    return { baseOffset, lastOffset, logEndOffset: this.logEnd };
  }

  /** After the producer state took the append in: flush.messages may start a flush (which writes the queue). */
  private afterAppend(records: number): void {
    this.messagesSinceFlush += records;
    if (!isNever(this.config.flushMessages) && this.messagesSinceFlush >= this.config.flushMessages) {
      this.messagesSinceFlush = 0;
      this.backgroundFlush();
    }
  }

  /**
   * Write the segment's pending batches. On failure abandon them all (abandonPending) and throw
   * KafkaStorageError; on success their producer-state changes are final.
   */
  private writeOut(segment: LogSegment): void {
    if (!segment.hasPending()) return;
    let indexError: unknown;
    try {
      indexError = segment.writePending();
    } catch (err) {
      this.abandonPending(segment, err);
      throw new KafkaStorageError(`${this.topic}-${this.partition}: write failed`, err);
    }
    this.producerUndo = [];
    this.settleWritten(null);
    if (indexError !== undefined) this.hooks.onBackgroundError(indexError);
  }

  /**
   * The pending batches could not be written: forget them (the .log is cut back to the last whole
   * batch), move the log end back to the first of them, undo their producer-state changes, and fail
   * everyone waiting for them. If the .log cannot be cut back, the partition goes offline.
   */
  private abandonPending(segment: LogSegment, cause: unknown): void {
    const first = segment.firstPendingOffset();
    try {
      segment.rollbackPending();
    } catch (err) {
      this.goOffline(new KafkaStorageError(`${this.topic}-${this.partition}: could not remove a partly written batch from ${segment.describe()}`, err));
    }
    if (first !== null && first < this.logEnd) this.logEnd = first;
    const undo = this.producerUndo;
    this.producerUndo = [];
    for (let i = undo.length - 1; i >= 0; i--) {
      const u = undo[i] as ProducerUndo;
      // A producer with no state before its rolled-back appends is forgotten: it is unknown again.
      if (u.before !== null) this.producers.restore(u.before);
      else this.producers.forget(u.producerId);
    }
    if (undo.length > 0) this.producerChanges++;
    this.settleWritten(new KafkaStorageError(`${this.topic}-${this.partition}: write failed`, cause));
  }

  /** Refuse writes until restart (see the class comment); reads go on. */
  private goOffline(reason: KafkaStorageError): void {
    if (this.offlineReason !== null) return;
    this.offlineReason = reason;
    this.hooks.onBackgroundError(reason);
  }

  private assertWritable(): void {
    if (this.offlineReason !== null) throw new KafkaStorageError(`${this.topic}-${this.partition} is offline after a disk error, until restart`, this.offlineReason);
  }

  /** Readers see only bytes that reached the file: write the queue first (a failure abandons it). */
  private writeBeforeRead(): void {
    const active = this.active();
    if (!active.hasPending()) return;
    try {
      this.writeOut(active);
    } catch (err) {
      this.hooks.onBackgroundError(err);
    }
  }

  read(offset: number, maxBytes: number, minOneBatch: boolean, maxOffset = Number.MAX_SAFE_INTEGER): ReadResult {
    this.assertOpen();
    this.writeBeforeRead();
    if (offset < this.logStart || offset > this.logEnd) throw new OffsetOutOfRangeError(offset, this.logStart, this.logEnd);
    if (offset === this.logEnd || offset >= maxOffset) return EMPTY_READ;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let i = segmentIndexFor(this.segments, offset);
    let position = (this.segments[i] as LogSegment).locate(offset);
    // read_committed: stop at the batch holding maxOffset (the LSO, always a batch's first offset).
    let stopSegment = this.segments.length;
    let stopPosition = 0;
    if (maxOffset < this.logEnd) {
      stopSegment = segmentIndexFor(this.segments, maxOffset);
      stopPosition = (this.segments[stopSegment] as LogSegment).locate(maxOffset) ?? (this.segments[stopSegment] as LogSegment).size;
    }
    // Continue into the next segment only when this one was read to its end within the budget.
    for (; i < this.segments.length && i <= stopSegment; i++, position = 0) {
      if (position === null) continue;
      const segment = this.segments[i] as LogSegment;
      const end = i === stopSegment ? stopPosition : undefined;
      if (end !== undefined && position >= end) break;
      const r = segment.readFrom(position, maxBytes - bytes, minOneBatch && chunks.length === 0, end);
      if (r.chunk !== null) {
        chunks.push(r.chunk);
        bytes += r.chunk.length;
      }
      if (!r.reachedEnd) break;
    }
    return { chunks, bytes };
  }

  offsetForTimestamp(timestamp: number): TimestampLookup | null {
    this.assertOpen();
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestamp) continue;
      const found = segment.findByTimestamp(timestamp, this.logStart);
      if (found !== null) return found;
    }
    return null;
  }

  maxTimestamp(): TimestampLookup | null {
    this.assertOpen();
    let best = -1;
    let bestTimestamp = NO_TIMESTAMP;
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i] as LogSegment;
      // Only the first segment can straddle the log start; its recorded max may lie below it.
      const ts = i === 0 && this.logStart > segment.baseOffset ? (segment.maxTimestampFrom(this.logStart)?.timestamp ?? NO_TIMESTAMP) : segment.maxTimestamp;
      if (ts > bestTimestamp) {
        bestTimestamp = ts;
        best = i;
      }
    }
    return best < 0 ? null : (this.segments[best] as LogSegment).maxTimestampFrom(this.logStart);
  }

  /**
   * Appends are queued in the active segment and written together when the event-loop turn ends (or
   * earlier, when the queue is full, the segment rolls, a flush starts or a read comes). Until
   * written they are only in memory, which for an unflushed acks=0/1 append changes nothing that was
   * promised: only flush() makes bytes durable, and it writes them first.
   */
  private scheduleWrite(): void {
    if (this.writeTimer !== null) return;
    this.writeTimer = this.clock.setTimer(PENDING_WRITE_DELAY_MS, () => {
      this.writeTimer = null;
      if (this.closing) return;
      try {
        this.writeOut(this.active());
      } catch (err) {
        // Abandoned (writeOut); their waiters have their error.
        this.hooks.onBackgroundError(err);
      }
    });
  }

  written(): Promise<void> {
    this.assertOpen();
    return this.pendingWritten();
  }

  isWritten(): boolean {
    return !this.closing && this.offlineReason === null && !this.active().hasPending();
  }

  private pendingWritten(): Promise<void> {
    if (this.offlineReason !== null) return Promise.reject(this.offlineReason);
    if (!this.active().hasPending()) return Promise.resolve();
    if (this.writtenWaiters.length >= WRITTEN_WAITERS_MAX) return Promise.reject(new Error(`${this.topic}-${this.partition}: too many appends waiting to be written`));
    return new Promise<void>((resolve, reject) => {
      this.writtenWaiters.push({ resolve, reject });
      this.scheduleWrite();
    });
  }

  private settleWritten(err: unknown): void {
    const waiters = this.writtenWaiters;
    this.writtenWaiters = [];
    for (const w of waiters) {
      if (err === null) w.resolve();
      else w.reject(err);
    }
  }

  private cancelWriteTimer(): void {
    this.writeTimer?.cancel();
    this.writeTimer = null;
  }

  /**
   * Group commit. With no sync running, start one. Otherwise wait for the NEXT one: the running sync
   * captured its files before our bytes may have been written, so it cannot vouch for them. All
   * callers arriving during a sync share that single next sync.
   */
  flush(): Promise<void> {
    // The shared sync may start only after a write of the queue failed and abandoned appends made
    // before this call; it would then succeed without them. So also wait for the queue's own fate.
    if (!this.active().hasPending()) return this.sharedSync();
    const written = this.pendingWritten();
    return Promise.all([written, this.sharedSync()]).then(noop);
  }

  private sharedSync(): Promise<void> {
    if (this.nextSync !== null) return this.nextSync;
    if (this.syncInFlight === null) return this.startSync();
    this.nextSync = this.syncInFlight.then(noop, noop).then(() => {
      this.nextSync = null;
      return this.startSync();
    });
    return this.nextSync;
  }

  advanceLogStartOffset(offset: number): void {
    this.assertOpen();
    if (offset > this.logEnd) throw new OffsetOutOfRangeError(offset, this.logStart, this.logEnd);
    if (offset <= this.logStart) return;
    this.logStart = offset;
    // A segment can go once the next one starts at or below the new start; the active one stays.
    while (this.segments.length > 1 && (this.segments[1] as LogSegment).baseOffset <= offset) {
      const old = this.segments.shift() as LogSegment;
      this.dirtySegments.delete(old);
      old.delete();
      this.dirDirty = true;
    }
    this.producers.onLogStartAdvanced(this.logStart);
    this.hooks.onLogStartAdvanced(this);
  }

  applyRetention(limits: RetentionLimits): RetentionResult {
    this.assertOpen();
    let deletedSegments = 0;
    let deletedBytes = 0;
    const deleteOldest = (): void => {
      const old = this.segments.shift() as LogSegment;
      deletedSegments++;
      deletedBytes += old.size;
      this.dirtySegments.delete(old);
      old.delete();
      this.dirDirty = true;
    };
    // Time: Kafka's largest timestamp of the segment (its time index), oldest first, stopping at the
    // first segment still within retention. A segment without timestamps falls back to when it was
    // created or loaded (Kafka uses the file's mtime).
    if (limits.retentionMs >= 0) {
      const cutoff = limits.now - limits.retentionMs;
      while (this.segments.length > 1 && segmentLargestTimestamp(this.segments[0] as LogSegment) < cutoff) deleteOldest();
    }
    // Size: drop the oldest while what remains still holds at least retention.bytes.
    if (limits.retentionBytes >= 0) {
      let size = this.sizeBytes();
      while (this.segments.length > 1 && size - (this.segments[0] as LogSegment).size >= limits.retentionBytes) {
        size -= (this.segments[0] as LogSegment).size;
        deleteOldest();
      }
    }
    if (deletedSegments > 0) {
      const first = this.segments[0] as LogSegment;
      if (first.baseOffset > this.logStart) this.logStart = first.baseOffset;
      this.producers.onLogStartAdvanced(this.logStart);
      this.hooks.onLogStartAdvanced(this);
    }
    return { deletedSegments, deletedBytes, logStartOffset: this.logStart };
  }

  /** One log-compaction pass (src/storage/cleaner/disk-cleaner.ts); never touches the active segment. */
  compact(settings: CompactionSettings): Promise<CompactionResult> {
    this.assertOpen();
    return compactDiskLog(
      {
        fs: this.fs,
        dir: this.dir,
        segments: () => this.segments,
        logStartOffset: () => this.logStart,
        isClosed: () => this.closing,
        indexIntervalBytes: () => this.config.indexIntervalBytes,
        nowMs: () => this.clock.now(),
        lastStableOffset: () => this.lastStableOffset(),
        producerState: () => this.producers,
        replaceSegment: (old, cleaned) => {
          const at = this.segments.indexOf(old);
          if (at >= 0) this.segments[at] = cleaned;
          // The cleaner swapped in the cleaned segment's .txnindex with its .log.
          this.dirtySegments.delete(old);
          this.dirtySegments.add(cleaned);
          this.dirDirty = true;
        },
        syncDir: () => this.fs.fsyncDir(this.dir),
      },
      settings,
    );
  }

  sizeBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  updateConfig(config: LogConfig): void {
    this.config = config;
    this.armFlushTimer();
  }

  /** Flush everything, then release the files. Appends are refused from the start of the call. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.cancelFlushTimer();
    this.cancelWriteTimer();
    const active = this.active();
    try {
      this.snapshotProducers();
      this.writeOut(active);
      active.finalizeTimeIndex();
      if (active.isDirty()) this.dirtySegments.add(active);
      await this.flush();
      this.settleWritten(null);
    } catch (err) {
      this.settleWritten(err);
      throw err;
    } finally {
      for (const s of this.segments) s.close();
    }
  }

  /** Release the files without flushing: the directory is about to be removed. */
  closeForDelete(): void {
    this.closing = true;
    this.cancelFlushTimer();
    this.cancelWriteTimer();
    this.settleWritten(new Error(`${this.topic}-${this.partition} was deleted`));
    for (const s of this.segments) s.close();
  }

  private active(): LogSegment {
    return this.segments[this.segments.length - 1] as LogSegment;
  }

  private roll(): LogSegment {
    const old = this.active();
    this.writeOut(old);
    try {
      old.finalizeTimeIndex();
    } catch (err) {
      // The time index entry stays in memory; the sync of the old segment writes it.
      this.hooks.onBackgroundError(err);
    }
    if (old.isDirty()) this.dirtySegments.add(old);
    this.snapshotProducers();
    const segment = LogSegment.create(this.fs, this.dir, this.logEnd, this.clock.now());
    this.segments.push(segment);
    this.dirDirty = true;
    // Like Kafka, sync a segment soon after it stops being active, so the recovery point keeps up and
    // crash recovery only has to read the active segment.
    this.backgroundFlush();
    return segment;
  }

  /**
   * Kafka snapshots producer state when a segment rolls and at shutdown, so that a restart replays
   * at most the active segment; skipped when nothing changed since the last snapshot.
   */
  private snapshotProducers(): void {
    if (this.producerChanges === this.snapshottedChanges) return;
    // Only written bytes may be described: a snapshot past a batch that then failed would vouch for it.
    this.writeOut(this.active());
    try {
      writeSnapshot(this.fs, this.dir, this.logEnd, this.producers);
    } catch (err) {
      // A snapshot only saves replay time at start-up; without it recovery replays the log.
      this.hooks.onBackgroundError(err);
      return;
    }
    this.snapshottedChanges = this.producerChanges;
    this.dirDirty = true;
  }

  private startSync(): Promise<void> {
    const sync: Promise<void> = this.runSync().finally(() => {
      if (this.syncInFlight === sync) this.syncInFlight = null;
    });
    this.syncInFlight = sync;
    return sync;
  }

  private async runSync(): Promise<void> {
    this.assertWritable();
    // Write the queue first (a failure abandons it and fails this flush), so the sync covers every
    // append so far. Everything below is captured before the first await: this sync vouches for
    // these bytes only.
    this.writeOut(this.active());
    const target = this.logEnd;
    const segments = [...this.dirtySegments];
    const syncDir = this.dirDirty;
    this.dirDirty = false;
    try {
      const dirSync = syncDir
        ? this.fs.fsyncDir(this.dir).catch((err: unknown) => {
            throw new SyncFailedError(`fsync of ${this.dir} failed`, err);
          })
        : undefined;
      await Promise.all([...segments.map((s) => s.sync()), dirSync]);
    } catch (err) {
      if (syncDir) this.dirDirty = true;
      if (err instanceof SyncFailedError) this.goOffline(err);
      throw err instanceof KafkaStorageError ? err : new KafkaStorageError(`${this.topic}-${this.partition}: flush failed`, err);
    }
    for (const s of segments) if (!s.isDirty()) this.dirtySegments.delete(s);
    if (target > this.recoveryPointOffset) this.recoveryPointOffset = target;
    this.hooks.onFlushed(this);
  }

  private backgroundFlush(): void {
    this.flush().catch((err: unknown) => this.hooks.onBackgroundError(err));
  }

  private armFlushTimer(): void {
    this.cancelFlushTimer();
    if (this.closing || isNever(this.config.flushMs)) return;
    const ms = Math.max(MIN_FLUSH_TIMER_MS, Math.min(this.config.flushMs, MAX_TIMER_MS));
    this.flushTimer = this.clock.setTimer(ms, () => {
      this.flushTimer = null;
      if (this.logEnd > this.recoveryPointOffset || this.dirtySegments.size > 0) this.backgroundFlush();
      this.armFlushTimer();
    });
  }

  private cancelFlushTimer(): void {
    this.flushTimer?.cancel();
    this.flushTimer = null;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`Log ${this.topic}-${this.partition} is closed`);
  }
}
