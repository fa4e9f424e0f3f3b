import type { Clock } from '../../io/clock.js';
import { ErrorCode, errorInfo } from '../../protocol/errors.js';
import type { ListOffsetsResponse } from '../../protocol/generated/list-offsets.js';
import type { BrokerConnection } from '../broker-connection.js';
import type { Cluster } from '../cluster.js';
import { ClientError, KafkaProtocolError, isRetriable } from '../errors.js';
import { tpKey, tpName, type TopicPartition } from './consumer-record.js';

/** ListOffsets' special timestamps. */
export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;

export interface OffsetQuery extends TopicPartition {
  /** A record timestamp, or EARLIEST_TIMESTAMP / LATEST_TIMESTAMP. */
  readonly timestamp: bigint;
}

export interface OffsetAnswer {
  readonly errorCode: number;
  /** -1 when no record is at or after the timestamp. */
  readonly offset: bigint;
  readonly timestamp: bigint;
  readonly leaderEpoch: number;
}

/** Errors after which the leader may have moved: refresh metadata before retrying. */
export const STALE_METADATA_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.INCONSISTENT_TOPIC_ID,
]);

/** One ListOffsets request to one leader; answers by partition key (tpKey). */
export async function listOffsets(conn: BrokerConnection, queries: readonly OffsetQuery[], isolationLevel: 0 | 1): Promise<Map<string, OffsetAnswer>> {
  const topics = new Map<string, Array<{ partitionIndex: number; currentLeaderEpoch: number; timestamp: bigint; maxNumOffsets: number }>>();
  for (const q of queries) {
    let list = topics.get(q.topic);
    if (list === undefined) topics.set(q.topic, (list = []));
    list.push({ partitionIndex: q.partition, currentLeaderEpoch: -1, timestamp: q.timestamp, maxNumOffsets: 1 });
  }
  const res = await conn.request<ListOffsetsResponse>(2, {
    // -1: a consumer, not a follower replica (which would read past the high watermark).
    replicaId: -1,
    isolationLevel,
    topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
    timeoutMs: conn.options.requestTimeoutMs,
  });
  const answers = new Map<string, OffsetAnswer>();
  for (const t of res.topics) {
    for (const p of t.partitions) {
      answers.set(tpKey(t.name, p.partitionIndex), { errorCode: p.errorCode, offset: p.offset, timestamp: p.timestamp, leaderEpoch: p.leaderEpoch });
    }
  }
  return answers;
}

/**
 * ListOffsets for the public calls (offsetsForTimes, beginningOffsets, endOffsets, position):
 * queries grouped by leader, retriable failures retried after a metadata refresh until the
 * deadline, like Kafka's OffsetFetcher.
 */
export class OffsetLookup {
  constructor(
    private readonly cluster: Cluster,
    private readonly clock: Clock,
    private readonly isolationLevel: 0 | 1,
    private readonly retryBackoffMs: number,
  ) {}

  async lookup(queries: readonly OffsetQuery[], timeoutMs: number): Promise<Map<string, OffsetAnswer>> {
    const deadline = this.clock.now() + timeoutMs;
    const results = new Map<string, OffsetAnswer>();
    let pending = [...new Map(queries.map((q) => [tpKey(q.topic, q.partition), q])).values()];
    let lastError: Error | null = null;
    for (;;) {
      const retry: OffsetQuery[] = [];
      const byLeader = new Map<number, OffsetQuery[]>();
      for (const q of pending) {
        try {
          const t = await this.cluster.topic(q.topic);
          const p = t.partitions[q.partition];
          if (p === undefined || p.partition !== q.partition) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${tpName(q)} does not exist`);
          if (p.leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `${tpName(q)} has no leader`);
          let list = byLeader.get(p.leader);
          if (list === undefined) byLeader.set(p.leader, (list = []));
          list.push(q);
        } catch (err) {
          if (!isRetriable(err)) throw err;
          lastError = err as Error;
          retry.push(q);
        }
      }
      await Promise.all([...byLeader].map(async ([node, list]) => {
        let conn: BrokerConnection | null = null;
        let answers: Map<string, OffsetAnswer>;
        try {
          conn = await this.cluster.connectionTo(node);
          answers = await listOffsets(conn, list, this.isolationLevel);
        } catch (err) {
          if (!isRetriable(err)) throw err;
          if (conn !== null && err instanceof ClientError) this.cluster.invalidate(conn);
          lastError = err as Error;
          retry.push(...list);
          return;
        }
        for (const q of list) {
          const a = answers.get(tpKey(q.topic, q.partition));
          if (a === undefined) {
            lastError = new ClientError('PROTOCOL_ERROR', `ListOffsets answer lacks ${tpName(q)}`);
            retry.push(q);
          } else if (a.errorCode === 0) {
            results.set(tpKey(q.topic, q.partition), a);
          } else if (STALE_METADATA_ERRORS.has(a.errorCode) || errorInfo(a.errorCode).retriable) {
            lastError = new KafkaProtocolError(a.errorCode, tpName(q));
            retry.push(q);
          } else {
            throw new KafkaProtocolError(a.errorCode, tpName(q));
          }
        }
      }));
      if (retry.length === 0) return results;
      const left = deadline - this.clock.now();
      if (left <= 0) throw lastError ?? new ClientError('REQUEST_TIMED_OUT', 'ListOffsets did not complete in time');
      await new Promise<void>((r) => this.clock.setTimer(Math.min(this.retryBackoffMs, left), r));
      await this.cluster.refreshMetadata([...new Set(retry.map((q) => q.topic))]).catch(() => undefined);
      pending = retry;
    }
  }
}
