/**
 * The storage contract the broker depends on. Two engines implement it: an in-memory one (for tests
 * and the embedded broker) and the on-disk one (Kafka-format segments). Both pass one shared suite.
 *
 * Offsets are JavaScript numbers: exact up to 2^53, far beyond any offset a partition will reach.
 * The wire codec carries them as bigint; handlers convert at the edge.
 */

import type { CompactionResult, CompactionSettings } from './cleaner/types.js';
import type { AbortedTransaction, ProducerStateManager } from './producer-state/producer-state.js';

export { ProducerStateError } from './producer-state/producer-state.js';
export type { AbortedTransaction } from './producer-state/producer-state.js';

/** What one stored batch looks like from outside: enough to answer Produce without re-reading it. */
export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The log end offset after this append (lastOffset + 1). */
  readonly logEndOffset: number;
  /**
   * True when the batch was an exact retry of one of its producer's last five (same producer id, epoch
   * and sequence range): nothing was written, and the offsets are those of the original.
   */
  readonly duplicate?: boolean;
}

/** A COMMIT or ABORT marker to write for one producer's transaction (WriteTxnMarkers). */
export interface TransactionMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
}

export interface ReadResult {
  /**
   * Whole record batches (magic 2) as stored, starting with the batch that contains the requested
   * offset. Slices of a read buffer: never one object per record.
   */
  readonly chunks: Buffer[];
  readonly bytes: number;
}

export interface TimestampLookup {
  readonly offset: number;
  readonly timestamp: number;
}

/** What applyRetention is given: Kafka's retention.ms / retention.bytes, already resolved for the topic. */
export interface RetentionLimits {
  /** Clock time of the check, in milliseconds since the epoch. */
  readonly now: number;
  /** Delete segments whose largest timestamp is older than now - retentionMs; negative means unlimited. */
  readonly retentionMs: number;
  /** Delete the oldest segments while the rest still hold at least this many bytes; negative means unlimited. */
  readonly retentionBytes: number;
}

export interface RetentionResult {
  /** Whole segments deleted (batches, in the memory engine). */
  readonly deletedSegments: number;
  readonly deletedBytes: number;
  /** The log start offset after the check. */
  readonly logStartOffset: number;
}

export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  logStartOffset(): number;
  /** Next offset to be assigned. On a single node the high watermark equals it. */
  logEndOffset(): number;
  /**
   * Append one validated magic-2 batch. The log writes its base offset (bytes 0-7) in place;
   * everything else is stored byte for byte. Synchronous so appends to one partition are ordered.
   * The log may keep `batch` itself rather than a copy (the memory engine stores it, the disk engine
   * queues it until its write), so the caller must not change or reuse the buffer afterwards.
   * Batches with a producer id go through the idempotence checks (src/storage/producer-state/): an
   * exact retry returns the original offsets with `duplicate`, a refused batch throws
   * ProducerStateError with Kafka's error code (OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH,
   * UNKNOWN_PRODUCER_ID, INVALID_TXN_STATE).
   */
  append(batch: Buffer): AppendResult;
  /** Write a transaction marker (control batch); throws ProducerStateError for a fenced epoch. */
  appendMarker(marker: TransactionMarker): AppendResult;
  /** The first offset a read_committed consumer may not read: the start of the oldest open transaction, or the log end. */
  lastStableOffset(): number;
  /** Aborted transactions whose records may lie in [from, upTo), for read_committed fetches. */
  abortedTransactions(from: number, upTo: number): AbortedTransaction[];
  /** The producers that wrote here (DescribeProducers); read only. */
  producerState(): ProducerStateManager;
  /**
   * Read batches from `offset`, at most `maxBytes`, but when `minOneBatch` is true always at least one
   * whole batch even if it is larger (Kafka's KIP-74 rule). `offset` outside [logStart, logEnd] throws
   * OffsetOutOfRangeError; `offset == logEnd` returns no chunks. With `maxOffset` (the last stable
   * offset, for read_committed), no batch starting at or after it is returned.
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean, maxOffset?: number): ReadResult;
  /** First offset whose batch max timestamp >= ts, via the time index; null when none. */
  offsetForTimestamp(timestamp: number): TimestampLookup | null;
  /** Largest timestamp in the log and the offset of the batch holding it (ListOffsets MAX_TIMESTAMP). */
  maxTimestamp(): TimestampLookup | null;
  /**
   * Resolve once every byte appended before the call has been handed to the operating system (written,
   * not necessarily synced): from then on a crash of the broker process alone cannot lose it. The
   * acks=1 answer waits for this, so acks=1 keeps Kafka's promise of surviving a process crash.
   */
  written(): Promise<void>;
  /** True when written() would resolve at once: the Produce hot path then skips the promise. */
  isWritten(): boolean;
  /** Resolve once every byte appended before the call is durable (fdatasync). Calls share syncs. */
  flush(): Promise<void>;
  /** Move the log start offset forward (DeleteRecords); whole segments below it are deleted. */
  advanceLogStartOffset(offset: number): void;
  /**
   * Kafka's delete retention: drop whole segments, oldest first, never the active one. First those whose
   * largest timestamp is older than now - retentionMs (stopping at the first that is not), then, while
   * the log minus its oldest segment still holds >= retentionBytes, the oldest. The log start offset
   * moves to the first remaining segment's base offset (unless DeleteRecords already put it higher) and
   * is persisted as advanceLogStartOffset's is. The memory engine treats each batch as a segment.
   */
  applyRetention(limits: RetentionLimits): RetentionResult;
  /** Bytes in all segments, for DescribeLogDirs. */
  sizeBytes(): number;
  /** Kafka's log compaction, one pass (cleanup.policy=compact); see src/storage/cleaner/. */
  compact?(settings: CompactionSettings): Promise<CompactionResult>;
}

