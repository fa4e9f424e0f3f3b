import type { AbortedTransaction } from '../producer-state/producer-state.js';

/** Settings of one compaction pass, resolved from the topic's effective configs by the caller. */
export interface CompactionSettings {
  /** Clock time of the pass, ms since the epoch. */
  readonly now: number;
  /** min.cleanable.dirty.ratio: clean only when dirty bytes / cleanable bytes >= this. */
  readonly minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: a segment whose largest timestamp is newer than now - lag is not cleaned. */
  readonly minCompactionLagMs: number;
  /** delete.retention.ms: a tombstone goes once its batch's max timestamp is older than now - this. */
  readonly deleteRetentionMs: number;
  /** log.cleaner.dedupe.buffer.size: bound of the key -> latest offset map, in bytes (see DEDUPE_ENTRY_OVERHEAD_BYTES). */
  readonly dedupeBufferBytes: number;
  /**
   * max.compaction.lag.ms (KIP-354): clean even below minCleanableDirtyRatio when the first batch of a
   * dirty cleanable unit has a max timestamp older than now - this. Absent: no such bound.
   */
  readonly maxCompactionLagMs?: number;
  /**
   * Clean even below the ratio and with nothing dirty, so that tombstones past delete.retention.ms go
   * without new writes. The scheduler sets it when a previous pass reported a tombstone now due.
   */
  readonly expireTombstones?: boolean;
}

/** Why a pass cleaned: the dirty ratio, max.compaction.lag.ms, or tombstones due to expire. */
export type CleaningReason = 'dirty-ratio' | 'max-compaction-lag' | 'tombstones';

export interface CompactionResult {
  /** False when nothing was cleanable or the dirty ratio was below the threshold. */
  readonly cleaned: boolean;
  /** The offset up to which the log is now clean (the next pass's first dirty offset). */
  readonly cleanedUpTo: number;
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Set when the pass cleaned. */
  readonly reason?: CleaningReason;
  /**
   * Set when the pass cleaned: the max timestamp of the oldest cleanable batch below cleanedUpTo that
   * still holds a tombstone, or is a COMMIT marker a later pass may remove (its transaction's data is
   * gone), or NO_TIMESTAMP (-1) when none does. Once it is older than now - delete.retention.ms a pass
   * with expireTombstones will remove something.
   */
  readonly oldestTombstoneTimestamp?: number;
}

/** Kafka's default log.cleaner.dedupe.buffer.size (128 MiB). */
export const DEFAULT_DEDUPE_BUFFER_BYTES = 128 * 1024 * 1024;
/** What one map entry costs against the dedupe buffer, besides its key bytes (Kafka: 16-byte hash + 8-byte offset). */
export const DEDUPE_ENTRY_OVERHEAD_BYTES = 24;

/** A producer's newest entry in the log, from its producer state (Kafka's lastRecordsOfActiveProducers). */
export interface ProducerLastRecord {
  /** Last offset of its last data batch; null when it has none since its current epoch began. */
  readonly lastDataOffset: number | null;
  readonly epoch: number;
}

/** What a pass needs to know about transactions (the inputs of Kafka's CleanedTransactionMetadata). */
export interface CleanerTransactions {
  /**
   * Aborted transactions whose records may lie in the cleanable units (Kafka reads them from the
   * .txnindex files). A transactional batch whose marker lies beyond the units is aborted when listed
   * here and committed otherwise: the units end at the last stable offset, so none is still open.
   */
  readonly aborted: readonly AbortedTransaction[];
  /**
   * By producer id. The batch holding a producer's last data offset is kept, emptied of its records if
   * need be, and so is its last marker when it has no data batch since: a log replayed without a
   * producer-state snapshot still yields its epoch and last sequence.
   */
  readonly lastRecords: ReadonlyMap<number, ProducerLastRecord>;
}

export const NO_TRANSACTIONS: CleanerTransactions = Object.freeze({ aborted: [], lastRecords: new Map<number, ProducerLastRecord>() });
