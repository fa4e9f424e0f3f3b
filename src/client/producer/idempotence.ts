import type { Clock } from '../../io/clock.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js';
import { BASE_SEQUENCE_OFFSET, CRC_OFFSET, CRC_START_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET } from '../../protocol/records/batch-header.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import type { BrokerConnection } from '../broker-connection.js';
import type { Cluster } from '../cluster.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import type { PartitionQueue } from './accumulator.js';
import type { ProducerBatch } from './batch.js';
import { IDEMPOTENT_INFLIGHT_PER_PARTITION_MAX } from './config.js';

const INIT_PRODUCER_ID = 22;
const INT32_MAX = 0x7fffffff;
/** InitProducerId v3+ carries the current producer id and epoch, so the broker can bump instead of forgetting (KIP-360). */
const INIT_PRODUCER_ID_BUMP_MIN_VERSION = 3;

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from Int32.MAX to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > INT32_MAX - increment ? increment - (INT32_MAX - sequence) - 1 : sequence + increment;
}

/** Rewrite a built batch's producer id, epoch and base sequence in place, and its CRC (which covers them). */
export function restampBatch(built: Buffer, producerId: number, producerEpoch: number, baseSequence: number): void {
  built.writeBigInt64BE(BigInt(producerId), PRODUCER_ID_OFFSET);
  built.writeInt16BE(producerEpoch, PRODUCER_EPOCH_OFFSET);
  built.writeInt32BE(baseSequence, BASE_SEQUENCE_OFFSET);
  built.writeUInt32BE(crc32c(built.subarray(CRC_START_OFFSET)), CRC_OFFSET);
}

/** One partition's sequence numbers: the producer id and epoch they count under, and the batches in flight. */
export interface PartitionSequence {
  producerId: number;
  producerEpoch: number;
  nextSequence: number;
  /** Batches of this partition awaiting their answer, in drain order; at most IDEMPOTENT_INFLIGHT_PER_PARTITION_MAX. */
  readonly inflight: ProducerBatch[];
}

/** The producer id and epoch, and how to get new ones: the broker for an idempotent producer, the transaction coordinator for a transactional one. */
export type ProducerIdSource = (current: { producerId: number; producerEpoch: number } | null) => Promise<{ producerId: number; producerEpoch: number }>;

/**
 * Idempotence, after Java's TransactionManager (sequence part): a producer id and epoch, a sequence
 * per partition that advances by each batch's record count, at most 5 batches of a partition in
 * flight (the broker remembers the last 5, so any retry among them is recognised as a duplicate).
 *
 * Retries resend the same bytes. A batch the broker refused with OUT_OF_ORDER_SEQUENCE_NUMBER or
 * UNKNOWN_PRODUCER_ID while a batch before it may still land is collateral damage of that earlier
 * batch and is simply retried; when it is the partition's lowest batch still alive, the broker has
 * lost our sequence (a gap), and the KIP-360 recovery applies: a new producer id or epoch, and the
 * partition starts again from sequence 0 once nothing of it is in flight. A batch is only given a new
 * id/epoch/sequence when the broker definitely does not have it (it answered with an error): one
 * whose outcome is unknown is first resent as it was, so it can never be written twice.
 */
export class Idempotence {
  producerId = -1;
  producerEpoch = -1;
  /** Why the producer can no longer produce (a non-retriable InitProducerId failure, fencing). */
  fatalError: Error | null = null;
  private readonly partitions = new Map<string, Map<number, PartitionSequence>>();
  private fetching: Promise<void> | null = null;
  private bumpWanted = false;
  private drainCounter = 0;
  private backoffUntil = 0;

  constructor(
    private readonly source: ProducerIdSource,
    private readonly clock: Clock,
    private readonly retryBackoffMs: number,
    /** Something changed (an id arrived, or a fatal error): look at the accumulator again. */
    private readonly wakeup: () => void,
    /** Only the transactional producer sets ids itself (initTransactions); the idempotent one fetches on demand. */
    private readonly fetchOnDemand: boolean,
  ) {}

  /** A producer id is known and no bump is under way: batches may be drained. */
  get ready(): boolean {
    return this.producerId >= 0 && this.fetching === null && !this.bumpWanted && this.fatalError === null;
  }

  /** Start getting an id (or the bump someone asked for) unless one is on its way; returns the time to look again, if backing off. */
  ensure(now: number): number {
    if (this.fetching !== null || this.fatalError !== null) return Number.POSITIVE_INFINITY;
    if (this.producerId >= 0 && !this.bumpWanted) return Number.POSITIVE_INFINITY;
    if (!this.fetchOnDemand) return Number.POSITIVE_INFINITY;
    if (now < this.backoffUntil) return this.backoffUntil;
    const current = this.producerId >= 0 ? { producerId: this.producerId, producerEpoch: this.producerEpoch } : null;
    this.fetching = this.source(current).then(
      (id) => {
        this.fetching = null;
        this.bumpWanted = false;
        this.setIdentity(id.producerId, id.producerEpoch);
        this.wakeup();
      },
      (err: unknown) => {
        this.fetching = null;
        const e = err instanceof Error ? err : new Error(String(err));
        if (isRetriableIdError(e)) this.backoffUntil = this.clock.now() + this.retryBackoffMs;
        else this.fatalError = e;
        this.wakeup();
      },
    );
    return Number.POSITIVE_INFINITY;
  }

  /** A new producer id/epoch: every partition restarts at sequence 0 once its in-flight batches are done. */
  setIdentity(producerId: number, producerEpoch: number): void {
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
  }

