/** A partition of a topic, as every consumer call names it. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: bigint;
}

/** What offsetsForTimes answers per partition: null when no record is at or after the timestamp. */
export interface OffsetAndTimestamp extends TopicPartition {
  readonly offset: bigint | null;
  readonly timestamp: number | null;
}

/** Kafka's names for a batch's timestamp type (TimestampType.name in the Java client). */
export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** Headers in record order; Kafka allows the same key more than once, so not a map. */
export type RecordHeaders = ReadonlyArray<readonly [string, Buffer | null]>;

export interface ConsumerRecord<K, V> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** Milliseconds since the epoch: the producer's time, or the broker's under LogAppendTime. */
  readonly timestamp: number;
  readonly timestampType: TimestampType;
  readonly key: K;
  readonly value: V;
  readonly headers: RecordHeaders;
  /** The leader epoch stamped on the record's batch, when the broker stamps one. */
  readonly leaderEpoch?: number;
}

/** The map key of a partition: NUL cannot occur in a topic name. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function tpName(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}
