import { ErrorCode } from '../../protocol/errors.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import { tpName, type TopicPartitionOffset, type TopicPartition } from './consumer-record.js';

/**
 * Fetch answered OFFSET_OUT_OF_RANGE and autoOffsetReset is 'none'. Thrown by every poll until the
 * application seeks the partitions listed here (Kafka's OffsetOutOfRangeException).
 */
export class OffsetOutOfRangeError extends KafkaProtocolError {
  constructor(readonly partitions: readonly TopicPartitionOffset[]) {
    super(ErrorCode.OFFSET_OUT_OF_RANGE, `offsets out of range with no reset policy: ${partitions.map((p) => `${tpName(p)} at ${p.offset}`).join(', ')}`);
  }
}

/**
 * A partition has no position and autoOffsetReset is 'none' (Kafka's NoOffsetForPartitionException):
 * assign it with an offset, or seek, before polling.
 */
export class NoOffsetForPartitionError extends ClientError {
  constructor(readonly partitions: readonly TopicPartition[]) {
    super('INVALID_ARGUMENT', `no offset for ${partitions.map(tpName).join(', ')} and autoOffsetReset is 'none': seek first`);
  }
}

/** A key or value deserializer threw; the position stays at this record until the application seeks past it. */
export class RecordDeserializationError extends Error {
  readonly topic: string;
  readonly partition: number;
  constructor(tp: TopicPartition, readonly offset: bigint, cause: unknown) {
    super(`cannot deserialize ${tpName(tp)} at offset ${offset}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.topic = tp.topic;
    this.partition = tp.partition;
  }
}
