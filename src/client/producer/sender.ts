import type { Clock } from '../../io/clock.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ProduceRequest, ProduceResponse } from '../../protocol/generated/produce.js';
import type { BrokerConnection } from '../broker-connection.js';
import type { Cluster } from '../cluster.js';
import { ClientError, KafkaProtocolError, isRetriable } from '../errors.js';
import type { PartitionQueue, RecordAccumulator } from './accumulator.js';
import type { BatchStamp, ProducerBatch } from './batch.js';
import type { BufferMemory } from './buffer-memory.js';
import type { ProducerConfig } from './config.js';
import type { MetadataRefresher } from './metadata-refresher.js';
import type { Idempotence } from './idempotence.js';

const PRODUCE = 0;

/**
 * Errors that mean our idea of who leads the partition is wrong (Kafka's InvalidMetadataException
 * family): the batch is retried after a metadata refresh.
 */
const STALE_METADATA_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
]);

/** Bytes of a Produce request besides its batches' (headers, names, lengths): a generous allowance. */
const REQUEST_OVERHEAD_BYTES = 1024;

export interface SenderDeps {
  readonly cluster: Cluster;
  readonly config: ProducerConfig;
  readonly clock: Clock;
  readonly accumulator: RecordAccumulator;
  readonly memory: BufferMemory;
  readonly metadata: MetadataRefresher;
  /** Ask the producer to look at the accumulator again (a response freed a slot or a partition). */
  readonly wakeup: () => void;
  /** Producer ids and sequences; null without idempotence. */
  readonly idempotence: Idempotence | null;
  /** The transactional producer's hooks; null otherwise. */
  readonly transactions: SenderTransactions | null;
}

/** What the sender needs from a transactional producer. */
export interface SenderTransactions {
  readonly transactionalId: string;
  /** Has AddPartitionsToTxn added the partition to the current transaction? */
  isAdded(topic: string, partition: number): boolean;
  /** A batch of the transaction failed: the transaction can only abort now (or, for fencing, nothing more). */
  onBatchFailed(err: Error, stamped: boolean): void;
}

/** Sequence errors: the broker lost or never had the producer's state for the partition, or there is a gap. */
const SEQUENCE_ERRORS: ReadonlySet<number> = new Set([ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, ErrorCode.UNKNOWN_PRODUCER_ID]);

export function deliveryTimeoutError(count: number, what: string, timeoutMs: number, cause: Error | null): ClientError {
  const err = new ClientError(
    'DELIVERY_TIMEOUT',
    `Expiring ${count} record(s) for ${what}: ${timeoutMs} ms has passed since the record was sent${cause === null ? '' : ` (last error: ${cause.message})`}`,
  );
  if (cause !== null) err.cause = cause;
  return err;
}

/**
 * Kafka's Sender: turns ready batches into Produce requests, one per leader with every ready
 * partition it leads (one batch per partition, as Produce v3+ requires), at most maxInFlight
 * requests per broker; settles each record from the response, and retries what can be retried.
 *
 * Ordering: without idempotence, a retried batch could land after a later batch of the same
 * partition that was already in flight, which is how Java's producer reorders with
 * max.in.flight > 1. Here a partition is muted while one of its batches is in flight, whenever a
 * retry is possible (retries > 0; with acks=0 "in flight" lasts only until the bytes are written),
 * and a failed batch goes back to the head of its partition. So per-partition order holds through retries; concurrency comes from different
 * partitions (and brokers) being in flight together. Throughput per partition is one batch per
 * round trip, the price of ordering without producer ids and sequence numbers.
 *
 * A batch in flight never expires: the broker may still append it, and the request timeout
 * (requestTimeoutMs <= deliveryTimeoutMs - lingerMs) bounds the wait for its answer.
 */
export class Sender {
  /** Produce requests awaiting a response, per broker: at most config.maxInFlight each. */
  private readonly inflight = new Map<number, number>();
  private readonly guardOrder: boolean;
  private readonly idem: Idempotence | null;
  private readonly gate: ((q: PartitionQueue) => boolean) | null;
  private drainCursor = 0;
  private readonly stamp: BatchStamp;

  constructor(private readonly d: SenderDeps) {
    this.idem = d.idempotence;
    this.stamp = { compression: d.config.compression, isTransactional: d.transactions !== null };
    // With idempotence the broker keeps order (it refuses gaps, and retries resend the same
    // sequence), so a partition may have up to 5 batches in flight instead of one.
    this.guardOrder = d.config.retries > 0 && this.idem === null;
    const idem = this.idem;
    const txn = d.transactions;
    this.gate =
      idem === null
        ? null
        : txn === null
          ? (q) => idem.ready && idem.gate(q)
          : (q) => idem.ready && txn.isAdded(q.topic, q.partition) && idem.gate(q);
  }

