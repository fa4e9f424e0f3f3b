import { BATCH_OVERHEAD_BYTES, type PendingRecord } from './pending-record.js';

/**
 * The records of one topic-partition that travel in one magic-2 record batch. Open while records
 * are appended; closed when full or taken by the sender. Its bytes are built once, on first send,
 * and reused by every retry so a retried batch is byte for byte what was tried before.
 */
export class ProducerBatch {
  /** Bounded by batchSize: only a batch's first record may take it past that. */
  readonly records: PendingRecord[] = [];
  /** Estimated size: an upper bound of the uncompressed batch. */
  sizeBytes = BATCH_OVERHEAD_BYTES;
  closed = false;
  /** Produce attempts so far. */
  attempts = 0;
  /** Clock time before which a failed batch is not retried. */
  retryAt = 0;
  lastError: Error | null = null;
  built: Buffer | null = null;
  /**
   * Idempotence: the producer id, epoch and first sequence the batch carries (-1 until it is first
   * drained; a retry resends them unchanged). `drainOrder` ranks the partition's batches in sequence
   * order, so retries go back into the queue in that order.
   */
  producerId = -1;
  producerEpoch = -1;
  baseSequence = -1;
  drainOrder = -1;
  /**
   * Sent and without a definite answer (no response, or a lost connection): the broker may hold it,
   * so it must never be resent under another producer id, epoch or sequence.
   */
  mayBeWritten = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdAt: number,
  ) {}

  /** When the batch expires: its oldest record's deadline (records join in send order). */
  get deadline(): number {
    return this.records[0]?.deadline ?? Number.POSITIVE_INFINITY;
  }

  /** Bytes of buffer memory the batch's records hold. */
  get reservedBytes(): number {
    let n = 0;
    for (const r of this.records) n += r.size;
    return n;
  }

  /** Would `size` more bytes still fit? An empty batch takes any one record, however large. */
  fits(size: number, batchSize: number): boolean {
    return !this.closed && (this.records.length === 0 || this.sizeBytes + size <= batchSize);
  }

  append(record: PendingRecord): void {
    this.records.push(record);
    this.sizeBytes += record.size;
  }
}
