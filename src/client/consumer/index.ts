export { createConsumer, type Consumer, type ConsumerMetrics, type PartitionAssignment, type PollOptions } from './consumer.js';
export type { AutoOffsetReset, ConsumerOptions, IsolationLevel } from './consumer-options.js';
export type { ConsumerRecord, OffsetAndTimestamp, RecordHeaders, TimestampType, TopicPartition, TopicPartitionOffset } from './consumer-record.js';
export { NoOffsetForPartitionError, OffsetOutOfRangeError, RecordDeserializationError } from './consumer-errors.js';
export type { CommittedOffset, ConsumerGroupMetadata, OffsetAndMetadata, OffsetCommitCallback } from '../group/consumer-coordinator.js';
export type { RebalanceListener } from '../group/rebalance-listener.js';
export { CommitFailedError, RebalanceInProgressError } from '../group/group-errors.js';
export { rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor, type BuiltInAssignor, type MemberSubscription, type PartitionAssignor, type RebalanceProtocol } from '../group/assignors/index.js';
