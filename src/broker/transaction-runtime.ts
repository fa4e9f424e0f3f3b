import type { InitProducerIdRequest, InitProducerIdResponse } from '../protocol/generated/init-producer-id.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../protocol/generated/add-partitions-to-txn.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../protocol/generated/add-offsets-to-txn.js';
import type { EndTxnRequest, EndTxnResponse } from '../protocol/generated/end-txn.js';
import type { ListTransactionsRequest, ListTransactionsResponse } from '../protocol/generated/list-transactions.js';
import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from '../protocol/generated/describe-transactions.js';
import type { Encodable } from '../protocol/encodable.js';
import { ErrorCode } from '../protocol/errors.js';
import { buildRecordBatch } from '../protocol/records/record-batch-builder.js';
import { decodeRecordBatches } from '../protocol/records/record-batch-reader.js';
import { TransactionCoordinator, type Effects, type MarkerRequest } from '../coordinator/transaction/transaction-coordinator.js';
import type { TransactionStateRecord } from '../coordinator/transaction/transaction-log-records.js';
import { offsetsPartitionFor } from '../coordinator/group/offsets-topic-records.js';
import { ProducerStateError, type PartitionLog } from '../storage/types.js';
import { DeadlineTimer } from './deadline-timer.js';
import { PartitionWaiters } from './partition-waiters.js';
import { OFFSETS_TOPIC } from './group-runtime.js';
import type { Broker } from './broker.js';
import type { RequestContext } from './request-context.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';
/** Bytes read per step when replaying __transaction_state at start-up. */
const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/** After a failed marker write (a storage error), try the transaction's markers again this much later. */
const MARKER_RETRY_MS = 1000;

export interface TxnProblem {
  readonly errorCode: number;
  readonly message: string;
}

/**
 * Runs the pure TransactionCoordinator inside the broker, Kafka's order of durability:
 * 1. the coordinator decides (state records for __transaction_state, markers to write);
 * 2. the records are appended and fsynced before any response that depends on them goes out;
 * 3. only then are the transaction markers written to the data partitions (never before the
 *    PrepareCommit/PrepareAbort record is durable, or a crash could leave some partitions committed
 *    and the coordinator not knowing it decided); once every marker is fsynced the coordinator
 *    records the completion.
 * On one node the "WriteTxnMarkers" step is a local append; the API itself is served too (handler 27).
 */
export class TransactionRuntime {
  readonly coordinator: TransactionCoordinator;
  private nextToken = 1;
  private readonly deadline: DeadlineTimer;
  /** producer id -> transactional id, rebuilt from the coordinator when a lookup misses. */
  private byProducerId = new Map<number, string>();

  constructor(private readonly broker: Broker) {
    this.deadline = new DeadlineTimer(broker.clock, () => this.tick());
    const c = broker.config;
    this.coordinator = new TransactionCoordinator(
      {
        transactionMaxTimeoutMs: c.getInt('transaction.max.timeout.ms'),
        transactionalIdExpirationMs: c.getInt('transactional.id.expiration.ms'),
        numPartitions: c.getInt('transaction.state.log.num.partitions'),
      },
      () => broker.producerIds.nextId(),
    );
  }

  /** Create __transaction_state on first use, compacted, as Kafka does. */
  ensureStateTopic(): void {
    if (this.broker.logs.getTopic(TRANSACTION_STATE_TOPIC) !== undefined) return;
    this.broker.logs.createTopic(TRANSACTION_STATE_TOPIC, this.broker.config.getInt('transaction.state.log.num.partitions'), { 'cleanup.policy': 'compact' }, this.broker.random.uuid());
  }

