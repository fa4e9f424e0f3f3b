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
} as const;

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
  return {
    acks: acksOf(o.acks),
    lingerMs,
    batchSize: count('batchSize', o.batchSize, PRODUCER_DEFAULTS.batchSize, 0),
    compression,
    maxInFlight: count('maxInFlight', o.maxInFlight, PRODUCER_DEFAULTS.maxInFlight, 1),
    // Infinity is accepted for "retry until deliveryTimeoutMs", the Java default's intent.
    retries: o.retries === Number.POSITIVE_INFINITY ? PRODUCER_DEFAULTS.retries : count('retries', o.retries, PRODUCER_DEFAULTS.retries, 0),
    retryBackoffMs: count('retryBackoffMs', o.retryBackoffMs, PRODUCER_DEFAULTS.retryBackoffMs, 0),
    requestTimeoutMs,
    deliveryTimeoutMs,
    bufferMemory: count('bufferMemory', o.bufferMemory, PRODUCER_DEFAULTS.bufferMemory, 1),
    maxRequestSize: count('maxRequestSize', o.maxRequestSize, PRODUCER_DEFAULTS.maxRequestSize, 1),
  };
}
