import { GroupCoordinator, type Effects, type RequestMeta, type TxnOffsetAppend } from '../coordinator/group/group-coordinator.js';
import { offsetsPartitionFor, type OffsetsTopicRecord } from '../coordinator/group/offsets-topic-records.js';
import { buildRecordBatch } from '../protocol/records/record-batch-builder.js';
import { decodeRecordBatches } from '../protocol/records/record-batch-reader.js';
import { ControlType } from '../protocol/records/control-batch.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../protocol/generated/txn-offset-commit.js';
import type { Encodable } from '../protocol/encodable.js';
import { ErrorCode } from '../protocol/errors.js';
import { ProducerStateError, type PartitionLog } from '../storage/types.js';
import { DeadlineTimer } from './deadline-timer.js';
import type { RequestContext } from './request-context.js';
import { SerialQueue } from './serial-queue.js';
import type { Broker } from './broker.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** Bytes read per step when replaying the offsets topic at start-up. */
const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/** Requests parked in JoinGroup/SyncGroup at once; beyond it joins fail with COORDINATOR_NOT_AVAILABLE. */
export const PARKED_GROUP_REQUESTS_MAX = 100_000;
const INT32_MAX = 2147483647;

/** KIP-890 verification of a transactional write: null when the producer's ongoing transaction holds the partition. */
export type TxnVerifier = () => { readonly errorCode: number; readonly message: string } | null;

/**
 * Runs the pure GroupCoordinator inside the broker: persists the records it emits to
 * __consumer_offsets (durably, before any response that depends on them), delivers replies to parked
 * JoinGroup/SyncGroup requests, and calls `tick` when the coordinator's next deadline comes.
 */
export class GroupRuntime {
  readonly coordinator: GroupCoordinator;
  private readonly parked = new Map<number, (response: object) => void>();
  private nextToken = 1;
  private readonly deadline: DeadlineTimer;
  private readonly appends = new SerialQueue();

  constructor(private readonly broker: Broker) {
    this.deadline = new DeadlineTimer(broker.clock, () => this.tick());
    const c = broker.config;
    this.coordinator = new GroupCoordinator(
      {
        minSessionTimeoutMs: c.getInt('group.min.session.timeout.ms'),
        maxSessionTimeoutMs: c.getInt('group.max.session.timeout.ms'),
        initialRebalanceDelayMs: c.getInt('group.initial.rebalance.delay.ms'),
        offsetsRetentionMs: c.getInt('offsets.retention.minutes') * 60_000,
        offsetMetadataMaxBytes: c.getInt('offset.metadata.max.bytes'),
        maxGroupSize: c.getInt('group.max.size'),
        offsetsTopicPartitions: c.getInt('offsets.topic.num.partitions'),
      },
      () => broker.random.uuid(),
    );
  }

  get parkedCount(): number {
    return this.parked.size;
  }

  /** Create __consumer_offsets on first use, compacted, as Kafka does. */
  ensureOffsetsTopic(): void {
    if (this.broker.logs.getTopic(OFFSETS_TOPIC) !== undefined) return;
    this.broker.logs.createTopic(OFFSETS_TOPIC, this.broker.config.getInt('offsets.topic.num.partitions'), { 'cleanup.policy': 'compact' }, this.broker.random.uuid());
  }

