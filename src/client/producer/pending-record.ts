import { RECORD_BATCH_HEADER_SIZE, type RecordHeader } from '../../protocol/records/index.js';
import { ClientError } from '../errors.js';
import type { ProducerHeaders, RecordMetadata } from './types.js';

/**
 * Bytes a record may take inside a batch beyond its key, value and headers: the length, attributes,
 * timestamp delta and offset delta varints and the key, value and header-count lengths, each at its
 * widest. An upper bound, so batchSize and bufferMemory are never exceeded by an estimate.
 */
const RECORD_OVERHEAD_MAX_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** Per header: the key and value length varints at their widest. */
const HEADER_OVERHEAD_MAX_BYTES = 5 + 5;

/** Bytes of a batch that are not records (the magic-2 header). */
export const BATCH_OVERHEAD_BYTES = RECORD_BATCH_HEADER_SIZE;

/** A serialized record on its way to the broker, with the promise `send` returned. */
export interface PendingRecord {
  readonly topic: string;
  /** The partition the caller asked for, or null to let the partitioner choose. */
  readonly requestedPartition: number | null;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  readonly timestamp: number;
  /** Upper bound of the record's bytes in a batch; this much buffer memory is held for it. */
  readonly size: number;
  /** Clock time after which the record fails with DELIVERY_TIMEOUT. */
  readonly deadline: number;
  readonly resolve: (metadata: RecordMetadata) => void;
  readonly reject: (err: Error) => void;
}

export function normalizeHeaders(h: ProducerHeaders | undefined): RecordHeader[] {
  if (h === undefined) return [];
  const pairs: ReadonlyArray<readonly [string, string | Buffer]> = Array.isArray(h)
    ? (h as ReadonlyArray<readonly [string, string | Buffer]>)
    : Object.entries(h as Readonly<Record<string, string | Buffer>>);
  return pairs.map(([key, value]) => {
    if (typeof key !== 'string') throw new ClientError('INVALID_ARGUMENT', 'Header names must be strings');
    if (typeof value === 'string') return { key, value: Buffer.from(value, 'utf8') };
    if (Buffer.isBuffer(value)) return { key, value };
    throw new ClientError('INVALID_ARGUMENT', `Header '${key}' must be a string or a Buffer`);
  });
}

export function estimateRecordSize(key: Buffer | null, value: Buffer | null, headers: readonly RecordHeader[]): number {
  let n = RECORD_OVERHEAD_MAX_BYTES + (key?.length ?? 0) + (value?.length ?? 0);
  for (const h of headers) n += HEADER_OVERHEAD_MAX_BYTES + Buffer.byteLength(h.key, 'utf8') + (h.value?.length ?? 0);
  return n;
}
