import type { Random } from '../io/random.js';

/** Sessions kept at once (Kafka's max.incremental.fetch.session.cache.slots default). */
export const FETCH_SESSIONS_MAX = 1000;
/** Partitions one session may hold, so a session cannot grow without bound. */
export const FETCH_SESSION_PARTITIONS_MAX = 100_000;

export interface SessionPartition {
  /** Name for Fetch v7-12 sessions, topic id for v13+. */
  readonly topicKey: string;
  readonly partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  /** What the client was last told, so incremental responses carry only what changed. */
  lastHighWatermark: bigint;
  lastLogStartOffset: bigint;
}

export class FetchSession {
  /** The epoch the next incremental request must carry. */
  nextEpoch = 1;
  lastUsed: number;
  readonly partitions = new Map<string, SessionPartition>();

  constructor(readonly id: number, readonly byTopicId: boolean, now: number) {
    this.lastUsed = now;
  }

  static key(topicKey: string, partition: number): string {
    return `${topicKey}\u0000${partition}`;
  }
}

/**
 * Incremental fetch sessions (KIP-227). A full fetch with epoch 0 opens a session; later requests
 * name it with the next epoch and list only partitions that changed; responses list only partitions
 * with news. The cache is bounded: when full, the least recently used session is evicted, and its
 * client gets FETCH_SESSION_ID_NOT_FOUND and starts over with a full fetch, as in Kafka.
 */
export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();

  constructor(private readonly random: Random) {}

  get size(): number {
    return this.sessions.size;
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  create(byTopicId: boolean, now: number): FetchSession {
    if (this.sessions.size >= FETCH_SESSIONS_MAX) {
      let oldest: FetchSession | undefined;
      for (const s of this.sessions.values()) if (oldest === undefined || s.lastUsed < oldest.lastUsed) oldest = s;
      if (oldest !== undefined) this.sessions.delete(oldest.id);
    }
    let id = 0;
    while (id === 0 || this.sessions.has(id)) id = 1 + this.random.int(0x7ffffffe);
    const s = new FetchSession(id, byTopicId, now);
    this.sessions.set(id, s);
    return s;
  }

  remove(id: number): void {
    this.sessions.delete(id);
  }
}
