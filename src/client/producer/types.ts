import type { ClientOptions } from '../client-options.js';
import type { Partitioner, PartitionRandom } from '../partitioner.js';
import type { Serializer } from '../serializers.js';
import type { ConsumerGroupMetadata } from '../group/consumer-coordinator.js';

/** Kafka's acks: 'all' (= -1) waits for the in-sync replicas, 1 for the leader, 0 for nothing. */
export type Acks = 'all' | -1 | 1 | 0;

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Record headers: an object (one value per name) or pairs (names may repeat, order is kept). */
export type ProducerHeaders = Readonly<Record<string, string | Buffer>> | ReadonlyArray<readonly [string, string | Buffer]>;

/** Producer settings. Names and defaults follow the Java client's, in camelCase. */
export interface ProducerOptions<K = Buffer | null, V = Buffer | null> extends ClientOptions {
  /** Default 'all'. */
  readonly acks?: Acks;
  /** How long a batch waits for more records before it is sent (linger.ms). Default 5. */
  readonly lingerMs?: number;
  /** A batch is closed once adding a record would take it past this many bytes (batch.size). Default 16384. */
  readonly batchSize?: number;
  /** Codec applied to each batch. Default 'none'. */
  readonly compression?: CompressionType;
  /** Produce requests awaiting a response, per broker (max.in.flight.requests.per.connection). Default 5. */
  readonly maxInFlight?: number;
  /** Retries of a failed batch (retries). Default 2147483647: in practice bounded by deliveryTimeoutMs. */
  readonly retries?: number;
  /** Wait before a failed batch is retried, and between metadata refreshes (retry.backoff.ms). Default 100. */
  readonly retryBackoffMs?: number;
  /**
   * Upper bound on the time from `send` to success or failure, retries included (delivery.timeout.ms).
   * Default 120000; must be at least lingerMs + requestTimeoutMs.
   */
  readonly deliveryTimeoutMs?: number;
  /** Bytes of records the producer holds before `send` waits for room (buffer.memory). Default 32 MiB. */
  readonly bufferMemory?: number;
  /** Largest Produce request, and so largest record, the producer sends (max.request.size). Default 1 MiB. */
  readonly maxRequestSize?: number;
  /** Chooses the partition of records sent without one. Default: murmur2 of the key; sticky for null keys. */
  readonly partitioner?: Partitioner;
  readonly keySerializer?: Serializer<K>;
  readonly valueSerializer?: Serializer<V>;
  /**
   * Producer id, epoch and per-partition sequence numbers on every batch, so the broker drops
   * retried duplicates and refuses gaps (enable.idempotence). Default true when acks is 'all' (and
   * maxInFlight <= 5, retries > 0), else false; true with other acks is a configuration error.
   */
  readonly idempotent?: boolean;
  /**
   * Makes the producer transactional (transactional.id): call initTransactions() once, then
   * beginTransaction() / send() / commitTransaction() or abortTransaction(). Implies idempotence.
   */
  readonly transactionalId?: string;
  /** The coordinator aborts a transaction left open this long (transaction.timeout.ms). Default 60000. */
  readonly transactionTimeoutMs?: number;
  /** Longest wait of initTransactions(), commitTransaction(), abortTransaction() and sendOffsetsToTransaction() (max.block.ms). Default 60000. */
  readonly maxBlockMs?: number;
  /** Random choices of the sticky partitioner; injected for deterministic tests. */
  readonly random?: PartitionRandom;
}

export interface ProducerRecord<K = Buffer | null, V = Buffer | null> {
  readonly topic: string;
  /** Omitted means a null key. */
  readonly key?: K;
  readonly value: V;
  readonly headers?: ProducerHeaders;
  /** Omitted: chosen by the partitioner. */
  readonly partition?: number;
  /** Milliseconds since the epoch; omitted means the producer's clock at `send`. */
  readonly timestamp?: number;
}

/** Where a record was written. `offset` is -1n with acks=0, where the broker does not answer. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** The record's timestamp, or the broker's append time for LogAppendTime topics. */
  readonly timestamp: number;
}

export interface Producer<K = Buffer | null, V = Buffer | null> {
  /** Queue one record; resolves once the broker has it (as acks asks) or rejects when it cannot. */
  send(record: ProducerRecord<K, V>): Promise<RecordMetadata>;
  /** `send` for each record in order; resolves with their metadata in the same order. */
  sendBatch(records: readonly ProducerRecord<K, V>[]): Promise<RecordMetadata[]>;
  /** Send everything queued now, without lingering, and wait until each of those records is done. */
  flush(): Promise<void>;
  /** Refuse new records, flush, and close the connections. */
  close(): Promise<void>;
  /**
   * Transactional producers only: find the transaction coordinator and get the producer id and epoch
   * for transactionalId, fencing any earlier producer with the same id and completing (aborting) its
   * open transaction. Call once, before the first beginTransaction().
   */
  initTransactions(): Promise<void>;
  /** Start a transaction: records sent until commit or abort belong to it. */
  beginTransaction(): void;
  /**
   * Make the consumer group's offsets part of the transaction: they are committed if and only if the
   * transaction commits. `offsets` are the next positions to read (last consumed offset + 1).
   */
  sendOffsetsToTransaction(offsets: readonly TransactionOffset[], groupMetadata: ConsumerGroupMetadata): Promise<void>;
  /** Flush the transaction's records, then commit it. Fails (and the transaction must be aborted) if any of them failed. */
  commitTransaction(): Promise<void>;
  /** Drop records not yet sent, wait for those in flight, then abort the transaction. */
  abortTransaction(): Promise<void>;
}

/** One partition's offset for sendOffsetsToTransaction: the next offset the group should read. */
export interface TransactionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint | number;
  readonly metadata?: string | null;
  readonly leaderEpoch?: number;
}
