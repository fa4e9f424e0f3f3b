import { CompressionCodec } from '../../protocol/records/index.js';
import { ClientError } from '../errors.js';
import type { Acks, CompressionType, ProducerOptions } from './types.js';

/** The Java client's defaults, so a Fjord producer behaves like any other Kafka producer out of the box. */
export const PRODUCER_DEFAULTS = {
  lingerMs: 5,
  batchSize: 16_384,
  maxInFlight: 5,
  retries: 2_147_483_647,
  retryBackoffMs: 100,
  requestTimeoutMs: 30_000,
  deliveryTimeoutMs: 120_000,
  bufferMemory: 32 * 1024 * 1024,
  maxRequestSize: 1024 * 1024,
  transactionTimeoutMs: 60_000,
  maxBlockMs: 60_000,
} as const;

/** Batches of one partition in flight at once with idempotence: the broker remembers the last 5 (Kafka's limit). */
export const IDEMPOTENT_INFLIGHT_PER_PARTITION_MAX = 5;

export interface ProducerConfig {
  readonly acks: -1 | 0 | 1;
  readonly lingerMs: number;
  readonly batchSize: number;
  readonly compression: CompressionCodec;
  readonly maxInFlight: number;
  readonly retries: number;
  readonly retryBackoffMs: number;
  readonly requestTimeoutMs: number;
  readonly deliveryTimeoutMs: number;
  readonly bufferMemory: number;
  readonly maxRequestSize: number;
  /** Producer id, epoch and sequence numbers on every batch (enable.idempotence). */
  readonly idempotent: boolean;
  readonly transactionalId: string | null;
  readonly transactionTimeoutMs: number;
  /** Bound on the transactional calls that wait on a coordinator (max.block.ms). */
  readonly maxBlockMs: number;
}

const CODECS: Record<CompressionType, CompressionCodec> = {
  none: CompressionCodec.NONE,
  gzip: CompressionCodec.GZIP,
  snappy: CompressionCodec.SNAPPY,
  lz4: CompressionCodec.LZ4,
  zstd: CompressionCodec.ZSTD,
};

function acksOf(a: Acks | undefined): -1 | 0 | 1 {
  if (a === undefined || a === 'all' || a === -1) return -1;
  if (a === 0 || a === 1) return a;
  throw new ClientError('INVALID_ARGUMENT', `acks must be 'all', -1, 1 or 0, not ${String(a)}`);
}

function count(name: string, v: number | undefined, def: number, min: number): number {
  const n = v ?? def;
  if (!Number.isSafeInteger(n) || n < min) throw new ClientError('INVALID_ARGUMENT', `${name} must be an integer >= ${min}, not ${String(v)}`);
  return n;
}

export function resolveProducerConfig<K, V>(o: ProducerOptions<K, V>): ProducerConfig {
  const compression = CODECS[o.compression ?? 'none'];
  if (compression === undefined) throw new ClientError('INVALID_ARGUMENT', `Unknown compression '${String(o.compression)}'`);
  const lingerMs = count('lingerMs', o.lingerMs, PRODUCER_DEFAULTS.lingerMs, 0);
  const requestTimeoutMs = count('requestTimeoutMs', o.requestTimeoutMs, PRODUCER_DEFAULTS.requestTimeoutMs, 1);
  // Java's rule: a batch must be able to linger and then wait out one full request before it expires.
  // An explicit value that breaks it is an error; the default grows to fit.
  const floor = lingerMs + requestTimeoutMs;
  const deliveryTimeoutMs =
    o.deliveryTimeoutMs === undefined ? Math.max(PRODUCER_DEFAULTS.deliveryTimeoutMs, floor) : count('deliveryTimeoutMs', o.deliveryTimeoutMs, 0, 0);
  if (deliveryTimeoutMs < floor) {
    throw new ClientError('INVALID_ARGUMENT', `deliveryTimeoutMs (${deliveryTimeoutMs}) must be at least lingerMs + requestTimeoutMs (${floor})`);
  }
  const acks = acksOf(o.acks);
  const transactionalId = o.transactionalId ?? null;
  if (transactionalId !== null && (typeof transactionalId !== 'string' || transactionalId === '')) {
    throw new ClientError('INVALID_ARGUMENT', `transactionalId must be a non-empty string, not ${JSON.stringify(transactionalId)}`);
  }
  // Java's rules: idempotence is on by default only where it is possible (acks=all); asking for it
  // with other acks, or turning it off for a transactional producer, is a configuration error.
  if (o.idempotent !== undefined && typeof o.idempotent !== 'boolean') throw new ClientError('INVALID_ARGUMENT', `idempotent must be a boolean, not ${String(o.idempotent)}`);
  if (transactionalId !== null && o.idempotent === false) throw new ClientError('INVALID_ARGUMENT', 'A transactional producer is idempotent: transactionalId needs idempotent to be true');
  const idempotent = o.idempotent ?? (transactionalId !== null || acks === -1);
  if (idempotent && acks !== -1) throw new ClientError('INVALID_ARGUMENT', `An idempotent producer needs acks 'all' (-1), not ${String(o.acks)}`);
  const maxInFlight = count('maxInFlight', o.maxInFlight, PRODUCER_DEFAULTS.maxInFlight, 1);
  const retries = o.retries === Number.POSITIVE_INFINITY ? PRODUCER_DEFAULTS.retries : count('retries', o.retries, PRODUCER_DEFAULTS.retries, 0);
  const explicit = o.idempotent === true || transactionalId !== null;
  if (explicit && maxInFlight > IDEMPOTENT_INFLIGHT_PER_PARTITION_MAX) {
    throw new ClientError('INVALID_ARGUMENT', `An idempotent producer needs maxInFlight <= ${IDEMPOTENT_INFLIGHT_PER_PARTITION_MAX}, not ${maxInFlight}`);
  }
  if (explicit && retries === 0) throw new ClientError('INVALID_ARGUMENT', 'An idempotent producer needs retries > 0');
  return {
    acks,
    lingerMs,
    batchSize: count('batchSize', o.batchSize, PRODUCER_DEFAULTS.batchSize, 0),
    compression,
    maxInFlight,
    // Infinity is accepted for "retry until deliveryTimeoutMs", the Java default's intent.
    retries,
    retryBackoffMs: count('retryBackoffMs', o.retryBackoffMs, PRODUCER_DEFAULTS.retryBackoffMs, 0),
    requestTimeoutMs,
    deliveryTimeoutMs,
    bufferMemory: count('bufferMemory', o.bufferMemory, PRODUCER_DEFAULTS.bufferMemory, 1),
    maxRequestSize: count('maxRequestSize', o.maxRequestSize, PRODUCER_DEFAULTS.maxRequestSize, 1),
    // Java quietly turns default idempotence off when other settings rule it out; so do we.
    idempotent: idempotent && (explicit || (maxInFlight <= IDEMPOTENT_INFLIGHT_PER_PARTITION_MAX && retries > 0)),
    transactionalId,
    transactionTimeoutMs: count('transactionTimeoutMs', o.transactionTimeoutMs, PRODUCER_DEFAULTS.transactionTimeoutMs, 1),
    maxBlockMs: count('maxBlockMs', o.maxBlockMs, PRODUCER_DEFAULTS.maxBlockMs, 0),
  };
}
