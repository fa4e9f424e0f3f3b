/**
 * The little of Fetch v11 the benchmark needs: a one-partition request frame, the response's fixed
 * head up to the records length (error codes, high watermark), and a walk over the record batches that
 * reads only their headers (base offset, last offset delta, record count). Nothing is decoded further:
 * the client must not be what limits the measured fetch rate.
 *
 * v11 is the newest non-flexible version (no compact encodings to skip) that the broker serves from
 * stored magic-2 batches as they are, with topics by name.
 */
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { encodeFetchRequest } from '../../src/protocol/generated/fetch.js';
import { BenchFailure, CLIENT_ID, frame } from './produce-load.js';

const FETCH_KEY = 1;
export const FETCH_VERSION = 11;

export interface FetchRequestOptions {
  topic: string;
  offset: number;
  maxBytes: number;
  minBytes: number;
  maxWaitMs: number;
  correlationId: number;
}

/** A full fetch (no session: id 0, epoch -1) of partition 0; max_bytes is also the partition's limit. */
export function fetchFrame(o: FetchRequestOptions): Buffer {
  return frame((w) => {
    encodeRequestHeader(w, { requestApiKey: FETCH_KEY, requestApiVersion: FETCH_VERSION, correlationId: o.correlationId, clientId: CLIENT_ID }, 1);
    encodeFetchRequest(
      w,
      {
        replicaId: -1,
        maxWaitMs: o.maxWaitMs,
        minBytes: o.minBytes,
        maxBytes: o.maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: o.topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(o.offset), logStartOffset: -1n, partitionMaxBytes: o.maxBytes }] }],
        forgottenTopicsData: [],
        rackId: '',
      },
      FETCH_VERSION,
    );
  });
}

export interface FetchHead {
  correlationId: number;
  highWatermark: number;
  logStartOffset: number;
  /** Where the record batches start in the frame (after the size prefix), and their total length. */
  recordsStart: number;
  recordsLength: number;
}

/** Bytes of a response frame that hold its head when the topic name is short and no transactions were aborted. */
export const FETCH_HEAD_BYTES = 128;

/**
 * The head of a one-topic, one-partition FetchResponse v11 (frame without the size prefix), or
 * undefined when `buf` is too short to hold it yet. Any error code is a failure.
 */
export function parseFetchHead(buf: Buffer): FetchHead | undefined {
  const need = (n: number): boolean => buf.length >= n;
  if (!need(18)) return undefined;
  const correlationId = buf.readInt32BE(0);
  const error = buf.readInt16BE(8);
  if (error !== 0) throw new BenchFailure(`fetch response error code ${error}`);
  const topics = buf.readInt32BE(14);
  if (topics !== 1) throw new BenchFailure(`fetch response has ${topics} topics`);
  let o = 18;
  if (!need(o + 2)) return undefined;
  o += 2 + buf.readInt16BE(o);
  if (!need(o + 4 + 4 + 2 + 24 + 4)) return undefined;
  const partitions = buf.readInt32BE(o);
  if (partitions !== 1) throw new BenchFailure(`fetch response has ${partitions} partitions`);
  o += 4 + 4; // count, partition index
  const partitionError = buf.readInt16BE(o);
  if (partitionError !== 0) throw new BenchFailure(`fetch partition error code ${partitionError}`);
  o += 2;
  const highWatermark = Number(buf.readBigInt64BE(o));
  const logStartOffset = Number(buf.readBigInt64BE(o + 16));
  o += 24; // high watermark, last stable offset, log start offset
  const aborted = buf.readInt32BE(o);
  o += 4 + Math.max(0, aborted) * 16;
  if (!need(o + 8)) return undefined;
  o += 4; // preferred read replica
  const recordsLength = Math.max(0, buf.readInt32BE(o));
  return { correlationId, highWatermark, logStartOffset, recordsStart: o + 4, recordsLength };
}

/** Offsets within a magic-2 batch header. */
const BATCH_LENGTH_AT = 8;
const LAST_OFFSET_DELTA_AT = 23;
const RECORD_COUNT_AT = 57;
const BATCH_HEADER_BYTES = 61;

export interface BatchWalk {
  batches: number;
  records: number;
  /** Base offset of the first whole batch (NaN when there is none). */
  firstOffset: number;
  /** The offset after the last whole batch: the next fetch offset (NaN when there is none). */
  nextOffset: number;
}

