import type { Consumer } from './consumer/consumer.js';
import type { ConsumerRecord, TopicPartitionOffset } from './consumer/consumer-record.js';
import { ClientError, KafkaProtocolError } from './errors.js';
import type { Producer, ProducerRecord, TransactionOffset } from './producer/types.js';

/** What transform returns for one input record: nothing, one output record, or several. */
export type TransformResult<K, V> = ProducerRecord<K, V> | readonly ProducerRecord<K, V>[] | null | undefined;

export interface TransactionalCopyOptions<KI, VI, KO, VO> {
  /**
   * A consumer with a groupId, enableAutoCommit: false and isolationLevel 'read_committed',
   * already subscribed (or assigned). Its offsets are committed only through the transactions.
   */
  readonly consumer: Consumer<KI, VI>;
  /** A producer with a transactionalId; initTransactions() is called here if it was not yet. */
  readonly producer: Producer<KO, VO>;
  /** Maps each input record to the records to write. May be async. */
  readonly transform: (record: ConsumerRecord<KI, VI>) => TransformResult<KO, VO> | Promise<TransformResult<KO, VO>>;
  /** Input records per transaction at most (one poll). Default 500. */
  readonly maxRecordsPerTransaction?: number;
  /** poll() timeout while waiting for input. Default 1000. */
  readonly pollTimeoutMs?: number;
  /** Stops the loop after the transaction under way (checked between transactions). */
  readonly signal?: AbortSignal;
  /** Stop once this many input records were committed (tests, batch jobs). */
  readonly maxRecords?: number;
  /** Called after each committed transaction. */
  readonly onCommit?: (info: { readonly records: number; readonly offsets: readonly TransactionOffset[] }) => void;
  /** Whether initTransactions() was already called on the producer. Default false. */
  readonly producerInitialized?: boolean;
}

export interface TransactionalCopyResult {
  /** Input records whose transaction committed. */
  readonly records: number;
  readonly committedTransactions: number;
  readonly abortedTransactions: number;
}

const ignore = (): void => {};

/** Fencing and authorization: another producer owns the transactional id; nothing this loop can fix. */
function isFatal(err: unknown): boolean {
  if (err instanceof KafkaProtocolError) {
    return ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'INVALID_PRODUCER_ID_MAPPING', 'CLUSTER_AUTHORIZATION_FAILED', 'FENCED_INSTANCE_ID'].includes(err.code);
  }
  return err instanceof ClientError && (err.code === 'CLIENT_CLOSED' || err.code === 'ILLEGAL_STATE' || err.code === 'UNSUPPORTED_VERSION');
}

/**
 * The consume-transform-produce loop with exactly-once output (Kafka's "read-process-write"): each
 * poll's records are transformed and written in one transaction together with the consumer's next
 * offsets (sendOffsetsToTransaction), so output and progress commit or abort together. After an
 * abort (a failed send, a rebalance that fenced the group generation) the consumer is rewound to
 * where the transaction's input began and those records are processed again. Fatal errors (another instance took
 * the transactional id) end the loop by throwing; so does an error thrown by transform, after the
 * transaction is aborted.
 */
export async function runTransactionalCopy<KI, VI, KO, VO>(o: TransactionalCopyOptions<KI, VI, KO, VO>): Promise<TransactionalCopyResult> {
  const { consumer, producer } = o;
  const maxPoll = o.maxRecordsPerTransaction ?? 500;
  const pollTimeoutMs = o.pollTimeoutMs ?? 1_000;
  if (o.producerInitialized !== true) await producer.initTransactions();
  let records = 0;
  let committedTransactions = 0;
  let abortedTransactions = 0;
  while (o.signal?.aborted !== true && (o.maxRecords === undefined || records < o.maxRecords)) {
    const input = await consumer.poll({ maxRecords: maxPoll, timeoutMs: pollTimeoutMs });
    if (input.length === 0) continue;
    producer.beginTransaction();
    const next = new Map<string, TransactionOffset>();
    const starts = new Map<string, TopicPartitionOffset>();
    for (const r of input) {
      const key = `${r.topic}\u0000${r.partition}`;
      if (!starts.has(key)) starts.set(key, { topic: r.topic, partition: r.partition, offset: r.offset });
    }
    try {
      for (const r of input) {
        const out = await o.transform(r);
        if (out !== null && out !== undefined) {
          const list = Array.isArray(out) ? (out as readonly ProducerRecord<KO, VO>[]) : [out as ProducerRecord<KO, VO>];
          // A failed send makes the transaction abortable: commitTransaction reports it, so the
          // promise itself only needs a handler (transform may await between sends).
          for (const rec of list) producer.send(rec).catch(ignore);
        }
        next.set(`${r.topic}\u0000${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1n, ...(r.leaderEpoch === undefined ? {} : { leaderEpoch: r.leaderEpoch }) });
      }
      const offsets = [...next.values()];
      await producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
      // commitTransaction flushes; a failed send fails the commit.
      await producer.commitTransaction();
      records += input.length;
      committedTransactions++;
      o.onCommit?.({ records: input.length, offsets });
    } catch (err) {
      if (isFatal(err)) throw err;
      await producer.abortTransaction();
      abortedTransactions++;
      rewind(consumer, starts);
      if (!(err instanceof KafkaProtocolError || err instanceof ClientError)) throw err; // the transform's own error
    }
  }
  return { records, committedTransactions, abortedTransactions };
}

/** Back to where this transaction's input started, for the partitions still assigned: they are read again. */
function rewind<K, V>(consumer: Consumer<K, V>, starts: ReadonlyMap<string, TopicPartitionOffset>): void {
  const assigned = new Set(consumer.assignment().map((tp) => `${tp.topic}\u0000${tp.partition}`));
  for (const [key, tp] of starts) if (assigned.has(key)) consumer.seek({ topic: tp.topic, partition: tp.partition }, tp.offset);
}
