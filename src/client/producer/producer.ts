import type { Clock, TimerHandle } from '../../io/clock.js';
import { systemRandom } from '../../io/random.js';
import { ErrorCode } from '../../protocol/errors.js';
import { createCluster } from '../client-options.js';
import type { Cluster, TopicInfo } from '../cluster.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import { StickyPartitioner, partitionForKey, type Partitioner } from '../partitioner.js';
import { serializers, type Serializer } from '../serializers.js';
import { RecordAccumulator } from './accumulator.js';
import { BufferMemory } from './buffer-memory.js';
import { resolveProducerConfig, type ProducerConfig } from './config.js';
import { Deque } from './deque.js';
import { MetadataRefresher } from './metadata-refresher.js';
import { BATCH_OVERHEAD_BYTES, NO_HEADERS, estimateRecordSize, normalizeHeaders, PendingRecord, type RecordSink } from './pending-record.js';
import { FlushEpochs } from './flush-epochs.js';
import { SendBatchCall } from './send-batch-call.js';
import { Sender, deliveryTimeoutError } from './sender.js';
import { Idempotence, brokerProducerIdSource } from './idempotence.js';
import { TransactionManager } from './transaction-manager.js';
import type { ConsumerGroupMetadata } from '../group/consumer-coordinator.js';
import type { Producer, ProducerOptions, ProducerRecord, RecordMetadata, TransactionOffset } from './types.js';

/** Create a producer. Connections open lazily, on the first send. */
/**
 * `new Promise(executor)` hands its resolving functions to the executor; this one parks them here
 * for the caller to pick up at once, so a send() allocates no executor closure (it is called
 * synchronously by the Promise constructor, so nothing can run in between).
 */
