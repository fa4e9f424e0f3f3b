import { ClientError } from '../errors.js';
import { tpKey, tpName, type TopicPartition } from './consumer-record.js';

export type ResetStrategy = 'earliest' | 'latest';

/** Everything the consumer tracks for one assigned partition. */
export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** The next offset to hand to the application; null until a reset resolves it. */
  position: bigint | null;
  /**
   * The next offset to fetch: past everything already buffered, so the next fetch can overlap the
   * application's processing. Equals `position` whenever nothing is buffered for the partition.
   */
  fetchPosition: bigint | null;
  /**
   * Bumped by every seek and reset. Fetched data and fetch responses carry the epoch they were
   * requested under; a mismatch means the application moved the position and the data is dropped.
   */
  epoch: number;
  /** Where to go when the position is unknown; null when autoOffsetReset is 'none'. */
  resetTo: ResetStrategy | null;
  paused: boolean;
  /** Part of a fetch in flight (at most one per partition). */
  inFlight: boolean;
  /** A ListOffsets for the reset is in flight. */
  resetting: boolean;
  /**
   * An error entry for this partition waits in the fetch buffer behind its data: no fetch until
   * poll reaches it, or the same error would be fetched again and again.
   */
  awaitingError: boolean;
  /** Clock time before which the partition is not fetched or reset again (after an error). */
  retryAt: number;
  /** Thrown by every poll until the application seeks (offset out of range with 'none'). */
  failure: Error | null;
  /**
   * With a groupId: the group's committed offset is being looked up (OffsetFetch). Neither fetched
   * nor reset meanwhile; resolves to a seek, or to resetTo when nothing was committed. A seek or
   * reset by the application wins over the committed offset.
   */
  committedPending: boolean;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
}

/**
 * The assignment and its positions. Assigning again keeps the state of partitions that stay
 * assigned, as Kafka's consumer does, so a future group rebalance can reuse this for `subscribe`.
 */
export class Positions {
  private readonly states = new Map<string, PartitionState>();

  constructor(private readonly defaultReset: ResetStrategy | null) {}

  /** Replace the assignment; returns the states that were dropped. */
  assign(partitions: ReadonlyArray<TopicPartition & { readonly offset?: bigint | undefined }>): PartitionState[] {
    // Validate everything first, so a bad entry leaves the assignment untouched.
    for (const p of partitions) {
      validateTopicPartition(p);
      if (p.offset !== undefined) validateOffset(p.offset);
    }
    const next = new Map<string, PartitionState>();
    for (const p of partitions) {
      const key = tpKey(p.topic, p.partition);
      const s = next.get(key) ?? this.states.get(key) ?? this.fresh(p.topic, p.partition, key);
      next.set(key, s);
      if (p.offset !== undefined) this.seek(s, p.offset);
    }
    const dropped = [...this.states.values()].filter((s) => next.get(s.key) !== s);
    this.states.clear();
    for (const [k, s] of next) this.states.set(k, s);
    return dropped;
  }

  private fresh(topic: string, partition: number, key: string): PartitionState {
    return {
      topic, partition, key,
      position: null, fetchPosition: null, epoch: 0, resetTo: this.defaultReset,
      paused: false, inFlight: false, resetting: false, awaitingError: false, retryAt: 0, failure: null, committedPending: false,
      highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n,
    };
  }

  get size(): number {
    return this.states.size;
  }

  all(): IterableIterator<PartitionState> {
    return this.states.values();
  }

  get(tp: TopicPartition): PartitionState | undefined {
    return this.states.get(tpKey(tp.topic, tp.partition));
  }

  /** The state of an assigned partition, or an INVALID_ARGUMENT error naming it. */
  require(tp: TopicPartition): PartitionState {
    const s = this.get(tp);
    if (s === undefined) throw new ClientError('INVALID_ARGUMENT', `${tpName(tp)} is not assigned to this consumer`);
    return s;
  }

  /** Still assigned: fetched data for a state object that was unassigned (and maybe reassigned) is stale. */
  isCurrent(s: PartitionState): boolean {
    return this.states.get(s.key) === s;
  }

  seek(s: PartitionState, offset: bigint): void {
    validateOffset(offset);
    this.moved(s);
    s.position = offset;
    s.fetchPosition = offset;
  }

  /** Forget the position; the fetcher resolves it with ListOffsets (seekToBeginning/End, resets). */
  requestReset(s: PartitionState, strategy: ResetStrategy): void {
    this.moved(s);
    s.position = null;
    s.fetchPosition = null;
    s.resetTo = strategy;
  }

  /** A reset's ListOffsets answered for the epoch it was sent under. */
  resolveReset(s: PartitionState, offset: bigint): void {
    s.epoch++;
    s.position = offset;
    s.fetchPosition = offset;
    s.retryAt = 0;
  }

  private moved(s: PartitionState): void {
    s.epoch++;
    s.committedPending = false;
    s.failure = null;
    s.awaitingError = false;
    s.retryAt = 0;
  }
}

export function validateTopicPartition(tp: TopicPartition): void {
  if (typeof tp.topic !== 'string' || tp.topic === '') throw new ClientError('INVALID_ARGUMENT', `invalid topic ${JSON.stringify(tp.topic)}`);
  if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition > 0x7fffffff) throw new ClientError('INVALID_ARGUMENT', `invalid partition ${String(tp.partition)} of ${tp.topic}`);
}

function validateOffset(offset: bigint): void {
  if (typeof offset !== 'bigint' || offset < 0n || offset > 0x7fffffffffffffffn) throw new ClientError('INVALID_ARGUMENT', `invalid offset ${String(offset)}: a bigint >= 0`);
}