export interface TopicMetadata {
  readonly name: string;
  /** 16 bytes, as a UUID string (Kafka's base64 form is rendered by the tools, not stored). */
  readonly topicId: string;
  readonly partitions: number;
  /** Only the overrides set on this topic; defaults come from the broker config. */
  readonly configs: Readonly<Record<string, string>>;
}

export interface LogManagerOptions {
  /** Broker-wide defaults for segment handling; topic overrides win. */
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly indexIntervalBytes: number;
  /** Fsync policy for acks=0/1 appends (Kafka's flush.messages / flush.ms); acks=all always flushes. */
  readonly flushMessages: number;
  readonly flushMs: number;
}

export interface LogManager {
  /** Load metadata and recover partitions. Must be called once before anything else. */
  open(): Promise<void>;
  listTopics(): TopicMetadata[];
  getTopic(name: string): TopicMetadata | undefined;
  getTopicById(topicId: string): TopicMetadata | undefined;
  createTopic(name: string, partitions: number, configs: Record<string, string>, topicId: string): TopicMetadata;
  /**
   * createTopic for a large topic, in steps: between steps it awaits `pause()` (the broker passes
   * "let the event loop serve other connections"), so creating thousands of partitions, each a
   * directory and files created synchronously, does not stop the broker. The topic is invisible
   * (getTopic undefined) and its name taken (createTopic refuses it) until the promise resolves.
   */
  createTopicInSteps(name: string, partitions: number, configs: Record<string, string>, topicId: string, pause: () => Promise<void>): Promise<TopicMetadata>;
  deleteTopic(name: string): void;
  /** Grow a topic to `totalPartitions`. */
  addPartitions(name: string, totalPartitions: number): TopicMetadata;
  /** Replace the topic's overrides (validated by the caller) and persist them. */
  setTopicConfigs(name: string, configs: Record<string, string>): TopicMetadata;
  partition(topic: string, partition: number): PartitionLog | undefined;
  /**
   * Reserve `count` producer ids and return the first. The reservation is durable before this returns,
   * so ids are never handed out twice, even across a crash (Kafka's controller does this in KRaft).
   */
  allocateProducerIds(count: number): number;
  /** Flush everything, write the clean-shutdown marker, release files. */
  close(): Promise<void>;
}

export class OffsetOutOfRangeError extends Error {
  readonly code = 'OFFSET_OUT_OF_RANGE';
  constructor(readonly offset: number, readonly logStartOffset: number, readonly logEndOffset: number) {
    super(`Offset ${offset} is outside [${logStartOffset}, ${logEndOffset}]`);
  }
}
