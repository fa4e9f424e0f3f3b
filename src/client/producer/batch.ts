import { CompressionCodec, RECORD_BATCH_HEADER_SIZE, compress, sizeOfRecordBody, writeRecord, writeRecordBatchHeader } from '../../protocol/records/index.js';
import { BATCH_OVERHEAD_BYTES, settleErr, settleOk, type PendingRecord, type RecordSink, type SettleCounter } from './pending-record.js';
import type { RecordMetadata } from './types.js';

/** Fewest per-record slots a batch starts with. */
const RECORD_SLOTS_MIN = 16;
/** Smallest buffer a batch starts with: small enough for a partition that sees one record now and then. */
const INITIAL_CAPACITY_MIN_BYTES = 1024;

/** What the batch's header carries beyond its records, known only when the sender drains it. */
export interface BatchStamp {
  readonly compression: CompressionCodec;
  readonly isTransactional: boolean;
}

/**
 * The records of one topic-partition that travel in one magic-2 record batch. Open while records
 * are appended; closed when full or taken by the sender.
 *
 * Each record is encoded into the batch's buffer when it is appended (varints written in place, no
 * object per record), so draining a batch only fills in its 61-byte header and CRC. The record
 * object itself is dropped then: the batch keeps, per record, only where its outcome goes and its
 * timestamp, in flat arrays, so what stays alive while a batch is in flight is small (records that
 * survive young-generation collections are what the producer's GC time was made of). The buffer grows
 * by doubling up to what batchSize allows; `capacityHint` (the partition's previous batch) lets a
 * busy partition start at its usual size and never copy. The bytes are finished once, on first
 * send, and reused by every retry, so a retried batch is byte for byte what was tried before.
 */
export class ProducerBatch {
  /** Records in the batch. Bounded by batchSize: only a batch's first record may take it past that. */
  count = 0;
  /**
   * Per record: its send() resolve function or sendBatch() call, its slot in that call (only once a
   * sendBatch() record joins), its timestamp. Sized from the partition's previous batch.
   */
  private readonly sinks: RecordSink[];
  private indexes: Int32Array | null = null;
  private timestamps: Float64Array;
  /** Flush epochs of the records, as (epoch, count) runs: records join in send order, so usually one run. */
  private readonly epochRuns: number[] = [];
  private counter: SettleCounter | null = null;
  /** When the batch expires: its oldest record's deadline (records join in send order). */
  deadline = Number.POSITIVE_INFINITY;
  /** Estimated size: an upper bound of the uncompressed batch. */
  sizeBytes = BATCH_OVERHEAD_BYTES;
  /** Bytes of buffer memory the batch's records hold (the sum of their sizes). */
  reservedBytes = 0;
  closed = false;
  /** Produce attempts so far. */
  attempts = 0;
  /** Clock time before which a failed batch is not retried. */
  retryAt = 0;
  lastError: Error | null = null;
  built: Buffer | null = null;
  /**
   * Idempotence: the producer id, epoch and first sequence the batch carries (-1 until it is first
   * drained; a retry resends them unchanged). `drainOrder` ranks the partition's batches in sequence
   * order, so retries go back into the queue in that order.
   */
  producerId = -1;
  producerEpoch = -1;
  baseSequence = -1;
  drainOrder = -1;
  /**
   * Sent and without a definite answer (no response, or a lost connection): the broker may hold it,
   * so it must never be resent under another producer id, epoch or sequence.
   */
  mayBeWritten = false;

