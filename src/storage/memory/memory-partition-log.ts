import { NO_TIMESTAMP, checkAppendable, writeInt64 } from '../batch-header.js';
import {
  OffsetOutOfRangeError,
  type AppendResult,
  type PartitionLog,
  type ReadResult,
  type RetentionLimits,
  type RetentionResult,
  type TimestampLookup,
} from '../types.js';
import { planCleaning, type CleanableUnit } from '../cleaner/compactor.js';
import { cleanerTransactionsOf } from '../cleaner/transactions.js';
import { buildMarkerBatch } from '../../protocol/records/control-batch.js';
import { ProducerStateError, ProducerStateManager, type AbortedTransaction } from '../producer-state/producer-state.js';
import { producerBatchOf } from '../producer-state/producer-batch.js';
import type { TransactionMarker } from '../types.js';
import type { CompactionResult, CompactionSettings } from '../cleaner/types.js';

/**
 * Bytes one in-memory partition may hold. Past it the oldest batches are dropped (the log start moves
 * forward), like retention.bytes on disk, so an embedded broker cannot grow without limit.
 */
export const DEFAULT_MEMORY_PARTITION_MAX_BYTES = 256 * 1024 * 1024;

/**
 * A batch is kept as the caller's buffer (no copy) unless the memory behind it is more than this many
 * times its size: a small batch must not pin a large socket chunk or request. A 64 KiB socket read
 * holding four 16 KiB batches is kept; a 100-byte batch in it is copied.
 */
export const KEEP_BATCH_MAX_BACKING_RATIO = 8;

interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly bytes: Buffer;
  /** What keeping `bytes` costs against maxBytes: its backing memory, counted once per run of batches sharing it. */
  readonly retained: number;
}

const EMPTY_READ: ReadResult = Object.freeze({ chunks: [], bytes: 0 });

/** A partition kept as an array of batch buffers; same observable behaviour as the disk engine. */
export class MemoryPartitionLog implements PartitionLog {
  /** Ordered by offset; bounded by maxBytes. Removal from the front is amortised by `head`. */
  private batches: StoredBatch[] = [];
  /** Index of the first live batch in `batches` (dropping from the front without shifting). */
  private head = 0;
  private logStart = 0;
  private logEnd = 0;
  /** Sum of the batch sizes (what sizeBytes() reports). */
  private totalBytes = 0;
  /** Memory the stored batches keep alive (what maxBytes bounds); see StoredBatch.retained. */
  private retainedBytes = 0;
  /** The backing memory of the last batch kept without a copy: the next batch sharing it costs nothing more. */
  private lastBacking: ArrayBufferLike | null = null;
  /** Offsets below this were deduplicated by the last compaction pass. */
  private cleanedUpTo = 0;