  /** KIP-360: get a new producer id/epoch (the idempotent producer asks at once; the transactional one on abort). */
  requestBump(batch: ProducerBatch): void {
    // A batch stamped before the last bump: that bump already covers it.
    if (batch.producerId !== this.producerId || batch.producerEpoch !== this.producerEpoch) return;
    this.bumpWanted = true;
  }

  get bumpRequested(): boolean {
    return this.bumpWanted;
  }

  partition(topic: string, partition: number): PartitionSequence {
    let byPartition = this.partitions.get(topic);
    if (byPartition === undefined) this.partitions.set(topic, (byPartition = new Map()));
    let s = byPartition.get(partition);
    if (s === undefined) byPartition.set(partition, (s = { producerId: this.producerId, producerEpoch: this.producerEpoch, nextSequence: 0, inflight: [] }));
    return s;
  }

  private stale(s: PartitionSequence): boolean {
    return s.producerId !== this.producerId || s.producerEpoch !== this.producerEpoch;
  }

  /**
   * May the partition's head batch be drained now? Fresh batches: fewer than 5 in flight, and not
   * while batches of an older id/epoch are in flight. Retries: only with nothing else in flight, in
   * sequence order; before a partition moves to a new id/epoch its retries are restamped, unless the
   * head's outcome is unknown, in which case it is resent as it was to learn it.
   */
  gate(q: PartitionQueue): boolean {
    const s = this.partition(q.topic, q.partition);
    const head = q.batches.first();
    if (head === undefined) return false;
    if (head.baseSequence >= 0) {
      if (s.inflight.length > 0) return false;
      if (this.stale(s) && !(head.mayBeWritten && head.producerId === s.producerId && head.producerEpoch === s.producerEpoch)) this.restart(q, s);
      return true;
    }
    if (this.stale(s)) {
      if (s.inflight.length > 0) return false;
      this.restart(q, s);
    }
    return s.inflight.length < IDEMPOTENT_INFLIGHT_PER_PARTITION_MAX;
  }

  /** Move the partition to the current id/epoch from sequence 0, restamping its queued retries in order. */
  private restart(q: PartitionQueue, s: PartitionSequence): void {
    let seq = 0;
    for (let i = 0; ; i++) {
      const b = q.batches.at(i);
      if (b === undefined || b.baseSequence < 0) break;
      b.producerId = this.producerId;
      b.producerEpoch = this.producerEpoch;
      b.baseSequence = seq;
      b.mayBeWritten = false;
      if (b.built !== null) restampBatch(b.built, b.producerId, b.producerEpoch, seq);
      seq = incrementSequence(seq, b.count);
    }
    s.producerId = this.producerId;
    s.producerEpoch = this.producerEpoch;
    s.nextSequence = seq;
  }

  /** The batch is being drained: give a fresh one its sequence, and count it in flight. */
  onDrain(batch: ProducerBatch): void {
    const s = this.partition(batch.topic, batch.partition);
    if (batch.baseSequence < 0) {
      batch.producerId = s.producerId;
      batch.producerEpoch = s.producerEpoch;
      batch.baseSequence = s.nextSequence;
      batch.drainOrder = this.drainCounter++;
      s.nextSequence = incrementSequence(s.nextSequence, batch.count);
    }
    s.inflight.push(batch);
  }

  /** The batch's attempt is over (answered or failed): no longer in flight. */
  onAttemptDone(batch: ProducerBatch): void {
    const s = this.partition(batch.topic, batch.partition);
    const i = s.inflight.indexOf(batch);
    if (i >= 0) s.inflight.splice(i, 1);
  }

  /**
   * Is this batch the lowest of its partition still alive (in flight or queued, same id/epoch)? Then
   * nothing can fill the gap before it, and a sequence error is real rather than collateral.
   */
  isLowestAlive(batch: ProducerBatch, queue: PartitionQueue | undefined): boolean {
    const s = this.partition(batch.topic, batch.partition);
    for (const b of s.inflight) if (b.drainOrder < batch.drainOrder && b.producerId === batch.producerId && b.producerEpoch === batch.producerEpoch) return false;
    const head = queue?.batches.first();
    return !(head !== undefined && head.baseSequence >= 0 && head.drainOrder < batch.drainOrder && head.producerId === batch.producerId && head.producerEpoch === batch.producerEpoch);
  }
}

function isRetriableIdError(err: Error): boolean {
  if (err instanceof KafkaProtocolError) return err.retriable || err.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (err instanceof ClientError) return err.retriable;
  return true;
}

/** The idempotent (non-transactional) producer's id source: InitProducerId with a null transactional id, at any broker. */
export function brokerProducerIdSource(cluster: Cluster): ProducerIdSource {
  return async (current) => {
    let conn: BrokerConnection | null = null;
    try {
      conn = await cluster.anyConnection();
      const v = conn.versionFor(INIT_PRODUCER_ID);
      const bump = current !== null && v >= INIT_PRODUCER_ID_BUMP_MIN_VERSION;
      const res = await conn.request<InitProducerIdResponse>(INIT_PRODUCER_ID, {
        transactionalId: null,
        // Java's value for an idempotent producer: there is no transaction to time out.
        transactionTimeoutMs: INT32_MAX,
        producerId: bump ? BigInt(current.producerId) : -1n,
        producerEpoch: bump ? current.producerEpoch : -1,
      });
      if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, 'InitProducerId');
      return { producerId: Number(res.producerId), producerEpoch: res.producerEpoch };
    } catch (err) {
      if (conn !== null && err instanceof ClientError && (err.code === 'CONNECTION_CLOSED' || err.code === 'REQUEST_TIMED_OUT')) cluster.invalidate(conn);
      throw err;
    }
  };
}
