import type { ClientOptions } from '../client-options.js';
import { ClientError } from '../errors.js';
import type { Deserializer } from '../serializers.js';
import { resolveAssignors, type BuiltInAssignor, type PartitionAssignor } from '../group/assignors/index.js';
import type { RebalanceListener } from '../group/rebalance-listener.js';

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';
export type IsolationLevel = 'read_uncommitted' | 'read_committed';

/** Consumer settings; names follow Kafka's consumer configs, in camelCase. */
export interface ConsumerOptions<K, V> extends ClientOptions {
  /** Where to start a partition that has no position, or whose position left the log. */
  readonly autoOffsetReset?: AutoOffsetReset;
  readonly isolationLevel?: IsolationLevel;
  /** The broker answers a fetch once this many bytes are available, or after fetchMaxWaitMs. */
  readonly fetchMinBytes?: number;
  /** Per fetch response, over all its partitions (the first batch is always returned whole). */
  readonly fetchMaxBytes?: number;
  /** Per partition per fetch (max.partition.fetch.bytes). */
  readonly maxPartitionFetchBytes?: number;
  readonly fetchMaxWaitMs?: number;
  /**
   * Bound on fetched record bytes held for the application (buffered, plus reserved by fetches in
   * flight). No fetch is sent while it is spent; a broker may exceed a fetch's max_bytes by one batch
   * (KIP-74), so the buffer can overshoot by at most one batch per leader.
   */
  readonly maxBufferedBytes?: number;
  /** Verify every batch's CRC32C before handing its records out. */
  readonly checkCrcs?: boolean;
  /** Default for poll() without maxRecords (max.poll.records). */
  readonly maxPollRecords?: number;
  /** Default for poll() without timeoutMs. */
  readonly pollTimeoutMs?: number;
  /** Pause between retries of a partition after a retriable error (retry.backoff.ms). */
  readonly retryBackoffMs?: number;
  /** Time limit of calls that wait on the cluster: position, offsetsForTimes, ... (default.api.timeout.ms). */
  readonly defaultApiTimeoutMs?: number;
  readonly keyDeserializer?: Deserializer<K>;
  readonly valueDeserializer?: Deserializer<V>;
  /** The consumer group (group.id): needed by subscribe() and commits; assign() then starts from committed offsets. */
  readonly groupId?: string;
  /** Static membership (group.instance.id, KIP-345): a restart within the session keeps the member's partitions. */
  readonly groupInstanceId?: string;
  /** The coordinator removes the member when no heartbeat arrives within this (session.timeout.ms). */
  readonly sessionTimeoutMs?: number;
  /** Between heartbeats (heartbeat.interval.ms); below sessionTimeoutMs, typically a third of it. */
  readonly heartbeatIntervalMs?: number;
  /** Longest pause between polls before the member leaves the group to let others take over (max.poll.interval.ms). */
  readonly maxPollIntervalMs?: number;
  /** How long the coordinator waits for members to rejoin in a rebalance; default maxPollIntervalMs, as in Kafka. */
  readonly rebalanceTimeoutMs?: number;
  /**
   * Assignors in order of preference (partition.assignment.strategy); the group uses the first all
   * members support. Cooperative rebalancing applies only when every one supports it.
   */
  readonly partitionAssignors?: ReadonlyArray<BuiltInAssignor | PartitionAssignor>;
  /** Commit the positions of delivered records every autoCommitIntervalMs, before revocation and on close. */
  readonly enableAutoCommit?: boolean;
  readonly autoCommitIntervalMs?: number;
  /** Called around rebalances of subscribe(); subscribe() may name another one. */
  readonly rebalanceListener?: RebalanceListener;
  /** Leave internal topics (__consumer_offsets) out of regex subscriptions (exclude.internal.topics). */
  readonly excludeInternalTopics?: boolean;
}

