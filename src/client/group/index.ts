// Client-side consumer group membership: the coordinator protocol, assignors, listener and errors.
export { ConsumerCoordinator, type CommittedOffset, type ConsumerGroupMetadata, type OffsetAndMetadata, type OffsetCommitCallback } from './consumer-coordinator.js';
export type { RebalanceListener } from './rebalance-listener.js';
export { CommitFailedError, RebalanceInProgressError } from './group-errors.js';
export { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor, rebalanceProtocolOf, resolveAssignors, type BuiltInAssignor, type MemberSubscription, type PartitionAssignor, type RebalanceProtocol } from './assignors/index.js';