  /** Dispatch whatever is ready; returns the clock time at which to look again. */
  run(now: number, drainAll: boolean): number {
    let idNext = Number.POSITIVE_INFINITY;
    if (this.idem !== null) {
      if (this.idem.fatalError !== null) {
        const err = this.idem.fatalError;
        for (const b of this.d.accumulator.takeAll()) this.fail(b, err);
      } else if (!this.idem.ready) idNext = this.idem.ensure(now);
    }
    const { nodes, leaderless, nextCheck } = this.d.accumulator.ready(
      { now, lingerMs: this.d.config.lingerMs, drainAll, gate: this.gate },
      (topic, partition) => this.leaderOf(topic, partition),
      (batch) => this.fail(batch, deliveryTimeoutError(batch.count, `${batch.topic}-${batch.partition}`, this.d.config.deliveryTimeoutMs, batch.lastError)),
    );
    let next = Math.min(nextCheck, idNext);
    for (const topic of leaderless) this.d.metadata.request(topic);
    for (const [node, candidates] of nodes) {
      if (!candidates.ready || !this.hasCapacity(node)) continue;
      const batches = this.drain(candidates.queues);
      if (batches.length > 0) this.dispatch(node, batches);
      // Batches left behind by the request size cap go in the next request, if a slot is free.
      if (this.hasCapacity(node) && candidates.queues.some((q) => !q.muted && q.batches.length > 0)) next = Math.min(next, now);
    }
    return next;
  }

  private leaderOf(topic: string, partition: number): number {
    const p = this.d.cluster.topics.get(topic)?.partitions[partition];
    return p === undefined || p.partition !== partition ? -1 : p.leader;
  }

  private hasCapacity(node: number): boolean {
    return (this.inflight.get(node) ?? 0) < this.d.config.maxInFlight;
  }

  /** Head batches of the node's partitions, up to maxRequestSize; the starting partition rotates for fairness. */
  private drain(queues: readonly PartitionQueue[]): ProducerBatch[] {
    const out: ProducerBatch[] = [];
    let bytes = REQUEST_OVERHEAD_BYTES;
    const start = this.drainCursor++ % queues.length;
    for (let i = 0; i < queues.length; i++) {
      const q = queues[(start + i) % queues.length]!;
      const head = q.batches.first();
      if (head === undefined) continue;
      const size = head.built?.length ?? head.sizeBytes;
      if (out.length > 0 && bytes + size > this.d.config.maxRequestSize) continue;
      const batch = this.d.accumulator.take(q)!;
      if (this.guardOrder) q.muted = true;
      if (this.idem !== null) this.idem.onDrain(batch);
      out.push(batch);
      bytes += size;
    }
    return out;
  }

  private dispatch(node: number, batches: ProducerBatch[]): void {
    this.inflight.set(node, (this.inflight.get(node) ?? 0) + 1);
    for (const b of batches) b.attempts++;
    void this.produce(node, batches).finally(() => {
      const n = (this.inflight.get(node) ?? 1) - 1;
      if (n === 0) this.inflight.delete(node);
      else this.inflight.set(node, n);
      if (this.guardOrder) for (const b of batches) this.d.accumulator.setMuted(b.topic, b.partition, false);
      this.d.wakeup();
    });
  }