/** Group settings, present when groupId is. */
export interface ResolvedGroupOptions {
  readonly groupId: string;
  readonly groupInstanceId: string | null;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly assignors: readonly PartitionAssignor[];
  readonly enableAutoCommit: boolean;
  readonly autoCommitIntervalMs: number;
  readonly excludeInternalTopics: boolean;
}

export interface ResolvedConsumerOptions {
  readonly autoOffsetReset: AutoOffsetReset;
  /** Kafka's wire value: 0 read_uncommitted, 1 read_committed. */
  readonly isolationLevel: 0 | 1;
  readonly fetchMinBytes: number;
  readonly fetchMaxBytes: number;
  readonly maxPartitionFetchBytes: number;
  readonly fetchMaxWaitMs: number;
  readonly maxBufferedBytes: number;
  readonly checkCrcs: boolean;
  readonly maxPollRecords: number;
  readonly pollTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly defaultApiTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly group: ResolvedGroupOptions | null;
}

const MiB = 1024 * 1024;

export const CONSUMER_DEFAULTS = {
  autoOffsetReset: 'latest',
  isolationLevel: 'read_uncommitted',
  fetchMinBytes: 1,
  fetchMaxBytes: 50 * MiB,
  maxPartitionFetchBytes: 1 * MiB,
  fetchMaxWaitMs: 500,
  maxBufferedBytes: 64 * MiB,
  checkCrcs: true,
  maxPollRecords: 500,
  pollTimeoutMs: 1_000,
  retryBackoffMs: 100,
  defaultApiTimeoutMs: 60_000,
  requestTimeoutMs: 30_000,
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 3_000,
  maxPollIntervalMs: 300_000,
  partitionAssignors: ['range', 'cooperative-sticky'],
  enableAutoCommit: true,
  autoCommitIntervalMs: 5_000,
} as const;

/** Largest value a Fetch request's int32 byte fields can carry. */
const INT32_MAX = 0x7fffffff;

function int(name: string, v: number | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) throw new ClientError('INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return x;
}

export function resolveConsumerOptions<K, V>(o: ConsumerOptions<K, V>): ResolvedConsumerOptions {
  const reset = o.autoOffsetReset ?? CONSUMER_DEFAULTS.autoOffsetReset;
  if (reset !== 'earliest' && reset !== 'latest' && reset !== 'none') throw new ClientError('INVALID_ARGUMENT', `autoOffsetReset must be 'earliest', 'latest' or 'none', got ${String(reset)}`);
  const iso = o.isolationLevel ?? CONSUMER_DEFAULTS.isolationLevel;
  if (iso !== 'read_uncommitted' && iso !== 'read_committed') throw new ClientError('INVALID_ARGUMENT', `isolationLevel must be 'read_uncommitted' or 'read_committed', got ${String(iso)}`);
  return {
    autoOffsetReset: reset,
    isolationLevel: iso === 'read_committed' ? 1 : 0,
    fetchMinBytes: int('fetchMinBytes', o.fetchMinBytes, CONSUMER_DEFAULTS.fetchMinBytes, 0, INT32_MAX),
    fetchMaxBytes: int('fetchMaxBytes', o.fetchMaxBytes, CONSUMER_DEFAULTS.fetchMaxBytes, 1, INT32_MAX),
    maxPartitionFetchBytes: int('maxPartitionFetchBytes', o.maxPartitionFetchBytes, CONSUMER_DEFAULTS.maxPartitionFetchBytes, 1, INT32_MAX),
    fetchMaxWaitMs: int('fetchMaxWaitMs', o.fetchMaxWaitMs, CONSUMER_DEFAULTS.fetchMaxWaitMs, 0, INT32_MAX),
    maxBufferedBytes: int('maxBufferedBytes', o.maxBufferedBytes, CONSUMER_DEFAULTS.maxBufferedBytes, 1),
    checkCrcs: o.checkCrcs ?? CONSUMER_DEFAULTS.checkCrcs,
    maxPollRecords: int('maxPollRecords', o.maxPollRecords, CONSUMER_DEFAULTS.maxPollRecords, 1),
    pollTimeoutMs: int('pollTimeoutMs', o.pollTimeoutMs, CONSUMER_DEFAULTS.pollTimeoutMs, 0),
    retryBackoffMs: int('retryBackoffMs', o.retryBackoffMs, CONSUMER_DEFAULTS.retryBackoffMs, 0),
    retryBackoffMaxMs: Math.max(int('reconnectBackoffMaxMs', o.reconnectBackoffMaxMs, 1_000, 0), o.retryBackoffMs ?? CONSUMER_DEFAULTS.retryBackoffMs),
    defaultApiTimeoutMs: int('defaultApiTimeoutMs', o.defaultApiTimeoutMs, CONSUMER_DEFAULTS.defaultApiTimeoutMs, 0),
    requestTimeoutMs: int('requestTimeoutMs', o.requestTimeoutMs, CONSUMER_DEFAULTS.requestTimeoutMs, 1),
    group: resolveGroupOptions(o),
  };
}

