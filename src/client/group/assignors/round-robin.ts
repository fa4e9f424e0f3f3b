import { allPartitionsSorted, compareMembers, emptyAssignment, type MemberSubscription, type PartitionAssignor } from './assignor.js';
import type { TopicPartition } from '../../consumer/consumer-record.js';

/**
 * Kafka's RoundRobinAssignor: every partition of every subscribed topic, sorted by topic and
 * partition, dealt out in turn to the members in member order, skipping members not subscribed to
 * the partition's topic.
 */
export const roundRobinAssignor: PartitionAssignor = {
  name: 'roundrobin',
  supportedProtocols: ['eager'],
  assign(partitionsPerTopic: ReadonlyMap<string, number>, members: readonly MemberSubscription[]): Map<string, TopicPartition[]> {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(compareMembers);
    const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.topics)]));
    const all = allPartitionsSorted(partitionsPerTopic, sorted.flatMap((m) => m.topics));
    let next = 0;
    for (const tp of all) {
      // Some member subscribes to every topic in `all`, so this finds one within a full turn.
      while (!subscribed.get(sorted[next % sorted.length]!.memberId)!.has(tp.topic)) next++;
      out.get(sorted[next % sorted.length]!.memberId)!.push(tp);
      next++;
    }
    return out;
  },
};
