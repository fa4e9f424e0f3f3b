import type { Clock, TimerHandle } from '../../io/clock.js';
import { MAX_TIMER_MS } from '../../io/clock.js';
import type { FileSystem } from '../../io/file-system.js';
import { NO_TIMESTAMP, checkAppendable, writeInt64, type BatchInfo } from '../batch-header.js';
import { isNever, type LogConfig } from '../log-config.js';
import { OffsetOutOfRangeError, type AppendResult, type PartitionLog, type ReadResult, type TimestampLookup } from '../types.js';
import { segmentIndexFor, type LoadedPartition } from './recovery.js';
import { LogSegment } from './segment.js';

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
  readonly hooks: PartitionLogHooks;
}

/** flush.ms of 0 would re-arm a zero-delay timer forever; a millisecond is as often as is useful. */
const MIN_FLUSH_TIMER_MS = 1;

const EMPTY_READ: ReadResult = Object.freeze({ chunks: [], bytes: 0 });

const noop = (): void => undefined;

/**
 * A partition stored as Kafka-format segments in `<logDir>/<topic>-<partition>/`. Appends and reads
 * are synchronous; flush() is the only asynchronous operation, and concurrent callers share syncs.
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
  private closing = false;

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

  append(batch: Buffer): AppendResult {
    this.assertOpen();
    const header = checkAppendable(batch);
    const baseOffset = this.logEnd;
    const lastOffset = baseOffset + (header.lastOffset - header.baseOffset);
    const info: BatchInfo = { ...header, baseOffset, lastOffset };
    let active = this.active();
    if (active.shouldRoll(batch.length, lastOffset, this.clock.now(), this.config)) active = this.roll();
    writeInt64(batch, 0, baseOffset);
    active.append(batch, info, this.config.indexIntervalBytes);
    this.dirtySegments.add(active);
    this.logEnd = lastOffset + 1;
    this.messagesSinceFlush += header.recordsCount;
    if (!isNever(this.config.flushMessages) && this.messagesSinceFlush >= this.config.flushMessages) {
      this.messagesSinceFlush = 0;
      this.backgroundFlush();
    }
    return { baseOffset, lastOffset, logEndOffset: this.logEnd };
  }

  read(offset: number, maxBytes: number, minOneBatch: boolean): ReadResult {
    this.assertOpen();
    if (offset < this.logStart || offset > this.logEnd) throw new OffsetOutOfRangeError(offset, this.logStart, this.logEnd);
    if (offset === this.logEnd) return EMPTY_READ;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let i = segmentIndexFor(this.segments, offset);
    let position = (this.segments[i] as LogSegment).locate(offset);
    // Continue into the next segment only when this one was read to its end within the budget.
    for (; i < this.segments.length; i++, position = 0) {
      if (position === null) continue;
      const r = (this.segments[i] as LogSegment).readFrom(position, maxBytes - bytes, minOneBatch && chunks.length === 0);
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
   * Group commit. With no sync running, start one. Otherwise wait for the NEXT one: the running sync
   * captured its files before our bytes may have been written, so it cannot vouch for them. All
   * callers arriving during a sync share that single next sync.
   */
  flush(): Promise<void> {
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
    this.hooks.onLogStartAdvanced(this);
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
    const active = this.active();
    active.finalizeTimeIndex();
    if (active.isDirty()) this.dirtySegments.add(active);
    try {
      await this.flush();
    } finally {
      for (const s of this.segments) s.close();
    }
  }

  /** Release the files without flushing: the directory is about to be removed. */
  closeForDelete(): void {
    this.closing = true;
    this.cancelFlushTimer();
    for (const s of this.segments) s.close();
  }

  private active(): LogSegment {
    return this.segments[this.segments.length - 1] as LogSegment;
  }

  private roll(): LogSegment {
    const old = this.active();
    old.finalizeTimeIndex();
    if (old.isDirty()) this.dirtySegments.add(old);
    const segment = LogSegment.create(this.fs, this.dir, this.logEnd, this.clock.now());
    this.segments.push(segment);
    this.dirDirty = true;
    // Like Kafka, sync a segment soon after it stops being active, so the recovery point keeps up and
    // crash recovery only has to read the active segment.
    this.backgroundFlush();
    return segment;
  }

  private startSync(): Promise<void> {
    const sync: Promise<void> = this.runSync().finally(() => {
      if (this.syncInFlight === sync) this.syncInFlight = null;
    });
    this.syncInFlight = sync;
    return sync;
  }

  private async runSync(): Promise<void> {
    // Everything below is captured before the first await: this sync vouches for these bytes only.
    const target = this.logEnd;
    const segments = [...this.dirtySegments];
    const syncDir = this.dirDirty;
    this.dirDirty = false;
    try {
      await Promise.all([...segments.map((s) => s.sync()), syncDir ? this.fs.fsyncDir(this.dir) : undefined]);
    } catch (err) {
      if (syncDir) this.dirDirty = true;
      throw err;
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
