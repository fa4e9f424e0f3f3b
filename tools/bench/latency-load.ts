/**
 * The latency load: an open-loop producer and a tail consumer on two connections to one fresh
 * one-partition topic.
 *
 * The producer sends request k (one pre-encoded batch of N records, acks=1) at its intended time
 * t0 + k / rate, whatever happened to earlier requests, so a broker stall delays the requests behind it
 * and shows in their latency instead of silently lowering the offered load (coordinated omission). It
 * spins on setImmediate when the next send is less than a timer's resolution away.
 *
 * The consumer long-polls Fetch v11 at the tail (max_wait_ms 500, min_bytes 1). On this topic request
 * k's batch has base offset k × N, so each batch it receives maps back to its request.
 *
 *   produce latency = request written to the socket → its response;
 *   end-to-end      = intended send time → the consumer received the batch.
 *
 * Samples count for requests whose intended time falls in the window after the warm-up.
 */
import { performance } from 'node:perf_hooks';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { CORRELATION_OFFSET, open, produceErrorCode, produceFrame, type BenchBatch } from './produce-load.js';
import { BenchFailure, LoadWindow, type LoadOptions } from './load-window.js';
import { fetchFrame, parseFetchHead, walkBatches } from './fetch-wire.js';
import { Samples } from './stats.js';

/**
 * Requests written but not yet answered. At the bound the producer waits (its requests become late,
 * which end-to-end latency shows); it also bounds the frames kept for in-flight requests.
 */
const OUTSTANDING_MAX = 256;
/** Bounds the schedule (and its two Float64Arrays) whatever rate and window are asked for. */
const PLANNED_REQUESTS_MAX = 4_000_000;
/** Below this wait the pacer spins on setImmediate; above it it sleeps on a timer until then. */
const SPIN_BELOW_MS = 2;
const TAIL_MAX_WAIT_MS = 500;
const TAIL_MAX_BYTES = 4 * 1024 * 1024;
const FRAME_MAX_BYTES = 64 * 1024 * 1024;

export interface LatencyLoadOptions extends LoadOptions {
  batch: BenchBatch;
  requestsPerSecond: number;
}

export interface LatencyLoadResult {
  requestsPerSecond: number;
  /** Requests whose intended time fell in the window. */
  windowRequests: number;
  produceMs: Float64Array;
  e2eMs: Float64Array;
  /** Actual send − intended send, window requests: the producer's own lateness. */
  sendLagMs: Float64Array;
  clientCpu: number;
}

