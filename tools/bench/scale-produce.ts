/**
 * Produce load spread over the partitions of one topic: one connection, a fixed number of requests
 * in flight, each request carrying one pre-encoded batch for each of `perRequest` distinct
 * partitions taken round-robin (request r covers partitions r*k .. r*k+k-1 modulo the count).
 * The frames are encoded once per in-flight slot; only the correlation id and the partition indices
 * are patched before each send. Every response's partitions are checked for error codes.
 */
import { performance } from 'node:perf_hooks';
import { encodeProduceRequest } from '../../src/protocol/generated/produce.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { BenchFailure } from './produce-load.js';
import { openSocket, PRODUCE, requestFrame } from './scale-wire.js';
import { percentile, Samples } from './stats.js';

const CORRELATION_OFFSET = 8;
const STALL_MS = 30_000;

export interface SpreadLoadOptions {
  port: number;
  topic: string;
  /** Partitions of the topic (0..partitions-1). */
  partitions: number;
  /** Partitions per request; at most `partitions`. */
  perRequest: number;
  /** One pre-encoded record batch, sent to every partition. */
  batch: Buffer;
  recordsPerBatch: number;
  acks: number;
  inflight: number;
  warmupSeconds: number;
  seconds: number;
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export interface SpreadLoadResult {
  frameBytes: number;
  requests: number;
  requestsPerSecond: number;
  /** Whole request frames per second. */
  bytesPerSecond: number;
  recordsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  clientCpu: number;
}

/** A Produce v7 frame for partitions 0..k-1 and the byte offsets of their partition indices. */
function template(topic: string, k: number, batch: Buffer, acks: number): { frame: Buffer; indexOffsets: number[] } {
  const frame = requestFrame(PRODUCE, 0, (w) =>
    encodeProduceRequest(w, { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: Array.from({ length: k }, (_, index) => ({ index, records: batch })) }] }, PRODUCE.version),
  );
  // size(4) apiKey(2) apiVersion(2) correlationId(4) clientId(2+n); transactionalId null(2) acks(2)
  // timeout(4) topics(4) name(2+n) partitions(4); then per partition: index(4) size(4) batch.
  let o = 12;
  o += 2 + frame.readInt16BE(o);
  o += 2 + 2 + 4 + 4;
  o += 2 + Buffer.byteLength(topic);
  if (frame.readInt32BE(o) !== k) throw new BenchFailure('produce frame layout: partition count not where expected');
  o += 4;
  const indexOffsets: number[] = [];
  for (let i = 0; i < k; i++) {
    if (frame.readInt32BE(o) !== i || frame.readInt32BE(o + 4) !== batch.length) throw new BenchFailure('produce frame layout: partition entry not where expected');
    indexOffsets.push(o);
    o += 8 + batch.length;
  }
  if (o !== frame.length) throw new BenchFailure('produce frame layout: trailing bytes');
  return { frame, indexOffsets };
}

/** ProduceResponse v7 after the correlation id: every partition's error code, count checked. */
function checkResponse(resp: Buffer, k: number): void {
  let o = 4;
  const topics = resp.readInt32BE(o);
  o += 4;
  if (topics !== 1) throw new BenchFailure(`produce response has ${topics} topics`);
  o += 2 + resp.readInt16BE(o);
  const n = resp.readInt32BE(o);
  o += 4;
  if (n !== k) throw new BenchFailure(`produce response has ${n} partitions, expected ${k}`);
  for (let i = 0; i < n; i++) {
    const err = resp.readInt16BE(o + 4);
    if (err !== 0) throw new BenchFailure(`produce error code ${err} for partition ${resp.readInt32BE(o)}`);
    o += 4 + 2 + 8 + 8 + 8; // index, error, base offset, log append time, log start offset
  }
}

export async function runSpreadLoad(o: SpreadLoadOptions): Promise<SpreadLoadResult> {
  const k = Math.min(o.perRequest, o.partitions);
  const { frame, indexOffsets } = template(o.topic, k, o.batch, o.acks);
  const frames = Array.from({ length: o.inflight }, () => Buffer.from(frame));
  const sentAt = new Float64Array(o.inflight);
  const latencies = new Samples();
  const socket = await openSocket(o.port);
  const reader = new FrameReader(64 * 1024 * 1024);

  const start = performance.now();
  const windowStart = start + o.warmupSeconds * 1000;
  const windowEnd = windowStart + o.seconds * 1000;
  let nextCorrelation = 0;
  let expected = 0;
  let inWindow = 0;
  let cursor = 0;
  let lastResponse = start;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow = 0;

  const send = (): void => {
    const correlationId = nextCorrelation++;
    const slot = correlationId % o.inflight;
    const f = frames[slot]!;
    f.writeInt32BE(correlationId, CORRELATION_OFFSET);
    for (let i = 0; i < k; i++) {
      f.writeInt32BE(cursor, indexOffsets[i]!);
      cursor = cursor + 1 === o.partitions ? 0 : cursor + 1;
    }
    sentAt[slot] = performance.now();
    socket.write(f);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let opened = false;
      let closed = false;
      const openWindow = (): void => {
        if (opened) return;
        opened = true;
        cpuAtStart = process.cpuUsage();
        o.onWindowStart?.();
      };
      const closeWindow = (): void => {
        if (closed) return;
        closed = true;
        openWindow();
        const used = process.cpuUsage(cpuAtStart);
        cpuInWindow = (used.user + used.system) / 1000 / (o.seconds * 1000);
        o.onWindowEnd?.();
      };
      const timers = [
        setTimeout(openWindow, windowStart - start),
        setTimeout(closeWindow, windowEnd - start),
        setInterval(() => {
          if (performance.now() - lastResponse > STALL_MS) fail(new BenchFailure(`no produce response for ${STALL_MS / 1000} s`));
        }, 1000),
      ];
      const done = (err?: Error): void => {
        for (const t of timers) clearTimeout(t);
        if (err === undefined) resolve();
        else reject(err);
      };
      const fail = (err: Error): void => {
        socket.destroy();
        done(err);
      };
      const onResponse = (resp: Buffer): void => {
        const now = performance.now();
        lastResponse = now;
        const correlationId = resp.readInt32BE(0);
        if (correlationId !== expected) throw new BenchFailure(`correlation id ${correlationId}, expected ${expected}`);
        expected++;
        checkResponse(resp, k);
        if (now >= windowStart && now < windowEnd) {
          openWindow();
          inWindow++;
          latencies.push(now - sentAt[correlationId % o.inflight]!);
        }
        if (now < windowEnd) send();
        else closeWindow();
        if (now >= windowEnd && expected === nextCorrelation) {
          socket.end();
          done();
        }
      };
      socket.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk, onResponse);
        } catch (err) {
          fail(err instanceof Error ? err : new Error(String(err)));
        }
      });
      socket.on('error', (err) => fail(err));
      socket.on('close', () => {
        if (expected !== nextCorrelation) fail(new BenchFailure(`broker closed the connection with ${nextCorrelation - expected} requests in flight`));
      });
      for (let i = 0; i < o.inflight; i++) send();
    });
  } finally {
    socket.destroy();
  }

  const lat = latencies.values();
  return {
    frameBytes: frame.length,
    requests: inWindow,
    requestsPerSecond: inWindow / o.seconds,
    bytesPerSecond: (inWindow * frame.length) / o.seconds,
    recordsPerSecond: (inWindow * k * o.recordsPerBatch) / o.seconds,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    clientCpu: cpuInWindow,
  };
}
