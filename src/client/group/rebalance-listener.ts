import type { TopicPartition } from '../consumer/consumer-record.js';

/**
 * Kafka's ConsumerRebalanceListener. Callbacks run inside poll() (and unsubscribe() and close()),
 * never concurrently with it, and may be async: the rebalance waits for them. They may call the
 * consumer (seek, commit, position, ...) but not poll.
 */
export interface RebalanceListener {
  /**
   * Partitions newly assigned to this member, after the rebalance; called on every rebalance, with []
   * when nothing was added. Positions are not resolved yet: seek here to start elsewhere than the
   * committed offset.
   */
  onPartitionsAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /**
   * Partitions this member gives up while it still owns them: commit their offsets here. Eager
   * protocols revoke everything at the start of every rebalance; cooperative ones only what moves.
   */
  onPartitionsRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  /**
   * Partitions that may already belong to another member: the session expired, the member was
   * fenced or left after maxPollIntervalMs. Commits would fail. Defaults to onPartitionsRevoked.
   */
  onPartitionsLost?(partitions: TopicPartition[]): void | Promise<void>;
}
