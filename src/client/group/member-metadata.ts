import { decodeConsumerProtocolSubscription } from '../../protocol/generated/consumer-protocol-subscription.js';
import type { JoinGroupResponseJoinGroupResponseMember } from '../../protocol/generated/join-group.js';
import { Reader } from '../../protocol/reader.js';
import { decodeSubscription, type TopicPartitions } from '../consumer-protocol.js';
import type { TopicPartition } from '../consumer/consumer-record.js';
import type { MemberSubscription } from './assignors/assignor.js';

/**
 * A member's subscription from its JoinGroup metadata. A blob that does not parse at its stated
 * version is read as v0 (topics and user data, the part every version starts with); one that does
 * not parse at all subscribes to nothing, so one odd member cannot stop the leader's assignment.
 */
export function decodeMemberSubscription(m: JoinGroupResponseJoinGroupResponseMember): MemberSubscription {
  const sub = decodeSubscription(m.metadata);
  if (sub !== null) {
    return {
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      topics: sub.topics,
      ownedPartitions: sub.ownedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))),
      generationId: sub.generationId,
    };
  }
  let topics: string[] = [];
  if (m.metadata.length >= 2) {
    const r = new Reader(m.metadata);
    r.int16();
    const v0 = decodeConsumerProtocolSubscription(r, 0);
    if (r.ok) topics = v0.topics;
  }
  return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics, ownedPartitions: [], generationId: -1 };
}

/** Partitions grouped by topic (first-seen order), partitions sorted: the wire shape of assignments. */
export function groupByTopic(partitions: readonly TopicPartition[]): TopicPartitions[] {
  const m = new Map<string, number[]>();
  for (const tp of partitions) {
    let list = m.get(tp.topic);
    if (list === undefined) m.set(tp.topic, (list = []));
    list.push(tp.partition);
  }
  return [...m].map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) }));
}