  private async produce(node: number, batches: ProducerBatch[]): Promise<void> {
    const sendable: ProducerBatch[] = [];
    for (const b of batches) {
      try {
        // The records were encoded into the batch as they were appended: this fills in the header
        // and CRC (compressing first if asked), once; retries resend the same bytes.
        const built = b.build(this.stamp);
        if (built instanceof Promise) await built;
        sendable.push(b);
      } catch (err) {
        // A codec failure is not going to go away on retry.
        this.idem?.onAttemptDone(b);
        this.fail(b, err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (sendable.length === 0) return;
    const body: ProduceRequest = { transactionalId: this.d.transactions?.transactionalId ?? null, acks: this.d.config.acks, timeoutMs: this.d.config.requestTimeoutMs, topicData: [] };
    const byTopic = new Map<string, ProduceRequest['topicData'][number]>();
    for (const b of sendable) {
      let t = byTopic.get(b.topic);
      if (t === undefined) {
        byTopic.set(b.topic, (t = { name: b.topic, partitionData: [] }));
        body.topicData.push(t);
      }
      t.partitionData.push({ index: b.partition, records: b.built! });
    }

    let conn: BrokerConnection | null = null;
    let res: ProduceResponse;
    try {
      conn = await this.d.cluster.connectionTo(node).catch((err: unknown) => {
        throw connectionError(err, node);
      });
      if (this.d.config.acks === 0) {
        conn.sendOneWay(PRODUCE, body);
        for (const b of sendable) this.complete(b, -1n, -1n);
        return;
      }
      if (this.idem !== null) for (const b of sendable) b.mayBeWritten = true;
      res = await conn.request<ProduceResponse>(PRODUCE, body);
    } catch (err) {
      const e = requestError(err);
      if (this.idem !== null) for (const b of sendable) this.idem.onAttemptDone(b);
      // A failed connection is dropped so the retry reconnects; the leader may have moved too.
      if (conn !== null && !(e instanceof ClientError && e.code === 'UNSUPPORTED_VERSION')) this.d.cluster.invalidate(conn);
      for (const b of sendable) {
        if (isRetriable(e)) this.d.metadata.request(b.topic);
        this.retryOrFail(b, e);
      }
      return;
    }
    this.settleFromResponse(sendable, res);
  }

  private settleFromResponse(batches: readonly ProducerBatch[], res: ProduceResponse): void {
    const answers = new Map<string, Map<number, ProduceResponse['responses'][number]['partitionResponses'][number]>>();
    for (const t of res.responses) {
      let byPartition = answers.get(t.name);
      if (byPartition === undefined) answers.set(t.name, (byPartition = new Map()));
      for (const p of t.partitionResponses) byPartition.set(p.index, p);
    }
    // Answers are handled in drain order, so a sequence error is judged after the batches before it.
    for (const b of batches) this.idem?.onAttemptDone(b);
    for (const b of batches) {
      const p = answers.get(b.topic)?.get(b.partition);
      if (p === undefined) {
        this.retryOrFail(b, new ClientError('PROTOCOL_ERROR', `The Produce response has no answer for ${b.topic}-${b.partition}`));
      } else if (p.errorCode === ErrorCode.NONE || (p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER && this.idem !== null)) {
        // A duplicate is a retry of a batch the broker already has: success (its offset may be unknown, -1).
        this.complete(b, p.baseOffset, p.logAppendTimeMs);
      } else {
        b.mayBeWritten = false; // an error answer: the broker did not append it
        const details = [p.errorMessage, ...p.recordErrors.map((e) => `record ${e.batchIndex}: ${e.batchIndexErrorMessage ?? 'invalid'}`)].filter((s) => s !== null && s !== '');
        const err = new KafkaProtocolError(p.errorCode, `${b.topic}-${b.partition}${details.length > 0 ? `: ${details.join('; ')}` : ''}`);
        if (STALE_METADATA_ERRORS.has(p.errorCode)) this.d.metadata.request(b.topic);
        if (this.idem !== null && SEQUENCE_ERRORS.has(p.errorCode)) {
          // Collateral damage of an earlier batch that may still land: retried as it is. A real gap
          // (the lowest batch alive): KIP-360 for the idempotent producer (a new id/epoch, then the
          // retry from sequence 0); for a transactional one the transaction must abort.
          const real = this.idem.isLowestAlive(b, this.d.accumulator.peek(b.topic, b.partition));
          if (real && this.d.transactions !== null) this.fail(b, err);
          else {
            if (real) this.idem.requestBump(b);
            this.retryOrFail(b, err, true);
          }
        } else if (this.idem !== null && this.d.transactions === null && (p.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || p.errorCode === ErrorCode.PRODUCER_FENCED)) {
          this.idem.requestBump(b);
          this.fail(b, err);
        } else {
          this.retryOrFail(b, err);
        }
      }
    }
  }

  /** Retry a retriable failure after retryBackoffMs unless retries or the delivery timeout are used up. */
  private retryOrFail(batch: ProducerBatch, err: Error, retriable = isRetriable(err)): void {
    batch.lastError = err;
    const now = this.d.clock.now();
    if (!retriable || batch.attempts > this.d.config.retries) {
      this.fail(batch, err);
    } else if (now >= batch.deadline) {
      this.fail(batch, deliveryTimeoutError(batch.count, `${batch.topic}-${batch.partition}`, this.d.config.deliveryTimeoutMs, err));
    } else {
      batch.retryAt = now + this.d.config.retryBackoffMs;
      this.d.accumulator.requeue(batch);
    }
  }

  private complete(batch: ProducerBatch, baseOffset: bigint, logAppendTimeMs: bigint): void {
    batch.resolveAll(baseOffset, logAppendTimeMs >= 0n ? Number(logAppendTimeMs) : -1);
    this.d.memory.release(batch.reservedBytes);
  }

  /** Settle a batch that will not be sent again (also used for a transaction's undrained batches). */
  fail(batch: ProducerBatch, err: Error): void {
    this.d.transactions?.onBatchFailed(err, batch.baseSequence >= 0);
    batch.rejectAll(err);
    this.d.memory.release(batch.reservedBytes);
  }
}

/**
 * While the producer runs, its cluster is open, so CLIENT_CLOSED on a request means another request
 * invalidated the shared connection: a lost connection, worth a retry like any other.
 */
function requestError(err: unknown): Error {
  if (err instanceof ClientError && err.code === 'CLIENT_CLOSED') return new ClientError('CONNECTION_CLOSED', err.message);
  return err instanceof Error ? err : new Error(String(err));
}

/** Not reaching a broker is always worth a retry, even when the cluster reports it as an unknown node. */
function connectionError(err: unknown, node: number): Error {
  if (err instanceof ClientError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof KafkaProtocolError && err.retriable) return err;
  return new ClientError('CONNECTION_FAILED', `Cannot reach broker ${node}: ${message}`);
}
