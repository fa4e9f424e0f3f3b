import { allPartitionsSorted, compareMembers, compareTopicPartitions, emptyAssignment, sortAssignment, tpKey, type MemberSubscription, type PartitionAssignor } from './assignor.js';
import type { TopicPartition } from '../../consumer/consumer-record.js';

interface Load {
  readonly member: MemberSubscription;
  readonly order: number;
  readonly topics: ReadonlySet<string>;
  /** Partition keys the member keeps from its previous assignment. */
  readonly kept: Set<string>;
  readonly partitions: Map<string, TopicPartition>;
}

/**
 * Kafka's CooperativeStickyAssignor semantics:
 * - balanced: no member could take a partition it subscribes to from a member holding two or more
 *   partitions more than it (with equal subscriptions: everyone gets floor or ceil of the average);
 * - sticky: members keep what they validly owned (subscription v1+ ownedPartitions) unless balance
 *   needs it elsewhere; a partition claimed by several members resolves to the newest generation;
 * - cooperative: a partition whose previous owner is another member is left out of this round's
 *   assignment; its owner revokes it, rejoins, and the second rebalance hands it over.
 */
export const cooperativeStickyAssignor: PartitionAssignor = {
  name: 'cooperative-sticky',
  supportedProtocols: ['cooperative', 'eager'],
  assign(partitionsPerTopic: ReadonlyMap<string, number>, members: readonly MemberSubscription[]): Map<string, TopicPartition[]> {
    const sorted = [...members].sort(compareMembers);
    const loads: Load[] = sorted.map((member, order) => ({ member, order, topics: new Set(member.topics), kept: new Set(), partitions: new Map() }));
    const exists = (tp: TopicPartition): boolean => tp.partition >= 0 && tp.partition < (partitionsPerTopic.get(tp.topic) ?? 0);

    // Previous owners: per partition the claim of the newest generation. Two claims at that same
    // generation cannot both be right; the partition is withheld this round so both let it go.
    const claims = new Map<string, { owner: Load | null; generation: number }>();
    for (const l of loads) {
      for (const tp of l.member.ownedPartitions) {
        if (!exists(tp) || !l.topics.has(tp.topic)) continue;
        const key = tpKey(tp.topic, tp.partition);
        const c = claims.get(key);
        const g = l.member.generationId;
        if (c === undefined || g > c.generation) claims.set(key, { owner: l, generation: g });
        else if (g === c.generation && c.owner !== l) c.owner = null;
      }
    }
    const withheld = new Set<string>();
    for (const [key, c] of claims) {
      if (c.owner === null) withheld.add(key);
      else {
        c.owner.kept.add(key);
        const [topic, partition] = splitKey(key);
        c.owner.partitions.set(key, { topic, partition });
      }
    }

    // Partitions nobody keeps go to the least loaded member subscribed to their topic.
    const all = allPartitionsSorted(partitionsPerTopic, loads.flatMap((l) => l.member.topics));
    for (const tp of all) {
      const key = tpKey(tp.topic, tp.partition);
      if (withheld.has(key) || claims.get(key)?.owner != null) continue;
      let best: Load | null = null;
      for (const l of loads) if (l.topics.has(tp.topic) && (best === null || l.partitions.size < best.partitions.size)) best = l;
      best?.partitions.set(key, tp);
    }

    balance(loads);

    // Cooperative: nothing goes to a new owner while its previous owner may still be fetching it.
    const out = emptyAssignment(sorted);
    for (const l of loads) {
      const list = out.get(l.member.memberId)!;
      for (const [key, tp] of l.partitions) {
        const prev = claims.get(key)?.owner;
        if (prev != null && prev !== l) continue;
        list.push(tp);
      }
    }
    return sortAssignment(out);
  },
};

/**
 * Move partitions from members holding two or more than a member that could take them, until no
 * such pair remains. Each move lowers the sum of squared loads, so the loop ends; partitions a
 * donor did not keep from before move first, so stickiness costs as little as balance allows.
 */
function balance(loads: readonly Load[]): void {
  for (;;) {
    const byLoad = [...loads].sort((a, b) => a.partitions.size - b.partitions.size || a.order - b.order);
    let moved = false;
    outer: for (const receiver of byLoad) {
      for (let d = byLoad.length - 1; d >= 0; d--) {
        const donor = byLoad[d]!;
        if (donor.partitions.size <= receiver.partitions.size + 1) break;
        const give = pickMovable(donor, receiver);
        if (give === null) continue;
        donor.partitions.delete(give);
        receiver.partitions.set(give, keyToTp(give));
        moved = true;
        break outer;
      }
    }
    if (!moved) return;
  }
}

/** The donor's partition to hand over: a newly placed one before a kept one, the highest first. */
function pickMovable(donor: Load, receiver: Load): string | null {
  let best: { key: string; tp: TopicPartition; kept: boolean } | null = null;
  for (const [key, tp] of donor.partitions) {
    if (!receiver.topics.has(tp.topic)) continue;
    const kept = donor.kept.has(key);
    if (best === null || (best.kept && !kept) || (best.kept === kept && compareTopicPartitions(tp, best.tp) > 0)) best = { key, tp, kept };
  }
  return best?.key ?? null;
}

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf('\u0000');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

function keyToTp(key: string): TopicPartition {
  const [topic, partition] = splitKey(key);
  return { topic, partition };
}