/**
 * Walk the whole batches in buf[start, start + length) (a trailing partial batch is ignored, as a
 * consumer does), calling onBatch for each. Batches must follow each other without gaps.
 */
export function walkBatches(buf: Buffer, start: number, length: number, onBatch?: (baseOffset: number, records: number) => void): BatchWalk {
  const end = start + length;
  let pos = start;
  const walk: BatchWalk = { batches: 0, records: 0, firstOffset: Number.NaN, nextOffset: Number.NaN };
  while (pos + BATCH_HEADER_BYTES <= end) {
    const size = 12 + buf.readInt32BE(pos + BATCH_LENGTH_AT);
    if (pos + size > end) break;
    const base = Number(buf.readBigInt64BE(pos));
    if (walk.batches > 0 && base !== walk.nextOffset) throw new BenchFailure(`fetch: batch at offset ${base} follows one that ended at ${walk.nextOffset}`);
    const records = buf.readInt32BE(pos + RECORD_COUNT_AT);
    if (walk.batches === 0) walk.firstOffset = base;
    walk.nextOffset = base + buf.readInt32BE(pos + LAST_OFFSET_DELTA_AT) + 1;
    walk.batches++;
    walk.records += records;
    onBatch?.(base, records);
    pos += size;
  }
  return walk;
}

/**
 * Splits a byte stream into frames like FrameReader, but also reports a frame's first bytes as soon
 * as FETCH_HEAD_BYTES of it (or all of it) arrived, so the next fetch can go out while the rest of a
 * large response is still arriving. Frames are assembled in one reused buffer: a frame passed to
 * onFrame is valid only during the call.
 */
export class HeadFirstFrameReader {
  private readonly buf: Buffer;
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeFill = 0;
  private size = -1;
  private fill = 0;
  private headSent = false;

  constructor(private readonly frameMaxBytes: number) {
    this.buf = Buffer.allocUnsafe(frameMaxBytes);
  }

  /**
   * For a socket that reads into memory we name (net.connect's `onread`): where the next read lands.
   * The size prefix is read on its own (4 bytes), then exactly the rest of the frame, straight into
   * the reused frame buffer: the kernel's copy is the only one and no chunk is allocated per read, so
   * this consumer costs less than the broker it measures (a 'data' chunk per 64 KiB plus a copy into
   * the frame was a fifth of the response time at 4 MiB).
   */
  readTarget(): Buffer {
    return this.size < 0 ? this.sizeBytes.subarray(this.sizeFill) : this.buf.subarray(this.fill, this.size);
  }

  /** `n` bytes landed where readTarget() said. */
  wrote(n: number, onHead: (head: Buffer) => void, onFrame: (frame: Buffer) => void): void {
    if (this.size < 0) {
      this.sizeFill += n;
      if (this.sizeFill < 4) return;
      this.sizeFill = 0;
      this.startFrame(this.sizeBytes.readInt32BE(0));
      if (this.size > 0) return;
    } else {
      this.fill += n;
    }
    this.frameProgress(onHead, onFrame);
  }

  private startFrame(size: number): void {
    if (size < 0 || size > this.frameMaxBytes) throw new BenchFailure(`response frame of ${size} bytes (limit ${this.frameMaxBytes})`);
    this.size = size;
    this.fill = 0;
    this.headSent = false;
  }

  private frameProgress(onHead: (head: Buffer) => void, onFrame: (frame: Buffer) => void): void {
    if (!this.headSent && this.fill >= Math.min(this.size, FETCH_HEAD_BYTES)) {
      this.headSent = true;
      onHead(this.buf.subarray(0, this.fill));
    }
    if (this.fill === this.size) {
      this.size = -1;
      onFrame(this.buf.subarray(0, this.fill));
    }
  }

  push(chunk: Buffer, onHead: (head: Buffer) => void, onFrame: (frame: Buffer) => void): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.size < 0) {
        const take = Math.min(4 - this.sizeFill, chunk.length - pos);
        chunk.copy(this.sizeBytes, this.sizeFill, pos, pos + take);
        this.sizeFill += take;
        pos += take;
        if (this.sizeFill < 4) return;
        this.sizeFill = 0;
        this.startFrame(this.sizeBytes.readInt32BE(0));
      }
      const take = Math.min(this.size - this.fill, chunk.length - pos);
      chunk.copy(this.buf, this.fill, pos, pos + take);
      this.fill += take;
      pos += take;
      this.frameProgress(onHead, onFrame);
    }
  }
}
