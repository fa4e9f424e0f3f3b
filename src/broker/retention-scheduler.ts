import type { TimerHandle } from '../io/clock.js';
import { MAX_TIMER_MS } from '../io/clock.js';
import type { RetentionResult, TopicMetadata } from '../storage/types.js';
import type { Broker } from './broker.js';

/** What one partition lost in one retention check. */
export interface RetentionDeletion extends RetentionResult {
  readonly topic: string;
  readonly partition: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
}

/**
 * Kafka's log retention (the "kafka-log-retention" task): every log.retention.check.interval.ms, each
 * topic whose effective cleanup.policy includes `delete` drops the whole segments its effective
 * retention.ms / retention.bytes no longer keep. Configs are read afresh on each check, so topic and
 * broker changes take effect at the next one. Compacted-only topics (__consumer_offsets) are skipped.
 */
export class RetentionScheduler {
  private timer: TimerHandle | null = null;
  private stopped = true;

  constructor(private readonly broker: Broker) {}

  get intervalMs(): number {
    return Math.max(1, Math.min(this.broker.config.getInt('log.retention.check.interval.ms'), MAX_TIMER_MS));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** One check over every topic, now. Returns the partitions that lost segments. */
  runOnce(): RetentionDeletion[] {
    const deletions: RetentionDeletion[] = [];
    const now = this.broker.clock.now();
    for (const topic of this.broker.logs.listTopics()) {
      let limits: { retentionMs: number; retentionBytes: number } | null;
      try {
        limits = this.limitsFor(topic);
      } catch (err) {
        this.broker.log.error(`Retention check skipped topic ${topic.name}: ${String(err)}`);
        continue;
      }
      if (limits === null) continue;
      for (let partition = 0; partition < topic.partitions; partition++) {
        const log = this.broker.logs.partition(topic.name, partition);
        if (log === undefined) continue;
        try {
          const result = log.applyRetention({ now, ...limits });
          if (result.deletedSegments === 0) continue;
          const deletion: RetentionDeletion = { topic: topic.name, partition, ...limits, ...result };
          deletions.push(deletion);
          this.broker.log.info(
            `Deleted ${result.deletedSegments} log segment(s) (${result.deletedBytes} bytes) of ${topic.name}-${partition} ` +
              `by retention (retention.ms=${limits.retentionMs}, retention.bytes=${limits.retentionBytes}); ` +
              `log start offset is now ${result.logStartOffset}`,
          );
        } catch (err) {
          this.broker.log.error(`Retention check of ${topic.name}-${partition} failed: ${String(err)}`);
        }
      }
    }
    return deletions;
  }

  /** The topic's effective limits, or null when its cleanup.policy does not include delete. */
  private limitsFor(topic: TopicMetadata): { retentionMs: number; retentionBytes: number } | null {
    const policies = this.broker
      .topicConfig(topic, 'cleanup.policy')
      .split(',')
      .map((p) => p.trim().toLowerCase());
    if (!policies.includes('delete')) return null;
    const retentionMs = Number(this.broker.topicConfig(topic, 'retention.ms'));
    const retentionBytes = Number(this.broker.topicConfig(topic, 'retention.bytes'));
    if (!Number.isFinite(retentionMs) || !Number.isFinite(retentionBytes)) throw new Error('retention.ms or retention.bytes is not a number');
    if (retentionMs < 0 && retentionBytes < 0) return null;
    return { retentionMs, retentionBytes };
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.broker.clock.setTimer(this.intervalMs, () => {
      this.timer = null;
      if (this.stopped) return;
      try {
        this.runOnce();
      } catch (err) {
        this.broker.log.error(`Retention check failed: ${String(err)}`);
      }
      this.arm();
    });
  }
}