  /** The encoded records follow a gap for the header; `pos` is where the next record goes. */
  private buf: Buffer | null = null;
  private pos = RECORD_BATCH_HEADER_SIZE;
  private baseTimestamp = 0;
  private maxTimestamp = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdAt: number,
    /** The accumulator's batch.size: the buffer grows no further (except for a larger first record). */
    private readonly batchSize = 0,
    /** Bytes to start the buffer with: the partition's previous batch, so a busy partition never regrows. */
    private readonly capacityHint = 0,
    /** Records the partition's previous batch held: the per-record arrays start that large. */
    countHint = 0,
  ) {
    const slots = Math.max(RECORD_SLOTS_MIN, countHint);
    this.sinks = new Array<RecordSink>(slots);
    this.timestamps = new Float64Array(slots);
  }

  /** Bytes of the encoded batch so far (header included). */
  get encodedBytes(): number {
    return this.pos;
  }

  /** Would `size` more bytes still fit? An empty batch takes any one record, however large. */
  fits(size: number, batchSize: number): boolean {
    return !this.closed && (this.count === 0 || this.sizeBytes + size <= batchSize);
  }

  append(record: PendingRecord): void {
    const index = this.count;
    if (index === 0) {
      this.baseTimestamp = record.timestamp;
      this.maxTimestamp = record.timestamp;
      this.deadline = record.deadline;
      this.counter = record.counter;
    } else if (record.timestamp > this.maxTimestamp) {
      this.maxTimestamp = record.timestamp;
    }
    const delta = record.timestamp - this.baseTimestamp;
    const body = sizeOfRecordBody(delta, index, record.key, record.value, record.headers);
    // record.size bounds the encoded record, so the buffer never needs more than sizeBytes.
    this.reserve(this.pos + record.size);
    this.pos = writeRecord(this.buf!, this.pos, body, delta, index, record.key, record.value, record.headers);
    this.count = index + 1;
    if (index === this.timestamps.length) this.growSlots();
    this.sinks[index] = record.sink;
    this.timestamps[index] = record.timestamp;
    if (typeof record.sink !== 'function') {
      this.indexes ??= new Int32Array(this.timestamps.length);
      this.indexes[index] = record.index;
    }
    const runs = this.epochRuns;
    if (runs.length > 0 && runs[runs.length - 2] === record.epoch) runs[runs.length - 1]!++;
    else runs.push(record.epoch, 1);
    this.sizeBytes += record.size;
    this.reservedBytes += record.size;
  }

  /**
   * Resolve every record: offsets count up from `baseOffset` (-1 for all when unknown), timestamps
   * are the records' own unless the broker reports a log-append time (>= 0).
   */
  resolveAll(baseOffset: bigint, logAppendTimeMs: number): void {
    const { topic, partition, sinks, indexes, timestamps, count } = this;
    const known = baseOffset >= 0n;
    let offset = known ? baseOffset : -1n;
    for (let i = 0; i < count; i++) {
      const metadata: RecordMetadata = { topic, partition, offset, timestamp: logAppendTimeMs >= 0 ? logAppendTimeMs : timestamps[i]! };
      settleOk(sinks[i]!, indexes === null ? 0 : indexes[i]!, metadata);
      if (known) offset++; // one BigInt per record, not two
    }
    this.settleCounts();
  }

  rejectAll(err: Error): void {
    const { sinks, indexes, count } = this;
    for (let i = 0; i < count; i++) settleErr(sinks[i]!, indexes === null ? 0 : indexes[i]!, err);
    this.settleCounts();
  }

  private growSlots(): void {
    const n = this.timestamps.length * 2;
    const timestamps = new Float64Array(n);
    timestamps.set(this.timestamps);
    this.timestamps = timestamps;
    if (this.indexes !== null) {
      const indexes = new Int32Array(n);
      indexes.set(this.indexes);
      this.indexes = indexes;
    }
  }

  private settleCounts(): void {
    const runs = this.epochRuns;
    for (let i = 0; i < runs.length; i += 2) this.counter?.settled(runs[i]!, runs[i + 1]!);
    runs.length = 0;
  }

  /**
   * The finished batch: header and CRC written (and the records compressed) on the first call; later
   * calls (retries) return the same bytes. Synchronous when there is nothing to compress.
   */
  build(stamp: BatchStamp): Buffer | Promise<Buffer> {
    if (this.built !== null) return this.built;
    if (this.buf === null) throw new RangeError('a record batch needs at least one record');
    if (stamp.compression === CompressionCodec.NONE) return (this.built = this.finish(this.buf.subarray(0, this.pos), stamp));
    return compress(stamp.compression, this.buf.subarray(RECORD_BATCH_HEADER_SIZE, this.pos)).then((payload) => {
      if (this.built !== null) return this.built;
      const batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
      payload.copy(batch, RECORD_BATCH_HEADER_SIZE);
      this.buf = null; // the uncompressed records are not needed again
      return (this.built = this.finish(batch, stamp));
    });
  }

  private finish(batch: Buffer, stamp: BatchStamp): Buffer {
    return writeRecordBatchHeader(batch, {
      count: this.count,
      baseTimestamp: this.baseTimestamp,
      maxTimestamp: this.maxTimestamp,
      compression: stamp.compression,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence: this.baseSequence,
      isTransactional: stamp.isTransactional,
    });
  }

  /** Make room for `end` bytes: start at the hint, then double (copying what is written), never past batchSize. */
  private reserve(end: number): void {
    const buf = this.buf;
    if (buf !== null && end <= buf.length) return;
    // Only a batch's first record may take it past batchSize (then the buffer is exactly that record).
    const most = Math.max(end, this.batchSize);
    const wanted = buf === null ? Math.max(this.capacityHint, INITIAL_CAPACITY_MIN_BYTES) : buf.length * 2;
    const next = Buffer.allocUnsafe(Math.min(most, Math.max(end, wanted)));
    if (buf !== null) buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
