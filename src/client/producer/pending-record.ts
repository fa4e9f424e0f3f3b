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

/** Where a sendBatch() call's records report: one slot each, one promise for the call. */
export interface RecordOutcome {
  resolved(index: number, metadata: RecordMetadata): void;
  rejected(index: number, err: Error): void;
}

/**
 * Where a record's outcome goes: the resolve function of its send() promise (a failure resolves it
 * with a rejecting thenable, so the reject function need not be kept: one function per record stays
 * alive until the broker answers, not two), or its sendBatch() call.
 */
export type RecordSink = ((result: RecordMetadata | PromiseLike<RecordMetadata>) => void) | RecordOutcome;

export function settleOk(sink: RecordSink, index: number, metadata: RecordMetadata): void {
  if (typeof sink === 'function') sink(metadata);
  else sink.resolved(index, metadata);
}

export function settleErr(sink: RecordSink, index: number, err: Error): void {
  if (typeof sink === 'function') sink(rejecting(err));
  else sink.rejected(index, err);
}

/** A thenable that rejects: resolving a promise with it rejects the promise with `err`. */
function rejecting(err: Error): PromiseLike<RecordMetadata> {
  const thenable = { then: (_ok: unknown, fail: (e: Error) => void) => fail(err) };
  return thenable as unknown as PromiseLike<RecordMetadata>;
}

/** Counts records per flush epoch, so flush() knows when the records sent before it are done. */
export interface SettleCounter {
  settled(epoch: number, count: number): void;
}

/**
 * A serialized record on its way to the broker, from send() until it is appended to a batch (the
 * batch then keeps only what settling needs: the sink, the timestamp). A class, so every record
 * shares one hidden class. Mutable only so the producer can reuse one instance for the records it
 * appends at once (most of them): only records that wait (for memory or metadata) get their own.
 */
export class PendingRecord {
  constructor(
    public topic: string,
    /** The partition the caller asked for, or null to let the partitioner choose. */
    public requestedPartition: number | null,
    public key: Buffer | null,
    public value: Buffer | null,
    public headers: readonly RecordHeader[],
    public timestamp: number,
    /** Upper bound of the record's bytes in a batch; this much buffer memory is held for it. */
    public size: number,
    /** Clock time after which the record fails with DELIVERY_TIMEOUT. */
    public deadline: number,
    /** The flush epoch the record was sent in, and who counts them. */
    public epoch: number,
    public counter: SettleCounter,
    public sink: RecordSink,
    /** The record's slot in its sendBatch() call (0 for send()). */
    public index: number,
  ) {}

  /** A copy that the caller may keep (the producer's reused instance may not be kept). */
  copy(): PendingRecord {
    return new PendingRecord(this.topic, this.requestedPartition, this.key, this.value, this.headers, this.timestamp, this.size, this.deadline, this.epoch, this.counter, this.sink, this.index);
  }

  /** Settle a record that never reached a batch. */
  reject(err: Error): void {
    settleErr(this.sink, this.index, err);
    this.counter.settled(this.epoch, 1);
  }
}

/** Shared by every record sent without headers. */
export const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

export function normalizeHeaders(h: ProducerHeaders | undefined): readonly RecordHeader[] {
  if (h === undefined) return NO_HEADERS;
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
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    n += HEADER_OVERHEAD_MAX_BYTES + Buffer.byteLength(h.key, 'utf8') + (h.value?.length ?? 0);
  }
  return n;
}
