import type { TimerHandle } from '../io/clock.js';
import { MAX_TIMER_MS } from '../io/clock.js';
import { NO_TIMESTAMP } from '../storage/batch-header.js';
import { DEFAULT_DEDUPE_BUFFER_BYTES, type CompactionResult, type CompactionSettings } from '../storage/cleaner/types.js';
import type { TopicMetadata } from '../storage/types.js';
import type { Broker } from './broker.js';

/** Kafka's log.cleaner.backoff.ms default: the pause between cleaner passes. */
export const DEFAULT_CLEANER_BACKOFF_MS = 15_000;

export interface LogCleanerOptions {
  /** Pause between passes; otherwise log.cleaner.backoff.ms when the broker config knows it, else 15 s. */
  readonly intervalMs?: number;
  /** Bound of each partition's key -> offset map (log.cleaner.dedupe.buffer.size); default 128 MiB. */
  readonly dedupeBufferBytes?: number;
}

/** What one partition's pass did. */
export interface CleanerRun extends CompactionResult {
  readonly topic: string;
  readonly partition: number;
}

/**
 * Kafka's log cleaner, single-threaded: every interval, each partition of each topic whose effective
 * cleanup.policy includes `compact` (__consumer_offsets too) gets one compaction pass. Topic configs
 * (min.cleanable.dirty.ratio, min.compaction.lag.ms, max.compaction.lag.ms, delete.retention.ms) are
 * read afresh each pass. Passes never overlap: the next is armed when the previous one has finished.
 *
 * A pass cleans a partition when its dirty ratio reaches min.cleanable.dirty.ratio, when dirty data
 * is older than max.compaction.lag.ms, or when a tombstone kept by an earlier pass is now older than
 * delete.retention.ms (Kafka's "logs containing tombstones" case: quiet logs still lose expired
 * tombstones). For the last, each partition's oldest kept tombstone timestamp is remembered from its
 * last cleaning; a partition not cleaned since start-up is checked once, on its first pass.
 */
export class LogCleanerScheduler {
  private timer: TimerHandle | null = null;
  private stopped = true;
  private running: Promise<CleanerRun[]> | null = null;
  /**
   * Per partition (topic id and partition), the max timestamp of the oldest batch that still held a
   * tombstone after the last cleaning, NO_TIMESTAMP for none; absent until the partition is first
   * cleaned. Bounded by the partition count: entries of vanished partitions are dropped each pass.
   */
  private readonly oldestTombstones = new Map<string, number>();

  constructor(
    private readonly broker: Broker,
    private readonly options: LogCleanerOptions = {},
  ) {}

  get intervalMs(): number {
    const configured = this.broker.config.get('log.cleaner.backoff.ms');
    const ms = this.options.intervalMs ?? (configured !== null && Number.isFinite(Number(configured)) ? Number(configured) : DEFAULT_CLEANER_BACKOFF_MS);
    return Math.max(1, Math.min(ms, MAX_TIMER_MS));
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

  /** One pass over every compacted partition, now (joins a pass already running). */
  runOnce(): Promise<CleanerRun[]> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<CleanerRun[]> {
    const runs: CleanerRun[] = [];
    const seen = new Set<string>();
    for (const topic of this.broker.logs.listTopics()) {
      let settings: CompactionSettings | null;
      try {
        settings = this.settingsFor(topic);
      } catch (err) {
        this.broker.log.error(`Log cleaner skipped topic ${topic.name}: ${String(err)}`);
        continue;
      }
      if (settings === null) continue;
      for (let partition = 0; partition < topic.partitions; partition++) {
        const log = this.broker.logs.partition(topic.name, partition);
        if (log?.compact === undefined) continue;
        const key = `${topic.topicId}:${partition}`;
        seen.add(key);
        const oldest = this.oldestTombstones.get(key);
        // Unknown (not cleaned since start-up) counts as due: one pass finds out.
        const expireTombstones = oldest === undefined || (oldest !== NO_TIMESTAMP && oldest < settings.now - settings.deleteRetentionMs);
        try {
          const result = await log.compact({ ...settings, expireTombstones });
          if (result.oldestTombstoneTimestamp !== undefined) this.oldestTombstones.set(key, result.oldestTombstoneTimestamp);
          if (!result.cleaned) continue;
          runs.push({ topic: topic.name, partition, ...result });
          // A pass that only looked for expired tombstones and found none is not worth a line.
          if (result.reason === 'tombstones' && result.recordsRemoved === 0 && result.segmentsRewritten === 0) continue;
          this.broker.log.info(
            `Cleaned ${topic.name}-${partition} up to offset ${result.cleanedUpTo} (${reasonText(result)}): ${result.segmentsRewritten} segment(s) rewritten, ` +
              `${result.recordsRemoved} record(s) removed, ${result.bytesBefore} -> ${result.bytesAfter} bytes`,
          );
        } catch (err) {
          this.broker.log.error(`Log cleaner failed on ${topic.name}-${partition}: ${String(err)}`);
        }
      }
    }
    for (const key of this.oldestTombstones.keys()) if (!seen.has(key)) this.oldestTombstones.delete(key);
    return runs;
  }

  /** The topic's compaction settings, or null when its cleanup.policy does not include compact. */
  private settingsFor(topic: TopicMetadata): CompactionSettings | null {
    const policies = this.broker
      .topicConfig(topic, 'cleanup.policy')
      .split(',')
      .map((p) => p.trim().toLowerCase());
    if (!policies.includes('compact')) return null;
    const num = (key: string): number => {
      const value = Number(this.broker.topicConfig(topic, key));
      if (!Number.isFinite(value)) throw new Error(`${key} is not a number`);
      return value;
    };
    return {
      now: this.broker.clock.now(),
      minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
      minCompactionLagMs: num('min.compaction.lag.ms'),
      deleteRetentionMs: num('delete.retention.ms'),
      maxCompactionLagMs: num('max.compaction.lag.ms'),
      dedupeBufferBytes: this.options.dedupeBufferBytes ?? Number(this.broker.config.get('log.cleaner.dedupe.buffer.size') ?? DEFAULT_DEDUPE_BUFFER_BYTES),
    };
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.broker.clock.setTimer(this.intervalMs, () => {
      this.timer = null;
      if (this.stopped) return;
      this.runOnce()
        .catch((err: unknown) => this.broker.log.error(`Log cleaner pass failed: ${String(err)}`))
        .finally(() => this.arm());
    });
  }
}

function reasonText(result: CompactionResult): string {
  switch (result.reason) {
    case 'max-compaction-lag':
      return 'max.compaction.lag.ms exceeded';
    case 'tombstones':
      return 'tombstones past delete.retention.ms';
    default:
      return 'dirty ratio';
  }
}