  private readonly producers: ProducerStateManager;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly maxBytes: number = DEFAULT_MEMORY_PARTITION_MAX_BYTES,
    /** Marker timestamps. */
    private readonly now: () => number = (): number => -1,
  ) {
    this.producers = new ProducerStateManager(`${topic}-${partition}`);
  }

  logStartOffset(): number {
    return this.logStart;
  }

  logEndOffset(): number {
    return this.logEnd;
  }

  append(batch: Buffer): AppendResult {
    const header = checkAppendable(batch);
    const producer = producerBatchOf(batch);
    const verdict = this.producers.check(producer);
    if (verdict.kind === 'duplicate') return { baseOffset: verdict.firstOffset, lastOffset: verdict.lastOffset, logEndOffset: this.logEnd, duplicate: true };
    if (verdict.kind === 'error') throw new ProducerStateError(verdict.errorCode, verdict.message);
    const result = this.store(batch, header.lastOffset - header.baseOffset, header.maxTimestamp);
    this.producers.onAppend(producer, result.baseOffset);
    return result;
  }

  appendMarker(marker: TransactionMarker): AppendResult {
    const verdict = this.producers.checkMarker(marker.producerId, marker.producerEpoch);
    if (verdict.kind === 'error') throw new ProducerStateError(verdict.errorCode, verdict.message);
    const timestamp = this.now();
    const result = this.store(buildMarkerBatch({ ...marker, timestamp }), 0, timestamp);
    this.producers.onMarker(marker.producerId, marker.producerEpoch, marker.commit, marker.coordinatorEpoch, result.baseOffset, timestamp, this.logEnd);
    return result;
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

  private store(batch: Buffer, lastOffsetDelta: number, maxTimestamp: number): AppendResult {
    const baseOffset = this.logEnd;
    const lastOffset = baseOffset + lastOffsetDelta;
    writeInt64(batch, 0, baseOffset);
    // The caller's buffer is usually a view of a socket read holding this request and its neighbours
    // (the broker never reuses one); keeping it saves a copy and an allocation per batch, which were
    // a fifth of the broker's time in the produce benchmark. Copy only when that would pin far more
    // memory than the batch itself.
    let bytes = batch;
    let retained = 0;
    const backing = batch.buffer;
    if (backing !== this.lastBacking) {
      if (backing.byteLength > KEEP_BATCH_MAX_BACKING_RATIO * batch.length) {
        bytes = Buffer.from(batch);
        retained = batch.length;
      } else {
        retained = backing.byteLength;
        this.lastBacking = backing;
      }
    }
    this.batches.push({ baseOffset, lastOffset, maxTimestamp, bytes, retained });
    this.totalBytes += batch.length;
    this.retainedBytes += retained;
    this.logEnd = lastOffset + 1;
    this.enforceMaxBytes();
    return { baseOffset, lastOffset, logEndOffset: this.logEnd };
  }

  read(offset: number, maxBytes: number, minOneBatch: boolean, maxOffset = Number.MAX_SAFE_INTEGER): ReadResult {
    if (offset < this.logStart || offset > this.logEnd) throw new OffsetOutOfRangeError(offset, this.logStart, this.logEnd);
    if (offset === this.logEnd || offset >= maxOffset) return EMPTY_READ;
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (let i = this.indexOf(offset); i < this.batches.length; i++) {
      const stored = this.batches[i] as StoredBatch;
      if (stored.baseOffset >= maxOffset) break;
      const b = stored.bytes;
      const forced = minOneBatch && chunks.length === 0;
      if (bytes + b.length > maxBytes && !forced) break;
      chunks.push(b);
      bytes += b.length;
    }
    return { chunks, bytes };
  }

  offsetForTimestamp(timestamp: number): TimestampLookup | null {
    for (let i = this.head; i < this.batches.length; i++) {
      const b = this.batches[i] as StoredBatch;
      if (b.maxTimestamp >= timestamp) return { offset: Math.max(b.baseOffset, this.logStart), timestamp: b.maxTimestamp };
    }
    return null;
  }

  maxTimestamp(): TimestampLookup | null {
    let best: StoredBatch | null = null;
    for (let i = this.head; i < this.batches.length; i++) {
      const b = this.batches[i] as StoredBatch;
      if (b.maxTimestamp > (best?.maxTimestamp ?? NO_TIMESTAMP)) best = b;
    }
    return best === null ? null : { offset: Math.max(best.baseOffset, this.logStart), timestamp: best.maxTimestamp };
  }

  /** Memory has no file: appended bytes are as written as they will ever be. */
  written(): Promise<void> {
    return Promise.resolve();
  }

  isWritten(): boolean {
    return true;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  advanceLogStartOffset(offset: number): void {
    if (offset > this.logEnd) throw new OffsetOutOfRangeError(offset, this.logStart, this.logEnd);
    if (offset <= this.logStart) return;
    this.logStart = offset;
    while (this.head < this.batches.length && (this.batches[this.head] as StoredBatch).lastOffset < offset) this.dropHead();
    this.releaseDroppedSlots();
  }

  /** Retention with each batch standing for a segment; the newest batch always stays. */
  applyRetention(limits: RetentionLimits): RetentionResult {
    let deletedSegments = 0;
    let deletedBytes = 0;
    const live = (): number => this.batches.length - this.head;
    const deleteOldest = (): void => {
      const dropped = this.dropHead();
      deletedSegments++;
      deletedBytes += dropped.bytes.length;
    };
    if (limits.retentionMs >= 0) {
      const cutoff = limits.now - limits.retentionMs;
      // A batch without a timestamp has no age here (no file time to fall back on): it stops the scan.
      const expired = (b: StoredBatch): boolean => b.maxTimestamp !== NO_TIMESTAMP && b.maxTimestamp < cutoff;
      while (live() > 1 && expired(this.batches[this.head] as StoredBatch)) deleteOldest();
    }
    if (limits.retentionBytes >= 0) {
      while (live() > 1 && this.totalBytes - (this.batches[this.head] as StoredBatch).bytes.length >= limits.retentionBytes) deleteOldest();
    }
    if (deletedSegments > 0) {
      this.logStart = Math.max(this.logStart, (this.batches[this.head] as StoredBatch).baseOffset);
      this.releaseDroppedSlots();
    }
    return { deletedSegments, deletedBytes, logStartOffset: this.logStart };
  }

  sizeBytes(): number {
    return this.totalBytes;
  }

  /**
   * One log-compaction pass with each batch standing for a segment: every live batch but the newest,
   * up to the first one newer than min.compaction.lag.ms. Rewritten batches replace the originals in
   * one synchronous step; batches left empty are removed. Only batches below the last stable offset
   * are cleaned. See src/storage/cleaner/compactor.ts.
   */
  async compact(settings: CompactionSettings): Promise<CompactionResult> {
    const firstDirty = Math.max(this.cleanedUpTo, this.logStart);
    const lagCutoff = settings.now - settings.minCompactionLagMs;
    // Nothing at or past the last stable offset: an open transaction's fate is unknown.
    const lastStable = this.lastStableOffset();
    const candidates: StoredBatch[] = [];
    const units: CleanableUnit[] = [];
    for (let i = this.head; i < this.batches.length - 1; i++) {
      const b = this.batches[i] as StoredBatch;
      const endOffset = (this.batches[i + 1] as StoredBatch).baseOffset;
      if (b.maxTimestamp > lagCutoff || endOffset > lastStable) break;
      candidates.push(b);
      units.push({ baseOffset: b.baseOffset, endOffset, bytes: b.bytes });
    }
    const last = units[units.length - 1];
    const txns = last === undefined ? undefined : cleanerTransactionsOf(this.producers, (units[0] as CleanableUnit).baseOffset, last.endOffset);
    const plan = await planCleaning(units, firstDirty, settings, txns);
    if (plan === null) return { cleaned: false, cleanedUpTo: firstDirty, segmentsRewritten: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
    // Appends only add at the end and retention only drops from the front, so the candidates still
    // live are found by identity.
    const replacement = new Map<StoredBatch, Buffer>();
    for (const [i, bytes] of plan.rewrites) replacement.set(candidates[i] as StoredBatch, bytes);
    let bytesBefore = 0;
    let bytesAfter = 0;
    let segmentsRewritten = 0;
    const next: StoredBatch[] = [];
    for (let i = this.head; i < this.batches.length; i++) {
      const b = this.batches[i] as StoredBatch;
      const bytes = replacement.get(b);
      if (bytes === undefined) {
        next.push(b);
        continue;
      }
      segmentsRewritten++;
      bytesBefore += b.bytes.length;
      bytesAfter += bytes.length;
      this.totalBytes += bytes.length - b.bytes.length;
      this.retainedBytes += bytes.length - b.retained;
      if (bytes.length > 0) next.push({ baseOffset: b.baseOffset, lastOffset: b.lastOffset, maxTimestamp: b.maxTimestamp, bytes, retained: bytes.length });
    }
    this.batches = next;
    this.head = 0;
    this.cleanedUpTo = Math.max(this.cleanedUpTo, plan.cleanedUpTo);
    return { cleaned: true, cleanedUpTo: plan.cleanedUpTo, segmentsRewritten, recordsRemoved: plan.recordsRemoved, bytesBefore, bytesAfter, reason: plan.reason, oldestTombstoneTimestamp: plan.oldestTombstoneTimestamp };
  }

  /** Index of the batch containing `offset` (largest base offset <= it), among live batches. */
  private indexOf(offset: number): number {
    let lo = this.head;
    let hi = this.batches.length - 1;
    let found = this.head;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.batches[mid] as StoredBatch).baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private enforceMaxBytes(): void {
    // Always keep the newest batch, even if it alone exceeds the bound.
    while (this.retainedBytes > this.maxBytes && this.batches.length - this.head > 1) {
      const dropped = this.dropHead();
      this.logStart = Math.max(this.logStart, dropped.lastOffset + 1);
    }
    this.releaseDroppedSlots();
  }

  private dropHead(): StoredBatch {
    const b = this.batches[this.head] as StoredBatch;
    this.totalBytes -= b.bytes.length;
    this.retainedBytes -= b.retained;
    this.head++;
    return b;
  }

  /** Release dropped slots once they are half the array, keeping removal amortised O(1). */
  private releaseDroppedSlots(): void {
    this.producers.onLogStartAdvanced(this.logStart);
    if (this.head > 0 && this.head * 2 >= this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
  }
}
