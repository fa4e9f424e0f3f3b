import { GroupCoordinator, type Effects, type RequestMeta } from '../coordinator/group/group-coordinator.js';
import { offsetsPartitionFor, type OffsetsTopicRecord } from '../coordinator/group/offsets-topic-records.js';
import { buildRecordBatch } from '../protocol/records/record-batch-builder.js';
import { decodeRecordBatches } from '../protocol/records/record-batch-reader.js';
import type { TimerHandle } from '../io/clock.js';
import type { RequestContext } from './request-context.js';
import { SerialQueue } from './serial-queue.js';
import type { Broker } from './broker.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** Bytes read per step when replaying the offsets topic at start-up. */
const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/** Requests parked in JoinGroup/SyncGroup at once; beyond it joins fail with COORDINATOR_NOT_AVAILABLE. */
export const PARKED_GROUP_REQUESTS_MAX = 100_000;

/**
 * Runs the pure GroupCoordinator inside the broker: persists the records it emits to
 * __consumer_offsets (durably, before any response that depends on them), delivers replies to parked
 * JoinGroup/SyncGroup requests, and calls `tick` when the coordinator's next deadline comes.
 */
export class GroupRuntime {
  readonly coordinator: GroupCoordinator;
  private readonly parked = new Map<number, (response: object) => void>();
  private nextToken = 1;
  private timer: TimerHandle | null = null;
  private timerAt: number | null = null;
  private readonly appends = new SerialQueue();
  private closed = false;

  constructor(private readonly broker: Broker) {
    const c = broker.config;
    this.coordinator = new GroupCoordinator(
      {
        minSessionTimeoutMs: c.getInt('group.min.session.timeout.ms'),
        maxSessionTimeoutMs: c.getInt('group.max.session.timeout.ms'),
        initialRebalanceDelayMs: c.getInt('group.initial.rebalance.delay.ms'),
        offsetsRetentionMs: c.getInt('offsets.retention.minutes') * 60_000,
        offsetMetadataMaxBytes: c.getInt('offset.metadata.max.bytes'),
        maxGroupSize: c.getInt('group.max.size'),
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

  /** Rebuild every group and committed offset from __consumer_offsets (start-up). */
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
            for (const r of batch.records) {
              if (r.key !== null && r.offset >= offset) this.coordinator.replay(r.key, r.value, now);
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
    if (this.closed) return;
    const next = this.coordinator.nextDeadline();
    if (next === null) return;
    if (this.timerAt !== null && this.timerAt <= next) return;
    this.timer?.cancel();
    this.timerAt = next;
    this.timer = this.broker.clock.setTimer(Math.max(0, next - this.broker.clock.now()), () => {
      this.timer = null;
      this.timerAt = null;
      void this.apply(this.coordinator.tick(this.broker.clock.now())).catch((err: unknown) => this.broker.log.error(`group coordinator tick failed: ${String(err)}`));
    });
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
  }
}

/** The group id inside a record key (both key layouts start with the group string after the version). */
function groupOf(key: Buffer): string {
  const len = key.readInt16BE(2);
  return key.toString('utf8', 4, 4 + len);
}
