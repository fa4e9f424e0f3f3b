import type { Encodable } from '../../protocol/encodable.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../protocol/generated/list-offsets.js';
import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../../protocol/generated/delete-records.js';
import { ClientError } from '../errors.js';
import type { AdminContext, Outcome } from './context.js';
import { assertUnique, fromErrorCode, noAnswer, settle, withRetries } from './retry.js';
import { byTopic, leaderRoutes, partitionKey, scatter } from './routing.js';
import type { DeletedRecords, ListedOffset, ListOffsetsOptions, OffsetQuery, OffsetSpec, RecordsToDelete } from './types.js';

const LIST_OFFSETS = 2;
const DELETE_RECORDS = 21;
/** ListOffsets answers the max-timestamp query (KIP-734) from v7. */
const MAX_TIMESTAMP_MIN_VERSION = 7;
/** Requests from a client, not a follower replica. */
const CONSUMER_REPLICA_ID = -1;
/** Skip the leader-epoch fencing check; we route by fresh metadata on every attempt instead. */
const NO_LEADER_EPOCH = -1;

const SPEC_TIMESTAMPS: Readonly<Record<Exclude<OffsetSpec, object>, bigint>> = { latest: -1n, earliest: -2n, 'max-timestamp': -3n };

function specTimestamp(spec: OffsetSpec): bigint {
  if (typeof spec === 'object') {
    if (!Number.isSafeInteger(spec.timestamp) || spec.timestamp < 0) throw new ClientError('INVALID_ARGUMENT', `Invalid timestamp ${spec.timestamp}`);
    return BigInt(spec.timestamp);
  }
  const t = SPEC_TIMESTAMPS[spec] as bigint | undefined;
  if (t === undefined) throw new ClientError('INVALID_ARGUMENT', `Unknown offset spec ${String(spec)}`);
  return t;
}

const tpLabel = (i: { readonly topic: string; readonly partition: number }): string => `${i.topic}-${i.partition}`;
const tpKey = (i: { readonly topic: string; readonly partition: number }): string => partitionKey(i.topic, i.partition);

export async function listOffsets(ctx: AdminContext, queries: readonly OffsetQuery[], options: ListOffsetsOptions): Promise<ListedOffset[]> {
  assertUnique(queries, tpKey, tpLabel);
  const timestamps = new Map(queries.map((q) => [tpKey(q), specTimestamp(q.spec)]));
  const isolationLevel = options.isolationLevel === 'read_committed' ? 1 : 0;
  const outcomes = await withRetries(ctx, queries, async (pending) =>
    scatter(ctx, pending, await leaderRoutes(ctx, pending), async (conn, items): Promise<Outcome<ListedOffset>[]> => {
      if (items.some((q) => q.spec === 'max-timestamp') && conn.versionFor(LIST_OFFSETS) < MAX_TIMESTAMP_MIN_VERSION) {
        throw new ClientError('UNSUPPORTED_VERSION', `Broker ${conn.address} cannot list offsets by max-timestamp (ListOffsets v${MAX_TIMESTAMP_MIN_VERSION}+)`);
      }
      const body: Encodable<ListOffsetsRequest> = {
        replicaId: CONSUMER_REPLICA_ID,
        isolationLevel,
        topics: [...byTopic(items)].map(([name, ps]) => ({
          name,
          partitions: ps.map((q) => ({ partitionIndex: q.partition, currentLeaderEpoch: NO_LEADER_EPOCH, timestamp: timestamps.get(tpKey(q))!, maxNumOffsets: 1 })),
        })),
        timeoutMs: ctx.operationTimeoutMs,
      };
      const res = await conn.request<ListOffsetsResponse>(LIST_OFFSETS, body);
      const answers = new Map(res.topics.flatMap((t) => t.partitions.map((p) => [partitionKey(t.name, p.partitionIndex), p] as const)));
      return items.map((q) => {
        const a = answers.get(tpKey(q));
        if (a === undefined) return { ok: false, error: noAnswer() };
        return fromErrorCode(a.errorCode, null, () => ({ topic: q.topic, partition: q.partition, offset: a.offset, timestamp: Number(a.timestamp), leaderEpoch: a.leaderEpoch }));
      });
    }),
  );
  return settle('listOffsets', queries, outcomes, tpLabel);
}

export async function deleteRecords(ctx: AdminContext, targets: readonly RecordsToDelete[]): Promise<DeletedRecords[]> {
  assertUnique(targets, tpKey, tpLabel);
  for (const t of targets) if (t.offset < -1n) throw new ClientError('INVALID_ARGUMENT', `${tpLabel(t)}: invalid offset ${t.offset}`);
  const outcomes = await withRetries(ctx, targets, async (pending) =>
    scatter(ctx, pending, await leaderRoutes(ctx, pending), async (conn, items): Promise<Outcome<DeletedRecords>[]> => {
      const body: Encodable<DeleteRecordsRequest> = {
        topics: [...byTopic(items)].map(([name, ps]) => ({ name, partitions: ps.map((t) => ({ partitionIndex: t.partition, offset: t.offset })) })),
        timeoutMs: ctx.operationTimeoutMs,
      };
      const res = await conn.request<DeleteRecordsResponse>(DELETE_RECORDS, body);
      const answers = new Map(res.topics.flatMap((t) => t.partitions.map((p) => [partitionKey(t.name, p.partitionIndex), p] as const)));
      return items.map((t) => {
        const a = answers.get(tpKey(t));
        if (a === undefined) return { ok: false, error: noAnswer() };
        return fromErrorCode(a.errorCode, null, () => ({ topic: t.topic, partition: t.partition, lowWatermark: a.lowWatermark }));
      });
    }),
  );
  return settle('deleteRecords', targets, outcomes, tpLabel);
}
