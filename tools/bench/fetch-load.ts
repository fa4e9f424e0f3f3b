/**
 * The fetch load: one consumer connection reads a prefilled one-partition topic from its start to its
 * end with large Fetch v11 requests, then again from the start, for a measurement window after a
 * warm-up. Counts whole response frames (size prefix included) and records per second.
 *
 * With 1 in flight the next fetch goes out once a response has been walked (what a Kafka consumer does:
 * one fetch per broker at a time). With 2 in flight it goes out as soon as the response's head has
 * arrived: the prefill is made of identical batches, so the records length in the head gives the next
 * offset (whole batches × records per batch); the walk of the full response then checks it.
 */
import { performance } from 'node:perf_hooks';
import { connect, type Socket } from 'node:net';
import { BenchFailure, LoadWindow, type LoadOptions } from './load-window.js';
import { fetchFrame, HeadFirstFrameReader, parseFetchHead, walkBatches } from './fetch-wire.js';
import { percentile, Samples } from './stats.js';

/** Slack over max_bytes for a response's own fields. */
const RESPONSE_OVERHEAD_BYTES = 64 * 1024;

export interface FetchLoadOptions extends LoadOptions {
  /** 1 or 2 (see above). */
  inflight: 1 | 2;
  /** max_bytes and partition_max_bytes. */
  maxBytes: number;
  /** The prefill's batch: every stored batch has this size and record count. */
  batchBytes: number;
  recordsPerBatch: number;
}

export interface FetchLoadResult {
  inflight: number;
  responses: number;
  seconds: number;
  /** Whole response frames (size prefix + header + body) per second. */
  bytesPerSecond: number;
  recordsPerSecond: number;
  responsesPerSecond: number;
  meanResponseBytes: number;
  /** Times the reader wrapped from the end of the log back to its start, inside the window. */
  passes: number;
  /** Request sent → whole response received. */
  p50Ms: number;
  p99Ms: number;
  clientCpu: number;
}

interface Pending {
  correlationId: number;
  offset: number;
  sentAt: number;
  /** With 2 in flight: the next offset predicted from the head (checked against the walk). */
  predicted?: number;
}

export async function runFetchLoad(o: FetchLoadOptions): Promise<FetchLoadResult> {
  const reader = new HeadFirstFrameReader(o.maxBytes + RESPONSE_OVERHEAD_BYTES);
  // Reads land straight in the reader's frame buffer (see HeadFirstFrameReader.readTarget); a throw
  // in the callback is turned into a failure of the run by `deliver`, set once the window exists.
  let deliver: (n: number) => void = () => undefined;
  const socket = await openReadingInto(o.port, () => reader.readTarget(), (n) => deliver(n));
  const latencies = new Samples();
  const pending: Pending[] = [];
  const window = new LoadWindow(o);
  let nextCorrelation = 0;
  let logStart = 0;
  let bytes = 0;
  let records = 0;
  let responses = 0;
  let passes = 0;

  const send = (offset: number): void => {
    const correlationId = nextCorrelation++;
    pending.push({ correlationId, offset, sentAt: performance.now() });
    socket.write(fetchFrame({ topic: o.topic, offset, maxBytes: o.maxBytes, minBytes: 1, maxWaitMs: 500, correlationId }));
  };
  /** The offset to read after `next`: the log's start again once the end is reached. */
  const following = (next: number, highWatermark: number): number => (next >= highWatermark ? logStart : next);

  const onHead = (head: Buffer): void => {
    if (o.inflight < 2 || performance.now() >= window.end) return;
    const h = parseFetchHead(head);
    const p = pending[0];
    if (h === undefined || p === undefined || pending.length > 1) return;
    if (h.correlationId !== p.correlationId) throw new BenchFailure(`fetch correlation id ${h.correlationId}, expected ${p.correlationId}`);
    if (h.recordsLength === 0) return; // nothing to predict from; the walk decides
    p.predicted = p.offset + Math.floor(h.recordsLength / o.batchBytes) * o.recordsPerBatch;
    send(following(p.predicted, h.highWatermark));
  };

  const onFrame = (resp: Buffer): void => {
    const now = performance.now();
    window.progress(now);
    const p = pending.shift();
    const h = parseFetchHead(resp);
    if (p === undefined || h === undefined) throw new BenchFailure('fetch: a response without a request, or too short for its head');
    if (h.correlationId !== p.correlationId) throw new BenchFailure(`fetch correlation id ${h.correlationId}, expected ${p.correlationId}`);
    if (h.recordsStart + h.recordsLength > resp.length) throw new BenchFailure(`fetch: records run past the response (short read)`);
    logStart = h.logStartOffset;
    const walk = walkBatches(resp, h.recordsStart, h.recordsLength);
    if (walk.batches === 0) {
      // The topic is not written during the load: below the high watermark there is always a batch.
      if (p.offset < h.highWatermark) throw new BenchFailure(`fetch at ${p.offset} returned no batch (high watermark ${h.highWatermark})`);
    } else if (walk.firstOffset !== p.offset) {
      throw new BenchFailure(`fetch at ${p.offset} returned batches from ${walk.firstOffset}`);
    }
    const next = walk.batches === 0 ? p.offset : walk.nextOffset;
    if (p.predicted !== undefined && p.predicted !== next) throw new BenchFailure(`fetch at ${p.offset}: predicted next offset ${p.predicted}, walked ${next} (stored batches differ in size?)`);
    if (window.holds(now)) {
      responses++;
      bytes += resp.length + 4;
      records += walk.records;
      latencies.push(now - p.sentAt);
      if (next >= h.highWatermark) passes++;
    }
    if (now >= window.end) {
      window.close();
      if (pending.length === 0) {
        socket.end();
        window.done();
      }
      return;
    }
    if (pending.length === 0) send(following(next, h.highWatermark));
  };

  try {
    await window.run([socket], 'no fetch response', () => {
      deliver = (n) => {
        try {
          reader.wrote(n, onHead, onFrame);
        } catch (err) {
          window.fail(err instanceof Error ? err : new Error(String(err)));
        }
      };
      window.watch(
        socket,
        (chunk) => reader.push(chunk, onHead, onFrame),
        () => {
          if (pending.length > 0) window.fail(new BenchFailure(`broker closed the connection with ${pending.length} fetches in flight`));
        },
      );
      send(0);
    });
  } finally {
    socket.destroy();
  }

  const lat = latencies.values();
  return {
    inflight: o.inflight,
    responses,
    seconds: o.seconds,
    bytesPerSecond: bytes / o.seconds,
    recordsPerSecond: records / o.seconds,
    responsesPerSecond: responses / o.seconds,
    meanResponseBytes: responses === 0 ? Number.NaN : bytes / responses,
    passes,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    clientCpu: window.clientCpu,
  };
}

/** A connection whose reads land where `target()` says (net.connect's `onread`), reported to `wrote`. */
function openReadingInto(port: number, target: () => Buffer, wrote: (n: number) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true, onread: { buffer: target, callback: (n: number) => (wrote(n), true) } }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
