import type { ClientOptions } from '../client-options.js';
import { ClientError } from '../errors.js';
import type { Deserializer } from '../serializers.js';

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
  };
}
