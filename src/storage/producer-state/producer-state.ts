import { ErrorCode } from '../../protocol/errors.js';

/**
 * Per-partition producer state: what makes idempotent and transactional produce work (KIP-98).
 * For every producer id that wrote to the partition it keeps the epoch, the last
 * BATCHES_PER_PRODUCER batches' sequence ranges and offsets (so an exact retry is answered with the
 * original offsets instead of being written twice), and the first offset of its open transaction.
 * From the open transactions follows the last stable offset (LSO); completed aborted transactions are
 * listed for read_committed fetches (Kafka's aborted transaction index).
 *
 * Pure bookkeeping: the engines call `check` before an append and `onAppend` / `onMarker` after it,
 * and rebuild the state at start-up from a snapshot plus a replay of the batches after it.
 */

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
/** Kafka keeps the metadata of a producer's last five batches: max.in.flight.requests.per.connection. */
export const BATCHES_PER_PRODUCER = 5;
/**
 * Producers remembered per partition. Kafka expires them after producer.id.expiration.ms; a bound
 * keeps a stream of one-shot producers from growing the map without limit. Beyond it the producer
 * that wrote least recently and has no open transaction is forgotten.
 */
export const PRODUCERS_PER_PARTITION_MAX = 20_000;
/** Aborted transactions remembered per partition (beyond it the oldest go: their records are long gone). */
export const ABORTED_TRANSACTIONS_MAX = 100_000;

const INT32_MAX = 0x7fff_ffff;

export interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestamp: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  epoch: number;
  /** Oldest first; at most BATCHES_PER_PRODUCER. */
  batches: BatchMetadata[];
  /** First offset of the open transaction, or -1. */
  currentTxnFirstOffset: number;
  coordinatorEpoch: number;
  lastTimestamp: number;
}

export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
  /** The offset of the abort marker. */
  readonly lastOffset: number;
  /** The LSO right after the marker (Kafka keeps it in the index entry). */
  readonly lastStableOffset: number;
}

/** The producer fields of a magic-2 batch header. */
export interface ProducerBatch {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** lastOffsetDelta: records in the batch minus one (a produced batch has no gaps). */
  readonly lastOffsetDelta: number;
  readonly isTransactional: boolean;
  readonly maxTimestamp: number;
}

export type CheckResult =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly firstOffset: number; readonly lastOffset: number }
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string };

const APPEND: CheckResult = Object.freeze({ kind: 'append' });

/** A produce refused by the producer-state checks; the engines throw it from append(). */
export class ProducerStateError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  // Sequences wrap from Int32.MAX to 0.
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

