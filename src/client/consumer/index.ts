export { createConsumer, type Consumer, type ConsumerMetrics, type PartitionAssignment, type PollOptions } from './consumer.js';
export type { AutoOffsetReset, ConsumerOptions, IsolationLevel } from './consumer-options.js';
export type { ConsumerRecord, OffsetAndTimestamp, RecordHeaders, TimestampType, TopicPartition, TopicPartitionOffset } from './consumer-record.js';
export { NoOffsetForPartitionError, OffsetOutOfRangeError, RecordDeserializationError } from './consumer-errors.js';
