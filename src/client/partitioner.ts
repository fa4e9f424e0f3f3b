import { murmur2, toPositive } from './murmur2.js';

/**
 * A user-supplied partitioner: the serialized key (null when the record has none), the topic, and
 * the topic's partition count; returns a partition in [0, partitionCount).
 */
export type Partitioner = (key: Buffer | null, topic: string, partitionCount: number) => number;

/** Where the sticky partitioner's random choices come from; `src/io/random.ts`'s Random fits. */
export interface PartitionRandom {
  /** Integer in [0, max). */
  int(max: number): number;
}

/**
 * The partition of a keyed record, identical to the Java client's
 * (`BuiltInPartitioner.partitionForKey`: `toPositive(murmur2(key)) % numPartitions`), so records
 * with the same key land on the same partition whichever Kafka client wrote them.
 */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount;
}

/**
 * KIP-480's sticky partitioner for records without a key: every keyless record of a topic goes to
 * one partition until the batch it was filling is full or has been sent, then a new partition is
 * picked at random (a different one when there is a choice, and one with a leader when any has).
 * Batches fill up instead of spreading single records over every partition, which is where the
 * latency win of KIP-480 comes from. Holds one entry per topic the producer writes to.
 */
export class StickyPartitioner {
  private readonly current = new Map<string, { partition: number; used: boolean }>();

  constructor(private readonly random: PartitionRandom) {}

  /**
   * The partition for the next keyless record of `topic`. `available` lists the partitions that
   * have a leader; `startsNewBatch(p)` tells whether appending the record to `p` would open a new
   * batch, which is the moment the sticky choice moves on (Java's `onNewBatch`).
   */
  partition(topic: string, partitionCount: number, available: readonly number[], startsNewBatch: (partition: number) => boolean): number {
    let s = this.current.get(topic);
    if (s === undefined || s.partition >= partitionCount) {
      s = { partition: this.pick(partitionCount, available, -1), used: false };
      this.current.set(topic, s);
    } else if (s.used && startsNewBatch(s.partition)) {
      // The batch we were filling is full or on its way: stick to a new partition from here on.
      s = { partition: this.pick(partitionCount, available, s.partition), used: false };
      this.current.set(topic, s);
    }
    s.used = true;
    return s.partition;
  }

  private pick(partitionCount: number, available: readonly number[], previous: number): number {
    const pool = available.length > 0 ? available : Array.from({ length: partitionCount }, (_, i) => i);
    const others = pool.length > 1 ? pool.filter((p) => p !== previous) : pool;
    return others[this.random.int(others.length)]!;
  }
}