export async function runLatencyLoad(o: LatencyLoadOptions): Promise<LatencyLoadResult> {
  const planned = Math.min(PLANNED_REQUESTS_MAX, Math.floor((o.warmupSeconds + o.seconds) * o.requestsPerSecond));
  const first = Math.min(planned, Math.ceil(o.warmupSeconds * o.requestsPerSecond)); // first window request
  const N = o.batch.records;
  const intervalMs = 1000 / o.requestsPerSecond;
  const intended = new Float64Array(planned);
  const sentAt = new Float64Array(planned);
  const template = produceFrame(o.topic, 1, o.batch.batch);
  const frames = Array.from({ length: Math.min(OUTSTANDING_MAX, Math.max(1, planned)) }, () => Buffer.from(template));
  const produceMs = new Samples();
  const e2eMs = new Samples();
  const sendLagMs = new Samples();

  const producer = await open(o.port);
  const consumer = await open(o.port);
  const producerReader = new FrameReader(FRAME_MAX_BYTES);
  const consumerReader = new FrameReader(FRAME_MAX_BYTES);
  let next = 0; // next request to send
  let answered = 0; // responses received (in order)
  let consumed = 0; // batches the consumer received (in order)
  let fetchOffset = 0;
  let fetchCorrelation = 0;
  // The window holds the requests whose intended time falls after the warm-up.
  const t0 = performance.now() + 1;
  for (let k = 0; k < planned; k++) intended[k] = t0 + k * intervalMs;
  const window = new LoadWindow(o, t0 + first * intervalMs, t0 + planned * intervalMs);
  // The pacer's pending wake-up: a timer or an immediate (each must be cleared by its own function).
  let pacer: { timer: NodeJS.Timeout } | { immediate: NodeJS.Immediate } | undefined;
  const stopPacer = (): void => {
    if (pacer === undefined) return;
    if ('timer' in pacer) clearTimeout(pacer.timer);
    else clearImmediate(pacer.immediate);
  };
  const checkDone = (): void => {
    if (answered === planned && consumed === planned) {
      window.close();
      producer.end();
      consumer.end();
      window.done();
    }
  };

  const pump = (): void => {
    pacer = undefined;
    if (window.finished) return;
    const now = performance.now();
    while (next < planned && intended[next]! <= now && next - answered < OUTSTANDING_MAX) {
      const f = frames[next % frames.length]!;
      f.writeInt32BE(next, CORRELATION_OFFSET);
      sentAt[next] = performance.now();
      if (next >= first) sendLagMs.push(sentAt[next]! - intended[next]!);
      producer.write(f);
      next++;
    }
    if (next >= planned || next - answered >= OUTSTANDING_MAX) return; // a response calls pump again
    const wait = intended[next]! - performance.now();
    pacer = wait > SPIN_BELOW_MS ? { timer: setTimeout(pump, wait - SPIN_BELOW_MS / 2) } : { immediate: setImmediate(pump) };
  };

  const onProduce = (resp: Buffer): void => {
    const now = performance.now();
    window.progress(now);
    const k = resp.readInt32BE(0);
    if (k !== answered) throw new BenchFailure(`produce correlation id ${k}, expected ${answered}`);
    const errorCode = produceErrorCode(resp);
    if (errorCode !== 0) throw new BenchFailure(`produce error code ${errorCode}`);
    if (k >= first) produceMs.push(now - sentAt[k]!);
    const wasBlocked = next - answered >= OUTSTANDING_MAX;
    answered++;
    if (wasBlocked && pacer === undefined) pump();
    checkDone();
  };

  const fetchTail = (): void => {
    consumer.write(fetchFrame({ topic: o.topic, offset: fetchOffset, maxBytes: TAIL_MAX_BYTES, minBytes: 1, maxWaitMs: TAIL_MAX_WAIT_MS, correlationId: fetchCorrelation }));
  };
  const onFetch = (resp: Buffer): void => {
    const now = performance.now();
    const h = parseFetchHead(resp);
    if (h === undefined || h.recordsStart + h.recordsLength > resp.length) throw new BenchFailure('latency: fetch response shorter than its head says (short read)');
    if (h.correlationId !== fetchCorrelation) throw new BenchFailure(`fetch correlation id ${h.correlationId}, expected ${fetchCorrelation}`);
    fetchCorrelation++;
    const walk = walkBatches(resp, h.recordsStart, h.recordsLength, (base, records) => {
      const k = base / N;
      if (k !== consumed || records !== N) throw new BenchFailure(`latency: batch at offset ${base} with ${records} records, expected request ${consumed}'s at ${consumed * N} with ${N}`);
      if (k >= first) e2eMs.push(now - intended[k]!);
      consumed++;
    });
    if (walk.batches > 0) {
      window.progress(now);
      fetchOffset = walk.nextOffset;
    }
    if (consumed < planned) fetchTail();
    checkDone();
  };

  const wire = (socket: typeof producer, reader: FrameReader, onFrame: (f: Buffer) => void, name: string): void => {
    window.watch(
      socket,
      (chunk) => reader.push(chunk, onFrame),
      () => {
        if (!window.finished) window.fail(new BenchFailure(`broker closed the ${name} connection`));
      },
    );
  };

  try {
    await window.run(
      [producer, consumer],
      'latency: no produce response or fetched batch',
      () => {
        wire(producer, producerReader, onProduce, 'producer');
        wire(consumer, consumerReader, onFetch, 'consumer');
        if (planned === 0) {
          checkDone();
          return;
        }
        fetchTail();
        pacer = { timer: setTimeout(pump, Math.max(0, t0 - performance.now())) };
      },
      stopPacer,
    );
  } finally {
    producer.destroy();
    consumer.destroy();
  }

  return {
    requestsPerSecond: o.requestsPerSecond,
    windowRequests: planned - first,
    produceMs: produceMs.values(),
    e2eMs: e2eMs.values(),
    sendLagMs: sendLagMs.values(),
    clientCpu: window.clientCpu,
  };
}
