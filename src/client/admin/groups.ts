import type { FindCoordinatorResponse } from '../../protocol/generated/find-coordinator.js';
import type { ListGroupsResponse } from '../../protocol/generated/list-groups.js';
import type { DescribeGroupsResponse } from '../../protocol/generated/describe-groups.js';
import type { OffsetFetchResponse } from '../../protocol/generated/offset-fetch.js';
import type { OffsetCommitResponse } from '../../protocol/generated/offset-commit.js';
import type { DeleteGroupsResponse } from '../../protocol/generated/delete-groups.js';
import type { OffsetDeleteResponse } from '../../protocol/generated/offset-delete.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { BrokerConnection } from '../broker-connection.js';
import { KafkaProtocolError } from '../errors.js';
import { decodeAssignment, type TopicPartitions } from '../consumer-protocol.js';
import type { AdminContext } from './context.js';
import { retryCall } from './retry.js';

const FIND_COORDINATOR = 10;
const KEY_TYPE_GROUP = 0;

export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: string;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** Decoded when the group speaks the "consumer" protocol; empty otherwise. */
  readonly assignment: readonly TopicPartitions[];
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  /** The assignor the group agreed on (range, roundrobin, cooperative-sticky, ...). */
  readonly protocol: string;
  readonly coordinator: number;
  readonly members: readonly GroupMemberDescription[];
}

export interface GroupOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly metadata: string | null;
}

/** The group's coordinator connection (FindCoordinator; a retriable error is retried). */
async function coordinator(ctx: AdminContext, groupId: string): Promise<{ conn: BrokerConnection; nodeId: number }> {
  const any = await ctx.cluster.anyConnection();
  const res = await any.request<FindCoordinatorResponse>(FIND_COORDINATOR, { key: groupId, keyType: KEY_TYPE_GROUP, coordinatorKeys: [groupId] });
  if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, res.errorMessage);
  return { conn: await ctx.cluster.connectionTo(res.nodeId), nodeId: res.nodeId };
}

function check(errorCode: number, what: string): void {
  if (errorCode !== 0) throw new KafkaProtocolError(errorCode, what);
}

/** ListGroups asks every broker: each knows only the groups it coordinates. */
export async function listGroups(ctx: AdminContext): Promise<GroupListing[]> {
  return retryCall(ctx, async () => {
    await ctx.cluster.refreshMetadata([]);
    const out: GroupListing[] = [];
    for (const b of ctx.cluster.brokers.values()) {
      const conn = await ctx.cluster.connectionTo(b.nodeId);
      const res = await conn.request<ListGroupsResponse>(16, { statesFilter: [], typesFilter: [] });
      check(res.errorCode, 'ListGroups');
      for (const g of res.groups) out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState });
    }
    return out.sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  });
}

export async function describeGroups(ctx: AdminContext, groupIds: readonly string[]): Promise<GroupDescription[]> {
  const out: GroupDescription[] = [];
  for (const groupId of groupIds) {
    out.push(
      await retryCall(ctx, async () => {
        const { conn, nodeId } = await coordinator(ctx, groupId);
        const res = await conn.request<DescribeGroupsResponse>(15, { groups: [groupId], includeAuthorizedOperations: false });
        const g = res.groups[0];
        if (g === undefined) throw new KafkaProtocolError(ErrorCode.GROUP_ID_NOT_FOUND, groupId);
        check(g.errorCode, `DescribeGroups ${groupId}`);
        return {
          groupId,
          state: g.groupState,
          protocolType: g.protocolType,
          protocol: g.protocolData,
          coordinator: nodeId,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            assignment: g.protocolType === 'consumer' ? decodeAssignment(m.memberAssignment) : [],
          })),
        };
      }),
    );
  }
  return out;
}

/** Committed offsets of a group: every partition it has committed, or just the given topics. */
export async function listGroupOffsets(ctx: AdminContext, groupId: string): Promise<GroupOffset[]> {
  return retryCall(ctx, async () => {
    const { conn } = await coordinator(ctx, groupId);
    const res = await conn.request<OffsetFetchResponse>(9, { groupId, topics: null, groups: [], requireStable: false });
    check(res.errorCode, `OffsetFetch ${groupId}`);
    const out: GroupOffset[] = [];
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new KafkaProtocolError(p.errorCode, `${t.name}-${p.partitionIndex}`);
        if (p.committedOffset >= 0n) out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata });
      }
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  });
}

/**
 * Commit offsets for a group from outside it (what reset-offsets does). Kafka accepts such commits
 * only while the group has no members; otherwise the coordinator answers UNKNOWN_MEMBER_ID.
 */
export async function alterGroupOffsets(ctx: AdminContext, groupId: string, offsets: readonly { topic: string; partition: number; offset: bigint }[]): Promise<void> {
  await retryCall(ctx, async () => {
    const { conn } = await coordinator(ctx, groupId);
    const topics = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string }>>();
    for (const o of offsets) {
      const list = topics.get(o.topic) ?? [];
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: '' });
      topics.set(o.topic, list);
    }
    const res = await conn.request<OffsetCommitResponse>(8, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const t of res.topics) for (const p of t.partitions) check(p.errorCode, `OffsetCommit ${t.name}-${p.partitionIndex}`);
  });
}

export async function deleteGroups(ctx: AdminContext, groupIds: readonly string[]): Promise<void> {
  for (const groupId of groupIds) {
    await retryCall(ctx, async () => {
      const { conn } = await coordinator(ctx, groupId);
      const res = await conn.request<DeleteGroupsResponse>(42, { groupsNames: [groupId] });
      for (const r of res.results) check(r.errorCode, `DeleteGroups ${r.groupId}`);
    });
  }
}

export async function deleteGroupOffsets(ctx: AdminContext, groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<void> {
  await retryCall(ctx, async () => {
    const { conn } = await coordinator(ctx, groupId);
    const topics = new Map<string, Array<{ partitionIndex: number }>>();
    for (const p of partitions) topics.set(p.topic, [...(topics.get(p.topic) ?? []), { partitionIndex: p.partition }]);
    const res = await conn.request<OffsetDeleteResponse>(47, { groupId, topics: [...topics].map(([name, ps]) => ({ name, partitions: ps })) });
    check(res.errorCode, `OffsetDelete ${groupId}`);
    for (const t of res.topics) for (const p of t.partitions) check(p.errorCode, `OffsetDelete ${t.name}-${p.partitionIndex}`);
  });
}
