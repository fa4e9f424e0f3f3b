import { tpKey, type TopicPartition } from '../../consumer/consumer-record.js';

/**
 * How members give up partitions in a rebalance. Eager: everything is revoked before rejoining.
 * Cooperative (KIP-429): members keep what stays theirs and revoke only what moves, and a moved
 * partition reaches its new owner in a second rebalance.
 */
export type RebalanceProtocol = 'eager' | 'cooperative';

/** One member as the leader sees it in the JoinGroup response, its subscription decoded. */
export interface MemberSubscription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly topics: readonly string[];
  /** What the member owned when it joined (subscription v1+); always empty under the eager protocol. */
  readonly ownedPartitions: readonly TopicPartition[];
  /** The generation the owned partitions belong to (subscription v2+), -1 when unknown. */
  readonly generationId: number;
}

/** Kafka's ConsumerPartitionAssignor, run by the group leader. */
export interface PartitionAssignor {
  /** The protocol name members vote on in JoinGroup ("range", "roundrobin", ...). */
  readonly name: string;
  readonly supportedProtocols: readonly RebalanceProtocol[];
  /**
   * `partitionsPerTopic` holds every existing topic some member subscribes to (partitions 0..n-1).
   * The result names every member, with [] for a member that gets nothing.
   */
  assign(partitionsPerTopic: ReadonlyMap<string, number>, members: readonly MemberSubscription[]): Map<string, TopicPartition[]>;
}

/** Java's String.compareTo: UTF-16 code units, which is what JavaScript's < compares. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Kafka's member order (AbstractPartitionAssignor.MemberInfo): static members first by instance id,
 * then dynamic members by member id, so a restarted static member lands where it was.
 */
export function compareMembers(a: MemberSubscription, b: MemberSubscription): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) return compareStrings(a.groupInstanceId, b.groupInstanceId);
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return compareStrings(a.memberId, b.memberId);
}

export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic === b.topic ? a.partition - b.partition : compareStrings(a.topic, b.topic);
}

/** Every partition of the topics, sorted by topic then partition. */
export function allPartitionsSorted(partitionsPerTopic: ReadonlyMap<string, number>, topics: Iterable<string>): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const topic of [...new Set(topics)].sort(compareStrings)) {
    const n = partitionsPerTopic.get(topic);
    if (n === undefined) continue;
    for (let partition = 0; partition < n; partition++) out.push({ topic, partition });
  }
  return out;
}

/** An empty assignment for every member, to fill in. */
export function emptyAssignment(members: readonly MemberSubscription[]): Map<string, TopicPartition[]> {
  return new Map(members.map((m) => [m.memberId, []]));
}

/** Sort each member's partitions, for stable output. */
export function sortAssignment(a: Map<string, TopicPartition[]>): Map<string, TopicPartition[]> {
  for (const list of a.values()) list.sort(compareTopicPartitions);
  return a;
}

export { tpKey };