  /** Rebuild every transaction from __transaction_state, then finish those caught between decision and markers. */
  async load(): Promise<void> {
    const topic = this.broker.logs.getTopic(TRANSACTION_STATE_TOPIC);
    if (topic !== undefined) {
      for (let p = 0; p < topic.partitions; p++) {
        const log = this.broker.logs.partition(TRANSACTION_STATE_TOPIC, p);
        if (log === undefined) continue;
        let offset = log.logStartOffset();
        while (offset < log.logEndOffset()) {
          const read = log.read(offset, REPLAY_READ_BYTES, true);
          if (read.chunks.length === 0) break;
          for (const chunk of read.chunks) {
            for (const batch of await decodeRecordBatches(chunk, { verifyCrc: true, maxDecompressedBytes: 64 * 1024 * 1024 })) {
              for (const r of batch.records) if (r.key !== null && r.offset >= offset) this.coordinator.replay(r.key, r.value);
              offset = Math.max(offset, batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
            }
          }
        }
      }
    }
    for (const m of this.coordinator.pendingMarkers()) this.sendMarkers(m);
    this.schedule();
  }

  // ---------- requests ----------

  initProducerId(req: InitProducerIdRequest, ctx: RequestContext): Promise<Encodable<InitProducerIdResponse>> {
    if (req.transactionalId === '') return Promise.resolve({ throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 });
    return this.run((token, now) => this.coordinator.handleInitProducerId(req, { version: ctx.apiVersion, token }, now));
  }

  addPartitions(req: AddPartitionsToTxnRequest, ctx: RequestContext): Promise<Encodable<AddPartitionsToTxnResponse>> {
    const exists = (topic: string, partition: number): boolean => this.broker.logs.partition(topic, partition) !== undefined;
    return this.run((token, now) => this.coordinator.handleAddPartitionsToTxn(req, { version: ctx.apiVersion, token }, now, exists));
  }

  addOffsets(req: AddOffsetsToTxnRequest, ctx: RequestContext): Promise<Encodable<AddOffsetsToTxnResponse>> {
    const partitions = this.broker.config.getInt('offsets.topic.num.partitions');
    this.broker.groups.ensureOffsetsTopic();
    return this.run((token, now) => this.coordinator.handleAddOffsetsToTxn(req, { version: ctx.apiVersion, token }, now, (groupId) => offsetsPartitionFor(groupId, partitions)));
  }

  endTxn(req: EndTxnRequest, ctx: RequestContext): Promise<Encodable<EndTxnResponse>> {
    return this.run((token, now) => this.coordinator.handleEndTxn(req, { version: ctx.apiVersion, token }, now));
  }

  listTransactions(req: ListTransactionsRequest): Encodable<ListTransactionsResponse> {
    return this.coordinator.handleListTransactions(req, this.broker.clock.now());
  }

  describeTransactions(req: DescribeTransactionsRequest): Encodable<DescribeTransactionsResponse> {
    return this.coordinator.handleDescribeTransactions(req, this.broker.clock.now());
  }

  /**
   * KIP-890 part 1, done locally: a transactional batch (or transactional offset commit) is accepted
   * only while its producer's ongoing transaction holds the partition, so a write delayed past the end
   * of its transaction cannot land in the next one.
   */
  verifyPartition(producerId: number, producerEpoch: number, topic: string, partition: number): TxnProblem | null {
    let id = this.byProducerId.get(producerId);
    let m = id === undefined ? undefined : this.coordinator.transaction(id);
    if (m === undefined || m.producerId !== producerId) {
      this.byProducerId = new Map(this.coordinator.transactionalIds().flatMap((t) => {
        const meta = this.coordinator.transaction(t);
        return meta === undefined ? [] : [[meta.producerId, t] as const];
      }));
      id = this.byProducerId.get(producerId);
      m = id === undefined ? undefined : this.coordinator.transaction(id);
    }
    if (m === undefined) return { errorCode: ErrorCode.INVALID_TXN_STATE, message: `producer ${producerId} has no transaction` };
    if (producerEpoch < m.producerEpoch) return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${producerId} epoch ${producerEpoch} is fenced by epoch ${m.producerEpoch}` };
    if (m.state !== 'Ongoing' || producerEpoch !== m.producerEpoch || !m.hasPartition(topic, partition)) {
      return { errorCode: ErrorCode.INVALID_TXN_STATE, message: `${topic}-${partition} is not in an ongoing transaction of producer ${producerId} epoch ${producerEpoch}` };
    }
    return null;
  }

  // ---------- effects ----------

  private async run<R extends object>(step: (token: number, now: number) => Effects<R>): Promise<R> {
    const effects = step(this.nextToken++, this.broker.clock.now());
    await this.apply(effects);
    if (effects.response === undefined) throw new Error('the transaction coordinator parked a request, which it never does');
    return effects.response;
  }

  /** Persist records (durably), then write markers; the caller answers after this resolves. */
  private async apply(effects: Effects): Promise<void> {
    this.schedule();
    if (effects.records.length > 0) await this.persist(effects.records);
    for (const m of effects.markers) this.sendMarkers(m);
  }

  private async persist(records: readonly TransactionStateRecord[]): Promise<void> {
    this.ensureStateTopic();
    const now = this.broker.clock.now();
    const byPartition = new Map<number, TransactionStateRecord[]>();
    for (const r of records) {
      const list = byPartition.get(r.partition) ?? [];
      list.push(r);
      byPartition.set(r.partition, list);
    }
    // Build every batch first, then append them all in one synchronous run: the coordinator's later
    // decisions may not overtake these records in the log.
    const batches: Array<{ log: PartitionLog; batch: Buffer }> = [];
    for (const [p, list] of byPartition) {
      const log = this.broker.logs.partition(TRANSACTION_STATE_TOPIC, p);
      if (log === undefined) throw new Error(`${TRANSACTION_STATE_TOPIC}-${p} does not exist`);
      batches.push({ log, batch: await buildRecordBatch({ records: list.map((r) => ({ key: r.key, value: r.value, timestamp: now })) }) });
    }
    for (const b of batches) b.log.append(b.batch);
    await Promise.all(batches.map((b) => b.log.flush()));
  }

  /** Write one transaction's markers to all its partitions, fsync them, then tell the coordinator. */
  private sendMarkers(m: MarkerRequest): void {
    if (this.deadline.isClosed) return;
    void this.writeMarkers(m).then(
      () => this.apply(this.coordinator.markersWritten(m.transactionalId, m.producerId, m.producerEpoch, this.broker.clock.now())),
      (err: unknown) => {
        this.broker.log.error(`writing markers for transaction ${m.transactionalId} failed, retrying: ${String(err)}`);
        this.broker.clock.setTimer(MARKER_RETRY_MS, () => this.sendMarkers(m));
      },
    ).catch((err: unknown) => this.broker.log.error(`completing transaction ${m.transactionalId} failed: ${String(err)}`));
  }

  private async writeMarkers(m: MarkerRequest): Promise<void> {
    const logs = writeTransactionMarkers(this.broker, m);
    await Promise.all(logs.map((l) => l.flush()));
  }

  private schedule(): void {
    this.deadline.schedule(this.coordinator.nextDeadline());
  }

  private tick(): void {
    void this.apply(this.coordinator.tick(this.broker.clock.now())).catch((err: unknown) => this.broker.log.error(`transaction coordinator tick failed: ${String(err)}`));
  }

  close(): void {
    this.deadline.close();
  }
}

/**
 * Append one transaction's COMMIT or ABORT marker to each of its partitions (Kafka's WriteTxnMarkers
 * on the partition leader), waking read_committed fetches parked on them and completing transactional
 * offset commits in __consumer_offsets. Returns the logs written, for the caller to fsync. A
 * partition deleted meanwhile is skipped, as Kafka does; a fenced epoch is reported per partition.
 */
export function writeTransactionMarkers(
  broker: Broker,
  m: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number; partitions: ReadonlyArray<{ topic: string; partition: number }> },
  onPartition?: (topic: string, partition: number, errorCode: number) => void,
): PartitionLog[] {
  const logs: PartitionLog[] = [];
  for (const { topic, partition } of m.partitions) {
    const log = broker.logs.partition(topic, partition);
    if (log === undefined) {
      onPartition?.(topic, partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      continue;
    }
    try {
      log.appendMarker({ producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.commit, coordinatorEpoch: m.coordinatorEpoch });
    } catch (err) {
      if (!(err instanceof ProducerStateError)) throw err;
      broker.log.warn(`marker for producer ${m.producerId} on ${topic}-${partition} refused: ${err.message}`);
      onPartition?.(topic, partition, err.errorCode);
      continue;
    }
    if (topic === OFFSETS_TOPIC) broker.groups.onTransactionMarker(partition, m.producerId, m.commit);
    broker.waiters.notify(PartitionWaiters.key(topic, partition));
    logs.push(log);
    onPartition?.(topic, partition, 0);
  }
  return logs;
}