  /**
   * Rebuild every group and committed offset from __consumer_offsets (start-up). Offsets in a
   * transactional batch stay pending for their producer until a COMMIT or ABORT control batch of that
   * producer follows in the same partition; a transaction still open at the end of the log stays
   * pending until the transaction coordinator, after its own recovery, writes its marker.
   */
  async load(): Promise<void> {
    const topic = this.broker.logs.getTopic(OFFSETS_TOPIC);
    if (topic === undefined) return;
    const now = this.broker.clock.now();
    for (let p = 0; p < topic.partitions; p++) {
      const log = this.broker.logs.partition(OFFSETS_TOPIC, p)!;
      let offset = log.logStartOffset();
      while (offset < log.logEndOffset()) {
        const read = log.read(offset, REPLAY_READ_BYTES, true);
        if (read.chunks.length === 0) break;
        for (const chunk of read.chunks) {
          for (const batch of await decodeRecordBatches(chunk, { verifyCrc: true, maxDecompressedBytes: 64 * 1024 * 1024 })) {
            const producerId = batch.header.producerId;
            if (batch.isControl) {
              // Kafka's EndTransactionMarker: key (int16 version, int16 type), 0 ABORT, 1 COMMIT.
              const key = batch.records[0]?.key;
              const type = key !== undefined && key !== null && key.length >= 4 ? key.readInt16BE(2) : null;
              if (batch.header.baseOffset >= offset && (type === ControlType.COMMIT || type === ControlType.ABORT)) {
                this.coordinator.completeTransaction(p, producerId, type === ControlType.COMMIT);
              }
            } else {
              for (const r of batch.records) {
                if (r.key !== null && r.offset >= offset) this.coordinator.replay(r.key, r.value, now, batch.isTransactional ? producerId : null);
              }
            }
            offset = Math.max(offset, batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
          }
        }
      }
    }
    this.schedule();
  }

  meta(ctx: RequestContext, token: number): RequestMeta {
    return { version: ctx.apiVersion, clientId: ctx.clientId ?? '', clientHost: `/${ctx.clientHost}`, token };
  }

  /**
   * Run one coordinator step. `step` receives a token; if it parks the request, the response arrives
   * when a later step (another member's join, the leader's sync, a timeout) replies to that token.
   */
  async run<R extends object>(step: (token: number) => Effects<R>): Promise<R> {
    if (this.parked.size >= PARKED_GROUP_REQUESTS_MAX) throw new Error('too many parked group requests');
    const token = this.nextToken++;
    const own = new Promise<object>((resolve) => this.parked.set(token, resolve));
    const effects = step(token);
    await this.apply(effects);
    if (effects.response !== undefined) {
      this.parked.delete(token);
      return effects.response;
    }
    return (await own) as R;
  }

  /**
   * TxnOffsetCommit: the coordinator validates and holds the offsets as pending; their records are
   * appended as one transactional batch of the request's producer, fsynced, and only then answered.
   * `verify` (KIP-890) is asked again right before the append: this request may have waited behind
   * other appends while its transaction ended, and a late batch must not open a new transaction.
   * A refusal by the log's producer state (sequence, epoch) answers every partition with its code.
   */
  async txnOffsetCommit(req: TxnOffsetCommitRequest, ctx: RequestContext, verify: TxnVerifier): Promise<Encodable<TxnOffsetCommitResponse>> {
    const { logs, clock } = this.broker;
    const effects = this.coordinator.handleTxnOffsetCommit(req, this.meta(ctx, this.nextToken++), clock.now(), (topic, partition) => logs.partition(topic, partition) !== undefined);
    const response = effects.response;
    if (response === undefined) throw new Error('the group coordinator parked a TxnOffsetCommit, which it never does');
    const pending = effects.txnAppend;
    if (pending === undefined) return response;
    this.schedule();
    let errorCode: number;
    try {
      errorCode = await this.appends.run(() => this.appendTransactional(pending, effects.records, verify));
    } catch (err) {
      this.coordinator.txnOffsetsFailed(pending);
      throw err;
    }
    if (errorCode === 0) return response;
    this.coordinator.txnOffsetsFailed(pending);
    this.schedule();
    return {
      throttleTimeMs: 0,
      topics: (response.topics ?? []).map((t) => ({ name: t.name, partitions: (t.partitions ?? []).map((p) => ({ partitionIndex: p.partitionIndex, errorCode: p.errorCode === 0 ? errorCode : p.errorCode })) })),
    };
  }

  /** Append one TxnOffsetCommit's records as a transactional batch; 0 or the error code to answer. */
  private async appendTransactional(a: TxnOffsetAppend, records: readonly OffsetsTopicRecord[], verify: TxnVerifier): Promise<number> {
    this.ensureOffsetsTopic();
    const partition = offsetsPartitionFor(a.groupId, this.broker.config.getInt('offsets.topic.num.partitions'));
    const log = this.broker.logs.partition(OFFSETS_TOPIC, partition);
    // Kafka answers an offsets partition it cannot write to with COORDINATOR_NOT_AVAILABLE.
    if (log === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const now = this.broker.clock.now();
    const batch = await buildRecordBatch({
      producerId: a.producerId,
      producerEpoch: a.producerEpoch,
      baseSequence: nextSequence(log, a.producerId, a.producerEpoch),
      isTransactional: true,
      records: records.map((r) => ({ key: r.key, value: r.value, timestamp: now })),
    });
    const problem = verify();
    if (problem !== null) return problem.errorCode;
    try {
      const result = log.append(batch);
      if (result.duplicate === true) throw new Error(`${OFFSETS_TOPIC}-${partition}: a new transactional offset batch was taken for a retry`);
    } catch (err) {
      if (err instanceof ProducerStateError) return err.errorCode;
      throw err;
    }
    // Synchronously after the append: a marker written from here on follows these records.
    this.coordinator.txnOffsetsAppended(a);
    await log.flush();
    return 0;
  }

  /**
   * The transaction runtime appended a COMMIT or ABORT marker of `producerId` to __consumer_offsets
   * partition `offsetsPartition`: the producer's pending offsets there become committed or are dropped.
   */
  onTransactionMarker(offsetsPartition: number, producerId: number, commit: boolean): void {
    this.coordinator.completeTransaction(offsetsPartition, producerId, commit);
    // Offsets that waited for the transaction may now expire.
    this.schedule();
  }

  private async apply(effects: Effects): Promise<void> {
    this.schedule();
    // Records are written in the order the coordinator emitted them, and before the replies go out:
    // a member told it joined generation N must find N in the log after a crash.
    if (effects.records.length > 0) await this.appends.run(() => this.append(effects.records));
    for (const r of effects.replies) {
      const resolve = this.parked.get(r.token);
      if (resolve !== undefined) {
        this.parked.delete(r.token);
        resolve(r.response);
      }
    }
  }

  private async append(records: readonly OffsetsTopicRecord[]): Promise<void> {
    this.ensureOffsetsTopic();
    const partitions = this.broker.config.getInt('offsets.topic.num.partitions');
    const byPartition = new Map<number, OffsetsTopicRecord[]>();
    for (const r of records) {
      if (r.transactional !== undefined) throw new Error('transactional offset records are appended by txnOffsetCommit, one batch per request');
      const groupId = groupOf(r.key);
      const p = offsetsPartitionFor(groupId, partitions);
      const list = byPartition.get(p) ?? [];
      list.push(r);
      byPartition.set(p, list);
    }
    const now = this.broker.clock.now();
    const flushes: Array<Promise<void>> = [];
    for (const [p, list] of byPartition) {
      const log = this.broker.logs.partition(OFFSETS_TOPIC, p);
      if (log === undefined) continue;
      const batch = await buildRecordBatch({ records: list.map((r) => ({ key: r.key, value: r.value, timestamp: now })) });
      log.append(batch);
      flushes.push(log.flush());
    }
    await Promise.all(flushes);
  }

  private schedule(): void {
    this.deadline.schedule(this.coordinator.nextDeadline());
  }

  private tick(): void {
    void this.apply(this.coordinator.tick(this.broker.clock.now())).catch((err: unknown) => this.broker.log.error(`group coordinator tick failed: ${String(err)}`));
  }

  close(): void {
    this.deadline.close();
  }
}

/**
 * The sequence the next batch of (producerId, producerEpoch) must carry in `log`, from the log's own
 * producer state (recovered with the log, so it holds across restarts): 0 for a producer or epoch the
 * partition has not seen (or whose epoch a marker bumped), else one past its last batch's.
 */
function nextSequence(log: PartitionLog, producerId: number, producerEpoch: number): number {
  const entry = log.producerState().entry(producerId);
  if (entry === undefined || entry.epoch !== producerEpoch) return 0;
  const last = entry.batches[entry.batches.length - 1];
  if (last === undefined) return 0;
  return last.lastSeq === INT32_MAX ? 0 : last.lastSeq + 1;
}

/** The group id inside a record key (both key layouts start with the group string after the version). */
function groupOf(key: Buffer): string {
  const len = key.readInt16BE(2);
  return key.toString('utf8', 4, 4 + len);
}
