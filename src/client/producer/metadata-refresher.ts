import type { Clock, TimerHandle } from '../../io/clock.js';
import type { Cluster } from '../cluster.js';

/**
 * Coalesces the producer's metadata refreshes: at most one Metadata request at a time, at most one
 * per retryBackoffMs (so a leaderless partition cannot spin), always for every topic the producer
 * uses plus the ones just asked for. Refreshes ask the broker to auto-create unknown topics, as the
 * Java producer does (the broker decides, by auto.create.topics.enable).
 */
export class MetadataRefresher {
  /** Topics the producer has written to or is waiting for: bounded by the topics the application names. */
  private readonly topics = new Set<string>();
  private wanted = false;
  private running = false;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastSuccess = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | null = null;
  private closed = false;
  /** Why the last refresh failed, for the DELIVERY_TIMEOUT of records that waited on it. */
  lastError: Error | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly clock: Clock,
    private readonly backoffMs: number,
    private readonly maxAgeMs: number,
    /** Called after every refresh, successful or not. */
    private readonly onDone: () => void,
  ) {}

  /** Ask for a refresh that includes `topic`. */
  request(topic: string): void {
    this.topics.add(topic);
    this.wanted = true;
    this.maybeStart();
  }

  /** Refresh if the cached metadata is older than metadataMaxAgeMs (Kafka's metadata.max.age.ms). */
  refreshIfStale(): void {
    if (this.topics.size > 0 && this.clock.now() - this.lastSuccess >= this.maxAgeMs) {
      this.wanted = true;
      this.maybeStart();
    }
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private maybeStart(): void {
    if (this.closed || this.running || !this.wanted || this.timer !== null) return;
    const wait = this.lastAttempt + this.backoffMs - this.clock.now();
    if (wait > 0) {
      this.timer = this.clock.setTimer(wait, () => {
        this.timer = null;
        this.maybeStart();
      });
      return;
    }
    void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    this.wanted = false;
    this.lastAttempt = this.clock.now();
    try {
      await this.cluster.refreshMetadata([...this.topics], true);
      this.lastSuccess = this.clock.now();
      this.lastError = null;
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
    } finally {
      this.running = false;
    }
    this.onDone();
    this.maybeStart();
  }
}
