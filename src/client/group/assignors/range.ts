import { compareMembers, emptyAssignment, sortAssignment, type MemberSubscription, type PartitionAssignor } from './assignor.js';
import type { TopicPartition } from '../../consumer/consumer-record.js';

/**
 * Kafka's RangeAssignor: topic by topic, the members subscribed to it (in member order) get
 * consecutive ranges of its partitions, the first `n % members` one partition more.
 */
export const rangeAssignor: PartitionAssignor = {
  name: 'range',
  supportedProtocols: ['eager'],
  assign(partitionsPerTopic: ReadonlyMap<string, number>, members: readonly MemberSubscription[]): Map<string, TopicPartition[]> {
    const out = emptyAssignment(members);
    const byTopic = new Map<string, MemberSubscription[]>();
    for (const m of members) {
      for (const topic of new Set(m.topics)) {
        if (!partitionsPerTopic.has(topic)) continue;
        let list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, (list = []));
        list.push(m);
      }
    }
    for (const [topic, subscribers] of byTopic) {
      subscribers.sort(compareMembers);
      const n = partitionsPerTopic.get(topic)!;
      const per = Math.floor(n / subscribers.length);
      const extra = n % subscribers.length;
      subscribers.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const length = per + (i < extra ? 1 : 0);
        const list = out.get(m.memberId)!;
        for (let p = start; p < start + length; p++) list.push({ topic, partition: p });
      });
    }
    return sortAssignment(out);
  },
};
