/** Kafka's transaction states, by the names DescribeTransactions and ListTransactions use. */
export type TransactionState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead' | 'PrepareEpochFence';

export const TRANSACTION_STATES: readonly TransactionState[] = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'];

/** RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH. */
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;

/** Short.MaxValue: the coordinator keeps the last epoch for itself so it can always fence a producer. */
export const PRODUCER_EPOCH_MAX = 32767;

/**
 * The transaction version a client drove the transaction with (KIP-890): 0 before part 2, 2 when the
 * epoch is bumped at every transaction end (EndTxn v5+, AddPartitionsToTxn v4+ from a partition leader).
 */
export const TRANSACTION_VERSION_2 = 2;

/** Kafka's TransactionMetadata.isEpochExhausted: a client may never hold Short.MaxValue. */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= PRODUCER_EPOCH_MAX - 1;
}

/**
 * One transactional id's state, as Kafka 3.x/4.x TransactionMetadata holds it. Fjord has no pending
 * state: the runtime persists every record the coordinator emits before it answers, so a transition is
 * applied when it is decided.
 */
export class TransactionMetadata {
  /** Producer id of the last committed transaction, or of the id before a rotation (KIP-360 retries). */
  previousProducerId = NO_PRODUCER_ID;
  /** Set while a TV2 transaction that exhausted the epoch is completing: the id it continues with. */
  nextProducerId = NO_PRODUCER_ID;
  /** The epoch before the last InitProducerId bump, so a retried InitProducerId gets the same answer. Not persisted (as in Kafka). */
  lastProducerEpoch = NO_PRODUCER_EPOCH;
  state: TransactionState = 'Empty';
  /** topic → partitions in the current transaction. */
  readonly topicPartitions = new Map<string, Set<number>>();
  txnStartTimestamp = -1;
  clientTransactionVersion = 0;

  constructor(
    readonly transactionalId: string,
    public producerId: number,
    public producerEpoch: number,
    public txnTimeoutMs: number,
    public txnLastUpdateTimestamp: number,
  ) {}

  hasPartition(topic: string, partition: number): boolean {
    return this.topicPartitions.get(topic)?.has(partition) ?? false;
  }

  addPartition(topic: string, partition: number): void {
    let set = this.topicPartitions.get(topic);
    if (set === undefined) {
      set = new Set();
      this.topicPartitions.set(topic, set);
    }
    set.add(partition);
  }

  /** The partitions, sorted by topic then partition, so records and responses are deterministic. */
  partitionList(): Array<{ topic: string; partition: number }> {
    const out: Array<{ topic: string; partition: number }> = [];
    for (const topic of [...this.topicPartitions.keys()].sort()) {
      for (const partition of [...this.topicPartitions.get(topic)!].sort((a, b) => a - b)) out.push({ topic, partition });
    }
    return out;
  }

  partitionCount(): number {
    let n = 0;
    for (const s of this.topicPartitions.values()) n += s.size;
    return n;
  }

  isProducerEpochExhausted(): boolean {
    return isEpochExhausted(this.producerEpoch);
  }

  /** Empty, CompleteCommit and CompleteAbort may expire (Kafka's isExpirationAllowed). */
  isExpirationAllowed(): boolean {
    return this.state === 'Empty' || this.state === 'CompleteCommit' || this.state === 'CompleteAbort';
  }
}