let capturedResolve: ((value: never) => void) | null = null;
let capturedReject: ((err: Error) => void) | null = null;
function captureExecutor(resolve: (value: never) => void, reject: (err: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function newPromise<T>(): Promise<T> {
  return new Promise<T>(captureExecutor as (resolve: (value: T | PromiseLike<T>) => void, reject: (err: Error) => void) => void);
}

/** The resolving functions of the promise newPromise() just made. */
function takeResolve<T>(): (value: T | PromiseLike<T>) => void {
  const resolve = capturedResolve as unknown as (value: T | PromiseLike<T>) => void;
  capturedResolve = null;
  return resolve;
}

function takeReject(): (err: Error) => void {
  const reject = capturedReject!;
  capturedReject = null;
  return reject;
}

export function createProducer<K = Buffer | null, V = Buffer | null>(options: ProducerOptions<K, V>): Producer<K, V> {
  return new KafkaProducer<K, V>(options);
}

const DEFAULT_CLIENT_ID = 'fjord-producer';

/**
 * The producer: `send` serializes the record, holds buffer memory for it (waiting for room when
 * bufferMemory is used up), waits for its topic's metadata if needed, picks the partition and
 * appends it to the accumulator; the sender takes it from there. Every step keeps send order, so
 * records of one partition reach the broker in the order `send` was called.
 */
class KafkaProducer<K, V> implements Producer<K, V> {
  private readonly config: ProducerConfig;
  private readonly clock: Clock;
  private readonly cluster: Cluster;
  private readonly memory: BufferMemory;
  private readonly accumulator: RecordAccumulator;
  private readonly metadata: MetadataRefresher;
  private readonly sender: Sender;
  private readonly idempotence: Idempotence | null;
  private readonly txn: TransactionManager | null;
  private readonly sticky: StickyPartitioner;
  private readonly partitioner: Partitioner | null;
  private readonly keySerializer: Serializer<K>;
  private readonly valueSerializer: Serializer<V>;
  /**
   * Records holding buffer memory but waiting for their topic's metadata, per topic, in send order.
   * Bounded by bufferMemory, like everything admitted.
   */
  private readonly awaitingMetadata = new Map<string, Deque<PendingRecord>>();
  /** Records sent and not yet settled, per flush epoch: what flush() waits for. */
  private readonly epochs = new FlushEpochs();
  /**
   * The record instance reused by send() for records appended at once (see submit). Busy while one
   * is being appended, in case a partitioner calls send() again: that one gets its own instance.
   */
  private readonly staging = new PendingRecord('', null, null, null, NO_HEADERS, 0, 0, 0, 0, this.epochs, () => undefined, 0);
  private stagingBusy = false;
  /** Partitions with a leader, per metadata snapshot, for the sticky partitioner. */
  private readonly availableCache = new WeakMap<TopicInfo, number[]>();
  private flushing = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private runScheduled = false;
  private timer: { at: number; handle: TimerHandle } | null = null;

  constructor(options: ProducerOptions<K, V>) {
    this.config = resolveProducerConfig(options);
    this.cluster = createCluster({ ...options, requestTimeoutMs: this.config.requestTimeoutMs }, DEFAULT_CLIENT_ID);
    // The cluster's clock keeps the process alive while records wait for linger or a retry.
    this.clock = this.cluster.options.clock;
    this.memory = new BufferMemory(this.config.bufferMemory, (r) => this.admit(r));
    this.accumulator = new RecordAccumulator(this.config.batchSize, this.clock);
    this.metadata = new MetadataRefresher(this.cluster, this.clock, this.config.retryBackoffMs, options.metadataMaxAgeMs ?? 300_000, () => this.onMetadata());
    const transactionalId = this.config.transactionalId;
    this.idempotence = this.config.idempotent
      ? new Idempotence(brokerProducerIdSource(this.cluster), this.clock, this.config.retryBackoffMs, () => this.wakeup(), transactionalId === null)
      : null;
    this.txn =
      transactionalId === null || this.idempotence === null
        ? null
        : new TransactionManager({
            transactionalId,
            transactionTimeoutMs: this.config.transactionTimeoutMs,
            cluster: this.cluster,
            clock: this.clock,
            idempotence: this.idempotence,
            retryBackoffMs: this.config.retryBackoffMs,
            retryBackoffMaxMs: Math.max(this.config.retryBackoffMs, options.reconnectBackoffMaxMs ?? 1_000),
            maxBlockMs: this.config.maxBlockMs,
            failUndrained: (err) => {
              for (const b of this.accumulator.takeAll()) this.sender.fail(b, err);
            },
            flush: () => this.flush(),
            wakeup: () => this.wakeup(),
          });
    this.sender = new Sender({
      cluster: this.cluster,
      config: this.config,
      clock: this.clock,
      accumulator: this.accumulator,
      memory: this.memory,
      metadata: this.metadata,
      wakeup: () => this.wakeup(),
      idempotence: this.idempotence,
      transactions: this.txn,
    });
    this.sticky = new StickyPartitioner(options.random ?? systemRandom);
    this.partitioner = options.partitioner ?? null;
    this.keySerializer = options.keySerializer ?? (serializers.bytes as Serializer<unknown> as Serializer<K>);
    this.valueSerializer = options.valueSerializer ?? (serializers.bytes as Serializer<unknown> as Serializer<V>);
  }

  send(record: ProducerRecord<K, V>): Promise<RecordMetadata> {
    const promise = newPromise<RecordMetadata>();
    const resolve = takeResolve<RecordMetadata>();
    const reject = takeReject(); // kept only if prepare refuses the record
    let r: PendingRecord;
    try {
      r = this.prepare(record, resolve, 0);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return promise;
    }
    this.submit(r);
    return promise;
  }

  /** One promise for the whole call (not one per record); each record goes through send's path. */
  sendBatch(records: readonly ProducerRecord<K, V>[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return Promise.resolve([]);
    const promise = newPromise<RecordMetadata[]>();
    const call = new SendBatchCall(records.length, takeResolve<RecordMetadata[]>(), takeReject());
    for (let i = 0; i < records.length; i++) {
      let r: PendingRecord;
      try {
        r = this.prepare(records[i]!, call, i);
      } catch (err) {
        call.rejected(i, err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      this.submit(r);
    }
    return promise;
  }

  /**
   * Hand a prepared record on. The common case (memory free, nobody waiting, the topic's metadata
   * known) appends it at once, from the reused staging instance: the batch copies what it needs, so
   * nothing per record is allocated here. Anything else takes the general path with its own copy.
   */
  private submit(r: PendingRecord): void {
    if (r === this.staging) {
      const meta = this.awaitingMetadata.size === 0 || !this.awaitingMetadata.has(r.topic) ? this.cluster.topics.get(r.topic) : undefined;
      if (meta !== undefined && (r.requestedPartition === null || r.requestedPartition < meta.partitions.length) && this.memory.tryTake(r.size)) {
        this.stagingBusy = true;
        try {
          this.append(r, meta);
        } finally {
          this.stagingBusy = false;
        }
        return;
      }
      r = r.copy();
    }
    this.memory.acquire(r);
  }

  async flush(): Promise<void> {
    const pending = this.epochs.mark();
    if (pending === null) return;
    this.flushing++;
    this.wakeup();
    try {
      await pending;
    } finally {
      this.flushing--;
    }
  }

  // ---------- transactions ----------

  private transactions(call: string): TransactionManager {
    if (this.txn === null) throw new ClientError('ILLEGAL_STATE', `${call} needs a transactional producer (the transactionalId option)`);
    if (this.closed) throw new ClientError('CLIENT_CLOSED', 'The producer is closed');
    return this.txn;
  }

  async initTransactions(): Promise<void> {
    await this.transactions('initTransactions()').initTransactions();
  }

  beginTransaction(): void {
    this.transactions('beginTransaction()').beginTransaction();
  }

  async sendOffsetsToTransaction(offsets: readonly TransactionOffset[], groupMetadata: ConsumerGroupMetadata): Promise<void> {
    await this.transactions('sendOffsetsToTransaction()').sendOffsetsToTransaction(offsets, groupMetadata);
  }

  async commitTransaction(): Promise<void> {
    await this.transactions('commitTransaction()').commitTransaction();
  }

  async abortTransaction(): Promise<void> {
    await this.transactions('abortTransaction()').abortTransaction();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.flush();
      this.txn?.close();
      this.timer?.handle.cancel();
      this.timer = null;
      this.metadata.close();
      await this.cluster.close();
    })();
    return this.closing;
  }

  /**
   * Serialize and check a record, synchronously: a bad record is refused (throws) before it holds
   * anything. Its outcome goes to `sink`: a send() promise's resolve function, or a sendBatch() call.
   */
  private prepare(record: ProducerRecord<K, V>, sink: RecordSink, index: number): PendingRecord {
    if (this.closed) throw new ClientError('CLIENT_CLOSED', 'The producer is closed');
    if (this.idempotence !== null) {
      if (this.txn !== null) {
        const refusal = this.txn.sendRefusal();
        if (refusal !== null) throw refusal;
      } else if (this.idempotence.fatalError !== null) throw this.idempotence.fatalError;
    }
    const { topic } = record;
    if (typeof topic !== 'string' || topic === '') throw new ClientError('INVALID_ARGUMENT', 'A record needs a topic');
    const key = record.key === undefined ? null : this.keySerializer(record.key, topic);
    const value = this.valueSerializer(record.value, topic);
    if (key !== null && !Buffer.isBuffer(key)) throw new ClientError('INVALID_ARGUMENT', 'The key serializer must return a Buffer or null');
    if (value !== null && !Buffer.isBuffer(value)) throw new ClientError('INVALID_ARGUMENT', 'The value serializer must return a Buffer or null');
    const headers = normalizeHeaders(record.headers);
    const now = this.clock.now();
    const timestamp = record.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new ClientError('INVALID_ARGUMENT', `Invalid timestamp ${String(record.timestamp)}`);
    const partition = record.partition ?? null;
    if (partition !== null && (!Number.isInteger(partition) || partition < 0)) throw new ClientError('INVALID_ARGUMENT', `Invalid partition ${String(partition)}`);
    const size = estimateRecordSize(key, value, headers);
    // Java's RecordTooLargeException, raised before the record takes any memory.
    const limit = Math.min(this.config.maxRequestSize, this.config.bufferMemory);
    if (size + BATCH_OVERHEAD_BYTES > limit) {
      throw new KafkaProtocolError(ErrorCode.MESSAGE_TOO_LARGE, `The record is ${size + BATCH_OVERHEAD_BYTES} bytes when serialized, more than maxRequestSize or bufferMemory (${limit})`);
    }
    const deadline = now + this.config.deliveryTimeoutMs;
    const epoch = this.epochs.add();
    // A class, not a literal or a spread: one hidden class for every record and no per-record copying
    // (a spread cost ~2 us a record and was once the producer's largest cost in the client benchmark).
    if (this.stagingBusy) return new PendingRecord(topic, partition, key, value, headers, timestamp, size, deadline, epoch, this.epochs, sink, index);
    const r = this.staging;
    r.topic = topic;
    r.requestedPartition = partition;
    r.key = key;
    r.value = value;
    r.headers = headers;
    r.timestamp = timestamp;
    r.size = size;
    r.deadline = deadline;
    r.epoch = epoch;
    r.sink = sink;
    r.index = index;
    return r;
  }

  /** A record got its buffer memory: append it now if its topic's metadata is known, else wait for it. */
  private admit(r: PendingRecord): void {
    const waiting = this.awaitingMetadata.get(r.topic);
    if (waiting !== undefined) {
      waiting.push(r); // behind earlier records of the topic, to keep send order
      return;
    }
    const meta = this.cluster.topics.get(r.topic);
    if (meta === undefined || (r.requestedPartition !== null && r.requestedPartition >= meta.partitions.length)) {
      const q = new Deque<PendingRecord>();
      q.push(r);
      this.awaitingMetadata.set(r.topic, q);
      this.metadata.request(r.topic);
      this.wakeup(); // arms the timer for the record's deadline
      return;
    }
    this.append(r, meta);
  }

  private append(r: PendingRecord, meta: TopicInfo): void {
    const count = meta.partitions.length;
    let partition: number;
    try {
      partition = this.partitionOf(r, meta);
    } catch (err) {
      this.settleEarly(r, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
      this.settleEarly(r, new ClientError('INVALID_ARGUMENT', `Partition ${partition} of ${r.topic} does not exist (${count} partitions)`));
      return;
    }
    if (this.txn !== null) {
      // The transaction may have failed or ended while the record waited for memory or metadata.
      const refusal = this.txn.sendRefusal();
      if (refusal !== null) {
        this.settleEarly(r, refusal);
        return;
      }
      this.txn.addPartition(r.topic, partition);
    }
    if (this.accumulator.append(r, partition)) this.wakeup();
  }

  private partitionOf(r: PendingRecord, meta: TopicInfo): number {
    const count = meta.partitions.length;
    if (r.requestedPartition !== null) return r.requestedPartition;
    if (this.partitioner !== null) return this.partitioner(r.key, r.topic, count);
    if (r.key !== null) return partitionForKey(r.key, count);
    let available = this.availableCache.get(meta);
    if (available === undefined) this.availableCache.set(meta, (available = meta.partitions.filter((p) => p.leader >= 0).map((p) => p.partition)));
    return this.sticky.partition(r.topic, count, available, (p) => this.accumulator.startsNewBatch(r.topic, p, r.size));
  }

  /** Settle a record that never reached a batch, and give back its memory. */
  private settleEarly(r: PendingRecord, err: Error): void {
    // A record of a transaction that failed before reaching a batch still dooms the transaction.
    this.txn?.onBatchFailed(err, false);
    r.reject(err);
    this.memory.release(r.size);
  }

  /** After a metadata refresh: append the records that waited for it, in send order. */
  private onMetadata(): void {
    for (const [topic, waiting] of this.awaitingMetadata) {
      const meta = this.cluster.topics.get(topic);
      if (meta === undefined) {
        this.metadata.request(topic); // the refresher's backoff paces the asking
        continue;
      }
      // The queue stays registered until it is empty: a record admitted meanwhile (memory freed by a
      // refusal below) joins its tail instead of overtaking the records still in it.
      for (let r = waiting.shift(); r !== undefined; r = waiting.shift()) {
        if (r.requestedPartition !== null && r.requestedPartition >= meta.partitions.length) {
          this.settleEarly(r, new ClientError('INVALID_ARGUMENT', `Partition ${r.requestedPartition} of ${topic} does not exist (${meta.partitions.length} partitions)`));
        } else {
          this.append(r, meta);
        }
      }
      this.awaitingMetadata.delete(topic);
    }
    this.wakeup();
  }

  private wakeup(): void {
    if (this.runScheduled) return;
    this.runScheduled = true;
    // A microtask, so records sent in the same tick join their batches before the sender looks.
    queueMicrotask(() => this.run());
  }

  private run(): void {
    this.runScheduled = false;
    const now = this.clock.now();
    const timeout = (count: number, what: string, cause: Error | null): Error => deliveryTimeoutError(count, what, this.config.deliveryTimeoutMs, cause);
    let next =
      this.memory.expire(now, (r) => {
        const err = timeout(1, `${r.topic} waiting for buffer memory`, null);
        this.txn?.onBatchFailed(err, false);
        r.reject(err);
      }) ?? Number.POSITIVE_INFINITY;
    for (const [topic, waiting] of this.awaitingMetadata) {
      for (let r = waiting.first(); r !== undefined && r.deadline <= now; r = waiting.first()) {
        waiting.shift();
        const cause = this.metadata.lastError ?? new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${topic} not present in metadata`);
        this.settleEarly(r, timeout(1, topic, cause));
      }
      const head = waiting.first();
      if (head === undefined) this.awaitingMetadata.delete(topic);
      else next = Math.min(next, head.deadline);
    }
    this.metadata.refreshIfStale();
    const drainAll = this.flushing > 0 || this.closed || this.memory.exhausted;
    next = Math.min(next, this.sender.run(now, drainAll));
    this.arm(next, now);
  }

  /** Keep one timer, for the earliest moment something changes on its own (linger, backoff, deadline). */
  private arm(at: number, now: number): void {
    if (this.timer !== null && this.timer.at <= at) return;
    this.timer?.handle.cancel();
    this.timer = null;
    if (at === Number.POSITIVE_INFINITY) return;
    const handle = this.clock.setTimer(Math.max(0, at - now), () => {
      if (this.timer?.handle === handle) this.timer = null;
      this.run();
    });
    this.timer = { at, handle };
  }
}
