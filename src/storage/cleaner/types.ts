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
}

export interface CompactionResult {
  /** False when nothing was cleanable or the dirty ratio was below the threshold. */
  readonly cleaned: boolean;
  /** The offset up to which the log is now clean (the next pass's first dirty offset). */
  readonly cleanedUpTo: number;
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** Kafka's default log.cleaner.dedupe.buffer.size (128 MiB). */
export const DEFAULT_DEDUPE_BUFFER_BYTES = 128 * 1024 * 1024;
/** What one map entry costs against the dedupe buffer, besides its key bytes (Kafka: 16-byte hash + 8-byte offset). */
export const DEDUPE_ENTRY_OVERHEAD_BYTES = 24;
