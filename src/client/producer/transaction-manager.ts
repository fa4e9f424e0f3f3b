import type { Clock } from '../../io/clock.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { AddOffsetsToTxnResponse } from '../../protocol/generated/add-offsets-to-txn.js';
import type { AddPartitionsToTxnResponse } from '../../protocol/generated/add-partitions-to-txn.js';
import type { EndTxnResponse } from '../../protocol/generated/end-txn.js';
import type { InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../protocol/generated/txn-offset-commit.js';
import type { Cluster } from '../cluster.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import { COORDINATOR_MOVED, CoordinatorLink, isConnectionTrouble } from '../group/coordinator-link.js';
import type { ConsumerGroupMetadata } from '../group/consumer-coordinator.js';
import { Sleeper, TIMED_OUT, nextBackoff, within } from '../group/timing.js';
import type { Idempotence } from './idempotence.js';
import type { SenderTransactions } from './sender.js';
import type { TransactionOffset } from './types.js';

const INIT_PRODUCER_ID = 22;
const ADD_PARTITIONS_TO_TXN = 24;
const ADD_OFFSETS_TO_TXN = 25;
const END_TXN = 26;
const TXN_OFFSET_COMMIT = 28;
/** InitProducerId v3+ may name the current producer id/epoch, which lets the coordinator bump the epoch (KIP-360). */
const INIT_PRODUCER_ID_BUMP_MIN_VERSION = 3;
/** Java's short backoff for CONCURRENT_TRANSACTIONS on AddPartitionsToTxn: the previous transaction's markers are usually milliseconds away. */
const CONCURRENT_TRANSACTIONS_BACKOFF_MS = 20;

/** Java's TransactionManager states, as the application sees them. */
export type TransactionState = 'UNINITIALIZED' | 'INITIALIZING' | 'READY' | 'IN_TRANSACTION' | 'COMMITTING' | 'ABORTING' | 'ABORTABLE_ERROR' | 'FATAL_ERROR';

/** Coordinator answers worth retrying after a pause: the coordinator is busy, loading, or elsewhere. */
const RETRY_LATER: ReadonlySet<number> = new Set([
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.REQUEST_TIMED_OUT,
]);

/** Errors after which this producer instance can do nothing more (another instance owns the transactional id). */
const FENCING: ReadonlySet<number> = new Set([
  ErrorCode.PRODUCER_FENCED,
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
]);

export interface TransactionManagerDeps {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  readonly cluster: Cluster;
  readonly clock: Clock;
  readonly idempotence: Idempotence;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  /** Bound on each blocking call (initTransactions, commit, abort, sendOffsetsToTransaction). */
  readonly maxBlockMs: number;
  /** Settle every batch not yet drained with this error (abort, or an error that dooms the transaction). */
  readonly failUndrained: (err: Error) => void;
  /** Wait until every record sent so far is settled. */
  readonly flush: () => Promise<void>;
  /** Look at the accumulator again (a partition joined the transaction). */
  readonly wakeup: () => void;
}

/**
 * The transactional producer's state machine (Java's TransactionManager, transactional part):
 * coordinator lookup (FindCoordinator key type 1), InitProducerId, AddPartitionsToTxn before a
 * partition's first batch of each transaction, AddOffsetsToTxn + TxnOffsetCommit, EndTxn.
 *
 * Errors come in two kinds. Abortable (a batch failed, a partition could not be added, an offset
 * commit was refused): the transaction can only be aborted, after which the producer is usable
 * again. Fatal (fencing: another producer took the transactional id; authorization): every later
 * call fails with that error; close the producer.
 */
export class TransactionManager implements SenderTransactions {
  readonly transactionalId: string;
  private st: TransactionState = 'UNINITIALIZED';
  private error: Error | null = null;
  /** Partitions of the current transaction the coordinator knows, and those still to add. */
  private readonly added = new Map<string, Set<number>>();
  private readonly pending = new Map<string, Set<number>>();
  private addLoop: Promise<void> | null = null;
  /** Anything was added (partitions or offsets): EndTxn has something to end. */
  private started = false;
  /** A batch with a sequence failed: the sequences may have a gap, so the epoch is bumped after the abort (KIP-360). */
  private epochBumpNeeded = false;
  private readonly link: CoordinatorLink;
  private readonly sleeper: Sleeper;
  private closed = false;

  constructor(private readonly d: TransactionManagerDeps) {
    this.transactionalId = d.transactionalId;
    this.sleeper = new Sleeper(d.clock);
    this.link = new CoordinatorLink({ groupId: d.transactionalId, keyType: 1, retryBackoffMs: d.retryBackoffMs, retryBackoffMaxMs: d.retryBackoffMaxMs }, d.cluster, d.cluster, this.sleeper);
  }

  get state(): TransactionState {
    return this.st;
  }

  // ---------- what the producer and sender ask ----------

  /** Why a send cannot join the transaction now, or null. */
  sendRefusal(): Error | null {
    if (this.st === 'IN_TRANSACTION') return null;
    if ((this.st === 'ABORTABLE_ERROR' || this.st === 'FATAL_ERROR') && this.error !== null) return this.error;
    return new ClientError('ILLEGAL_STATE', `Cannot send: a transactional producer sends only inside a transaction (state ${this.st}); call beginTransaction() first`);
  }

  isAdded(topic: string, partition: number): boolean {
    return this.added.get(topic)?.has(partition) === true;
  }

  /** A record was appended for the partition: add it to the transaction unless it already is. Cheap when it is. */
  addPartition(topic: string, partition: number): void {
    if (this.added.get(topic)?.has(partition) === true) return;
    let set = this.pending.get(topic);
    if (set === undefined) this.pending.set(topic, (set = new Set()));
    if (set.has(partition)) return;
    set.add(partition);
    this.kickAddLoop();
  }

  /** One AddPartitionsToTxn loop at a time; partitions that arrive while it ends start another. */
  private kickAddLoop(): void {
    this.addLoop ??= this.runAddLoop().finally(() => {
      this.addLoop = null;
      if (this.pending.size > 0 && this.st === 'IN_TRANSACTION') this.kickAddLoop();
    });
  }

  onBatchFailed(err: Error, stamped: boolean): void {
    if (stamped) this.epochBumpNeeded = true;
    if (err instanceof ClientError && err.code === 'TRANSACTION_ABORTED') return;
    if (err instanceof KafkaProtocolError && FENCING.has(err.errorCode)) this.fatal(err);
    else this.abortable(err);
  }

  // ---------- the application's calls ----------

  async initTransactions(): Promise<void> {
    this.throwIfFatal();
    if (this.st !== 'UNINITIALIZED') throw new ClientError('ILLEGAL_STATE', `initTransactions() was already called (state ${this.st})`);
    this.st = 'INITIALIZING';
    try {
      const id = await this.initProducerId(null);
      this.d.idempotence.setIdentity(id.producerId, id.producerEpoch);
      this.st = 'READY';
      this.d.wakeup();
    } catch (err) {
      if (this.st === 'INITIALIZING') this.st = 'UNINITIALIZED'; // a timeout: the call may be repeated
      throw err;
    }
  }

  beginTransaction(): void {
    this.throwIfFatal();
    if (this.st !== 'READY') throw new ClientError('ILLEGAL_STATE', `beginTransaction() needs a producer that is initialized and not in a transaction (state ${this.st})`);
    this.added.clear();
    this.pending.clear();
    this.started = false;
    this.error = null;
    this.st = 'IN_TRANSACTION';
  }

  async sendOffsetsToTransaction(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata): Promise<void> {
    this.throwIfFatal();
    if (this.st === 'ABORTABLE_ERROR') throw this.error!;
    if (this.st !== 'IN_TRANSACTION') throw new ClientError('ILLEGAL_STATE', `sendOffsetsToTransaction() needs an open transaction (state ${this.st})`);
    if (typeof group?.groupId !== 'string' || group.groupId === '') throw new ClientError('INVALID_ARGUMENT', 'sendOffsetsToTransaction() needs the group metadata of a consumer with a groupId');
    const deadline = this.d.clock.now() + this.d.maxBlockMs;
    const id = this.d.idempotence;
    await this.coordinatorCall('AddOffsetsToTxn', deadline, async () => {
      const res = await this.link.request<AddOffsetsToTxnResponse>(ADD_OFFSETS_TO_TXN, {
        transactionalId: this.transactionalId,
        producerId: BigInt(id.producerId),
        producerEpoch: id.producerEpoch,
        groupId: group.groupId,
      });
      return res.errorCode;
    });
    this.started = true;
    await this.txnOffsetCommit(offsets, group, deadline);
  }

  async commitTransaction(): Promise<void> {
    this.throwIfFatal();
    if (this.st === 'ABORTABLE_ERROR') throw this.error!;
    if (this.st !== 'IN_TRANSACTION' && this.st !== 'COMMITTING') throw new ClientError('ILLEGAL_STATE', `commitTransaction() needs an open transaction (state ${this.st})`);
    const deadline = this.d.clock.now() + this.d.maxBlockMs;
    if (this.st === 'IN_TRANSACTION') {
      await this.d.flush();
      await this.addLoop;
      this.throwIfFatal();
      // flush() settled every record: one that failed put the transaction in ABORTABLE_ERROR.
      if (this.state === 'ABORTABLE_ERROR') throw this.error!;
      this.st = 'COMMITTING';
    }
    await this.endTxn(true, deadline);
    this.st = 'READY';
  }

  async abortTransaction(): Promise<void> {
    this.throwIfFatal();
    if (this.st !== 'IN_TRANSACTION' && this.st !== 'ABORTABLE_ERROR' && this.st !== 'ABORTING') {
      throw new ClientError('ILLEGAL_STATE', `abortTransaction() needs an open transaction (state ${this.st})`);
    }
    const deadline = this.d.clock.now() + this.d.maxBlockMs;
    this.st = 'ABORTING';
    this.pending.clear();
    this.d.failUndrained(new ClientError('TRANSACTION_ABORTED', 'The record was not sent: its transaction was aborted'));
    await this.d.flush();
    await this.addLoop;
    this.throwIfFatal();
    await this.endTxn(false, deadline);
    if (this.epochBumpNeeded) {
      // KIP-360: sequences may have a gap; a bumped epoch starts every partition again at 0.
      const idem = this.d.idempotence;
      const id = await this.initProducerId({ producerId: idem.producerId, producerEpoch: idem.producerEpoch }, deadline);
      idem.setIdentity(id.producerId, id.producerEpoch);
      this.epochBumpNeeded = false;
    }
    this.st = 'READY';
    this.d.wakeup();
  }

  close(): void {
    this.closed = true;
    this.link.close();
    this.sleeper.wakeAll();
  }

  // ---------- internals ----------

  private throwIfFatal(): void {
    if (this.st === 'FATAL_ERROR') throw this.error!;
    if (this.closed) throw new ClientError('CLIENT_CLOSED', 'The producer is closed');
  }

  private abortable(err: Error): void {
    if (this.st !== 'IN_TRANSACTION' && this.st !== 'COMMITTING') return;
    this.st = 'ABORTABLE_ERROR';
    this.error = err;
    this.d.failUndrained(err);
  }

  private fatal(err: Error): void {
    if (this.st === 'FATAL_ERROR') return;
    this.st = 'FATAL_ERROR';
    this.error = err;
    this.d.idempotence.fatalError = err;
    this.d.failUndrained(err);
    this.d.wakeup();
  }

  private async initProducerId(current: { producerId: number; producerEpoch: number } | null, deadline = this.d.clock.now() + this.d.maxBlockMs): Promise<{ producerId: number; producerEpoch: number }> {
    let answer: InitProducerIdResponse | null = null;
    await this.coordinatorCall('InitProducerId', deadline, async () => {
      const bump = current !== null;
      if (bump) {
        // The bump needs v3+; without it the coordinator cannot tell a bump from a new instance.
        const conn = await this.d.cluster.anyConnection();
        if (conn.versionFor(INIT_PRODUCER_ID) < INIT_PRODUCER_ID_BUMP_MIN_VERSION) {
          throw new ClientError('UNSUPPORTED_VERSION', 'The broker cannot bump a transactional producer epoch (InitProducerId v3+); the producer must be recreated');
        }
      }
      const res = await this.link.request<InitProducerIdResponse>(INIT_PRODUCER_ID, {
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.d.transactionTimeoutMs,
        producerId: current === null ? -1n : BigInt(current.producerId),
        producerEpoch: current === null ? -1 : current.producerEpoch,
      });
      if (res.errorCode === 0) answer = res;
      return res.errorCode;
    });
    const res = answer as InitProducerIdResponse | null;
    if (res === null) throw new ClientError('PROTOCOL_ERROR', 'InitProducerId gave no answer');
    return { producerId: Number(res.producerId), producerEpoch: res.producerEpoch };
  }

  private async endTxn(commit: boolean, deadline: number): Promise<void> {
    if (!this.started) return; // nothing reached the coordinator: nothing to end
    const idem = this.d.idempotence;
    await this.coordinatorCall('EndTxn', deadline, async () => {
      const res = await this.link.request<EndTxnResponse>(END_TXN, {
        transactionalId: this.transactionalId,
        producerId: BigInt(idem.producerId),
        producerEpoch: idem.producerEpoch,
        committed: commit,
      });
      return res.errorCode;
    });
    this.started = false;
  }

  /**
   * One coordinator request, retried while the coordinator is busy, loading, moving or unreachable,
   * until `deadline`. A fencing error makes the producer fatal; any other error is thrown as is
   * (abortable for the transaction's own requests).
   */
  private async coordinatorCall(what: string, deadline: number, call: () => Promise<number>): Promise<void> {
    let delay = 0;
    for (;;) {
      if (this.closed) throw new ClientError('CLIENT_CLOSED', 'The producer is closed');
      let code: number;
      let failure: Error | null = null;
      // FindCoordinator retries on its own, without an end: bounded here by the call's deadline.
      const found = await within(this.d.clock, this.link.find(), deadline);
      if (found === TIMED_OUT) {
        failure = new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `FindCoordinator for transactional id ${this.transactionalId}`);
        code = -1;
      } else if (!found.ok) {
        throw found.error;
      } else {
        try {
          code = await call();
        } catch (err) {
          if (!isConnectionTrouble(err) && !(err instanceof KafkaProtocolError && err.retriable)) throw err;
          failure = err as Error;
          code = -1;
        }
      }
      if (code === 0) return;
      if (code > 0) {
        const err = new KafkaProtocolError(code, `${what} for transactional id ${this.transactionalId}`);
        if (FENCING.has(code)) {
          this.fatal(err);
          throw err;
        }
        if (COORDINATOR_MOVED.has(code)) this.link.markUnknown();
        if (!RETRY_LATER.has(code) && !err.retriable) throw err;
        failure = err;
      }
      const now = this.d.clock.now();
      if (now >= deadline) {
        const e = new ClientError('TIMEOUT', `${what} for transactional id ${this.transactionalId} did not complete in ${this.d.maxBlockMs} ms (last error: ${failure?.message ?? 'none'})`);
        e.cause = failure;
        throw e;
      }
      delay = code === ErrorCode.CONCURRENT_TRANSACTIONS ? CONCURRENT_TRANSACTIONS_BACKOFF_MS : nextBackoff(delay, this.d.retryBackoffMs, this.d.retryBackoffMaxMs);
      await this.sleeper.sleep(Math.min(delay, Math.max(0, deadline - now)));
    }
  }

  /** AddPartitionsToTxn for everything pending, repeated until none is left or the transaction failed. */
  private async runAddLoop(): Promise<void> {
    const idem = this.d.idempotence;
    while (this.pending.size > 0 && this.st === 'IN_TRANSACTION') {
      const topics = [...this.pending].map(([name, set]) => ({ name, partitions: [...set] }));
      let retryCode = 0;
      try {
        await this.coordinatorCall('AddPartitionsToTxn', this.d.clock.now() + this.d.maxBlockMs, async () => {
          const res = await this.link.request<AddPartitionsToTxnResponse>(ADD_PARTITIONS_TO_TXN, {
            v3AndBelowTransactionalId: this.transactionalId,
            v3AndBelowProducerId: BigInt(idem.producerId),
            v3AndBelowProducerEpoch: idem.producerEpoch,
            v3AndBelowTopics: topics,
          });
          if (res.errorCode !== 0) return res.errorCode;
          // Per partition: the first hard error decides; retriable ones (and OPERATION_NOT_ATTEMPTED, a sibling's fault) retry all.
          let hard = 0;
          retryCode = 0;
          for (const t of res.resultsByTopicV3AndBelow) {
            for (const p of t.resultsByPartition) {
              const c = p.partitionErrorCode;
              if (c === 0) {
                let set = this.added.get(t.name);
                if (set === undefined) this.added.set(t.name, (set = new Set()));
                set.add(p.partitionIndex);
                this.started = true;
                this.pending.get(t.name)?.delete(p.partitionIndex);
              } else if (c === ErrorCode.OPERATION_NOT_ATTEMPTED || RETRY_LATER.has(c)) {
                retryCode ||= c === ErrorCode.OPERATION_NOT_ATTEMPTED ? 0 : c;
              } else if (hard === 0) hard = c;
            }
          }
          for (const [name, set] of this.pending) if (set.size === 0) this.pending.delete(name);
          return hard !== 0 ? hard : retryCode;
        });
        this.d.wakeup();
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        if (this.st === 'IN_TRANSACTION') this.abortable(e);
        return;
      }
    }
  }

  private async txnOffsetCommit(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata, deadline: number): Promise<void> {
    const byTopic = new Map<string, TxnOffsetCommitRequest['topics'][number]>();
    for (const o of offsets) {
      let t = byTopic.get(o.topic);
      if (t === undefined) byTopic.set(o.topic, (t = { name: o.topic, partitions: [] }));
      t.partitions.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: o.leaderEpoch ?? -1, committedMetadata: o.metadata ?? '' });
    }
    const groupLink = new CoordinatorLink({ groupId: group.groupId, retryBackoffMs: this.d.retryBackoffMs, retryBackoffMaxMs: this.d.retryBackoffMaxMs }, this.d.cluster, this.d.cluster, this.sleeper);
    const idem = this.d.idempotence;
    let delay = 0;
    try {
      for (;;) {
        if (this.closed) throw new ClientError('CLIENT_CLOSED', 'The producer is closed');
        let retry: Error;
        const found = await within(this.d.clock, groupLink.find(), deadline);
        if (found === TIMED_OUT) throw new ClientError('TIMEOUT', `FindCoordinator for group ${group.groupId} did not complete in ${this.d.maxBlockMs} ms`);
        if (!found.ok) throw found.error;
        try {
          const res = await groupLink.request<TxnOffsetCommitResponse>(TXN_OFFSET_COMMIT, {
            transactionalId: this.transactionalId,
            groupId: group.groupId,
            producerId: BigInt(idem.producerId),
            producerEpoch: idem.producerEpoch,
            generationId: group.generationId,
            memberId: group.memberId,
            groupInstanceId: group.groupInstanceId,
            topics: [...byTopic.values()],
          });
          let code = 0;
          for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== 0 && code === 0) code = p.errorCode;
          if (code === 0) return;
          const err = new KafkaProtocolError(code, `TxnOffsetCommit for group ${group.groupId}`);
          if (FENCING.has(code)) {
            this.fatal(err);
            throw err;
          }
          if (COORDINATOR_MOVED.has(code)) groupLink.markUnknown();
          if (!RETRY_LATER.has(code) && !err.retriable) {
            // UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID...: the group moved on; abort.
            this.abortable(err);
            throw err;
          }
          retry = err;
        } catch (err) {
          if (!isConnectionTrouble(err)) throw err;
          retry = err as Error;
        }
        const now = this.d.clock.now();
        if (now >= deadline) {
          const e = new ClientError('TIMEOUT', `TxnOffsetCommit for group ${group.groupId} did not complete in ${this.d.maxBlockMs} ms (last error: ${retry.message})`);
          e.cause = retry;
          throw e;
        }
        delay = nextBackoff(delay, this.d.retryBackoffMs, this.d.retryBackoffMaxMs);
        await this.sleeper.sleep(Math.min(delay, deadline - now));
      }
    } finally {
      groupLink.close();
    }
  }
}