function lastSeqOf(batch: ProducerBatch): number {
  const last = batch.baseSequence + batch.lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Producer id -> first offset of its open transaction. */
  private readonly ongoing = new Map<number, number>();
  /** Ordered by lastOffset (markers are appended in offset order). */
  private aborted: AbortedTransaction[] = [];

  constructor(readonly topicPartition: string) {}

  get size(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  /**
   * Kafka's produce-time checks (ProducerAppendInfo), in its order: an older epoch is fenced; an exact
   * retry of a remembered batch is a duplicate; a new epoch must start at sequence 0; otherwise the
   * sequence must follow the last one. A producer the partition has never seen must start at 0
   * (UNKNOWN_PRODUCER_ID otherwise, as Kafka answered before KIP-360 let it accept any sequence: here
   * the state survives restarts through snapshots, so an unknown producer with a later sequence means
   * lost state, and the client should reset rather than have a gap accepted silently).
   */
  check(batch: ProducerBatch): CheckResult {
    if (batch.producerId === NO_PRODUCER_ID) {
      if (batch.isTransactional) return { kind: 'error', errorCode: ErrorCode.INVALID_RECORD, message: 'A transactional batch needs a producer id' };
      return APPEND;
    }
    const firstSeq = batch.baseSequence;
    const entry = this.producers.get(batch.producerId);
    if (entry === undefined) {
      if (firstSeq !== 0) {
        return {
          kind: 'error',
          errorCode: ErrorCode.UNKNOWN_PRODUCER_ID,
          message: `${this.topicPartition}: no state for producer ${batch.producerId}, whose first batch here has sequence ${firstSeq}`,
        };
      }
      return APPEND;
    }
    if (batch.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `${this.topicPartition}: producer ${batch.producerId} epoch ${batch.producerEpoch} is older than the current ${entry.epoch}`,
      };
    }
    if (batch.producerEpoch === entry.epoch) {
      const lastSeq = lastSeqOf(batch);
      for (const b of entry.batches) {
        if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return { kind: 'duplicate', firstOffset: b.firstOffset, lastOffset: b.lastOffset };
      }
      const last = entry.batches[entry.batches.length - 1];
      const currentLast = last === undefined ? NO_SEQUENCE : last.lastSeq;
      if (!inSequence(currentLast, firstSeq)) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `${this.topicPartition}: out of order sequence ${firstSeq} for producer ${batch.producerId} (last sequence ${currentLast})`,
        };
      }
    } else if (firstSeq !== 0 && entry.epoch !== NO_PRODUCER_EPOCH) {
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `${this.topicPartition}: new epoch ${batch.producerEpoch} of producer ${batch.producerId} starts at sequence ${firstSeq}, not 0`,
      };
    }
    if (!batch.isTransactional && entry.currentTxnFirstOffset >= 0) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `${this.topicPartition}: producer ${batch.producerId} has an open transaction and sent a non-transactional batch`,
      };
    }
    return APPEND;
  }

  /** Record an appended batch (after `check`, or during replay, where nothing is checked). */
  onAppend(batch: ProducerBatch, firstOffset: number): void {
    if (batch.producerId === NO_PRODUCER_ID) return;
    let entry = this.producers.get(batch.producerId);
    if (entry === undefined) {
      this.makeRoom();
      entry = { producerId: batch.producerId, epoch: batch.producerEpoch, batches: [], currentTxnFirstOffset: -1, coordinatorEpoch: -1, lastTimestamp: batch.maxTimestamp };
      this.producers.set(batch.producerId, entry);
    } else if (batch.producerEpoch !== entry.epoch) {
      entry.epoch = batch.producerEpoch;
      entry.batches = [];
    }
    if (batch.baseSequence !== NO_SEQUENCE) {
      entry.batches.push({ firstSeq: batch.baseSequence, lastSeq: lastSeqOf(batch), firstOffset, lastOffset: firstOffset + batch.lastOffsetDelta, timestamp: batch.maxTimestamp });
      if (entry.batches.length > BATCHES_PER_PRODUCER) entry.batches.shift();
    }
    entry.lastTimestamp = Math.max(entry.lastTimestamp, batch.maxTimestamp);
    if (batch.isTransactional && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = firstOffset;
      this.ongoing.set(batch.producerId, firstOffset);
    }
  }

  /** A transaction marker may be written unless it comes from a fenced (older) epoch. */
  checkMarker(producerId: number, producerEpoch: number): CheckResult {
    const entry = this.producers.get(producerId);
    if (entry !== undefined && producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `${this.topicPartition}: marker for producer ${producerId} with epoch ${producerEpoch}, older than ${entry.epoch}`,
      };
    }
    return APPEND;
  }

  /**
   * Record a COMMIT or ABORT marker at `offset`: the producer's open transaction (if any) ends.
   * Returns the aborted transaction to add to the index, if this was an abort of an open transaction.
   */
  onMarker(producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch: number, offset: number, timestamp: number, logEndOffset: number): AbortedTransaction | null {
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      this.makeRoom();
      entry = { producerId, epoch: producerEpoch, batches: [], currentTxnFirstOffset: -1, coordinatorEpoch, lastTimestamp: timestamp };
      this.producers.set(producerId, entry);
    }
    if (producerEpoch > entry.epoch) {
      // KIP-890: markers may carry the bumped epoch; the producer starts its next epoch at sequence 0.
      entry.epoch = producerEpoch;
      entry.batches = [];
    }
    entry.coordinatorEpoch = coordinatorEpoch;
    entry.lastTimestamp = Math.max(entry.lastTimestamp, timestamp);
    const firstOffset = entry.currentTxnFirstOffset;
    entry.currentTxnFirstOffset = -1;
    this.ongoing.delete(producerId);
    if (commit || firstOffset < 0) return null;
    const abortedTxn: AbortedTransaction = { producerId, firstOffset, lastOffset: offset, lastStableOffset: this.lastStableOffset(logEndOffset) };
    this.addAborted(abortedTxn);
    return abortedTxn;
  }

  /** The first offset no read_committed consumer may pass: the oldest open transaction's start. */
  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark;
    for (const first of this.ongoing.values()) if (first < lso) lso = first;
    return lso;
  }

  /** Open transactions (producer id -> first offset), for DescribeProducers. */
  openTransactionStart(producerId: number): number {
    return this.ongoing.get(producerId) ?? -1;
  }

  addAborted(txn: AbortedTransaction): void {
    const last = this.aborted[this.aborted.length - 1];
    if (last !== undefined && last.lastOffset >= txn.lastOffset) {
      if (this.aborted.some((a) => a.lastOffset === txn.lastOffset)) return;
      this.aborted.push(txn);
      this.aborted.sort((a, b) => a.lastOffset - b.lastOffset);
    } else {
      this.aborted.push(txn);
    }
    if (this.aborted.length > ABORTED_TRANSACTIONS_MAX) this.aborted.shift();
  }

  /** Aborted transactions whose records may lie in [from, upTo): Kafka's collectAbortedTxns. */
  abortedTransactions(from: number, upTo: number): AbortedTransaction[] {
    const out: AbortedTransaction[] = [];
    // Binary search for the first entry whose marker is at or after `from`.
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.aborted[mid] as AbortedTransaction).lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i] as AbortedTransaction;
      if (a.firstOffset < upTo) out.push(a);
    }
    return out;
  }

  allAborted(): readonly AbortedTransaction[] {
    return this.aborted;
  }

  /** Forget aborted transactions wholly below the log start (their records are gone). */
  onLogStartAdvanced(logStartOffset: number): void {
    let drop = 0;
    while (drop < this.aborted.length && (this.aborted[drop] as AbortedTransaction).lastOffset < logStartOffset) drop++;
    if (drop > 0) this.aborted = this.aborted.slice(drop);
  }

  /** Forget a producer entirely (its only appends were rolled back after a failed write). */
  forget(producerId: number): void {
    this.producers.delete(producerId);
    this.ongoing.delete(producerId);
  }

  /** Restore one producer from a snapshot. */
  restore(entry: ProducerEntry): void {
    this.producers.set(entry.producerId, entry);
    if (entry.currentTxnFirstOffset >= 0) this.ongoing.set(entry.producerId, entry.currentTxnFirstOffset);
    else this.ongoing.delete(entry.producerId);
  }

  private makeRoom(): void {
    if (this.producers.size < PRODUCERS_PER_PARTITION_MAX) return;
    let victim: ProducerEntry | undefined;
    for (const e of this.producers.values()) {
      if (e.currentTxnFirstOffset >= 0) continue;
      if (victim === undefined || e.lastTimestamp < victim.lastTimestamp) victim = e;
    }
    if (victim !== undefined) this.producers.delete(victim.producerId);
  }
}