function resolveGroupOptions<K, V>(o: ConsumerOptions<K, V>): ResolvedGroupOptions | null {
  if (o.groupId === undefined) {
    // Kafka's consumer refuses auto-commit without a group rather than silently not committing.
    if (o.enableAutoCommit === true) throw new ClientError('INVALID_ARGUMENT', 'enableAutoCommit needs a groupId');
    if (o.groupInstanceId !== undefined) throw new ClientError('INVALID_ARGUMENT', 'groupInstanceId needs a groupId');
    return null;
  }
  if (typeof o.groupId !== 'string' || o.groupId === '') throw new ClientError('INVALID_ARGUMENT', `groupId must be a non-empty string, got ${JSON.stringify(o.groupId)}`);
  if (o.groupInstanceId !== undefined && (typeof o.groupInstanceId !== 'string' || o.groupInstanceId === '')) throw new ClientError('INVALID_ARGUMENT', `groupInstanceId must be a non-empty string, got ${JSON.stringify(o.groupInstanceId)}`);
  const sessionTimeoutMs = int('sessionTimeoutMs', o.sessionTimeoutMs, CONSUMER_DEFAULTS.sessionTimeoutMs, 1, INT32_MAX);
  const heartbeatIntervalMs = int('heartbeatIntervalMs', o.heartbeatIntervalMs, CONSUMER_DEFAULTS.heartbeatIntervalMs, 1, INT32_MAX);
  // A heartbeat interval at or past the session timeout would let every session expire.
  if (heartbeatIntervalMs >= sessionTimeoutMs) throw new ClientError('INVALID_ARGUMENT', `heartbeatIntervalMs (${heartbeatIntervalMs}) must be lower than sessionTimeoutMs (${sessionTimeoutMs})`);
  const maxPollIntervalMs = int('maxPollIntervalMs', o.maxPollIntervalMs, CONSUMER_DEFAULTS.maxPollIntervalMs, 1, INT32_MAX);
  const autoCommit = o.enableAutoCommit ?? CONSUMER_DEFAULTS.enableAutoCommit;
  if (typeof autoCommit !== 'boolean') throw new ClientError('INVALID_ARGUMENT', `enableAutoCommit must be a boolean, got ${String(autoCommit)}`);
  return {
    groupId: o.groupId,
    groupInstanceId: o.groupInstanceId ?? null,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    maxPollIntervalMs,
    rebalanceTimeoutMs: int('rebalanceTimeoutMs', o.rebalanceTimeoutMs, maxPollIntervalMs, 1, INT32_MAX),
    assignors: resolveAssignors(o.partitionAssignors ?? CONSUMER_DEFAULTS.partitionAssignors),
    enableAutoCommit: autoCommit,
    autoCommitIntervalMs: int('autoCommitIntervalMs', o.autoCommitIntervalMs, CONSUMER_DEFAULTS.autoCommitIntervalMs, 1, INT32_MAX),
    excludeInternalTopics: o.excludeInternalTopics ?? true,
  };
}
