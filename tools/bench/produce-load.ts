/**
 * The load generator: one connection, one pre-encoded Produce v7 frame, a fixed number of requests in
 * flight (a new one goes out for each response). Counts responses, checks their correlation ids and
 * error codes, and records request latency inside a measurement window that follows a warm-up.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Writer } from '../../src/protocol/writer.js';
import { Reader } from '../../src/protocol/reader.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { encodeProduceRequest } from '../../src/protocol/generated/produce.js';
import { encodeMetadataRequest, decodeMetadataResponse } from '../../src/protocol/generated/metadata.js';
import { buildRecordBatch, type RecordInput } from '../../src/protocol/records/index.js';
import { percentile, Samples } from './stats.js';

const PRODUCE_KEY = 0;
const PRODUCE_VERSION = 7;
const METADATA_KEY = 3;
const METADATA_VERSION = 1;
export const CLIENT_ID = 'bench';
/** Offset of the correlation id in a frame: size (4) + api key (2) + api version (2). */
export const CORRELATION_OFFSET = 8;
/** No response for this long means the broker is stuck: a real failure. */
export const STALL_MS = 30_000;

export class BenchFailure extends Error {}

export interface BenchBatch {
  batch: Buffer;
  records: number;
}

/** The largest batch of `valueBytes`-byte records (null keys, no compression) that fits `maxBytes`. */
export async function buildBenchBatch(maxBytes: number, valueBytes: number): Promise<BenchBatch> {
  const value = Buffer.alloc(valueBytes);
  for (let i = 0; i < valueBytes; i++) value[i] = 0x20 + ((i * 31) % 95);
  const timestamp = Date.now();
  const make = (n: number): Promise<Buffer> => {
    const records: RecordInput[] = [];
    for (let i = 0; i < n; i++) records.push({ key: null, value, timestamp });
    return buildRecordBatch({ records, compression: 0 });
  };
  // Binary search on the record count (a 1 MiB batch holds ~9,500 records; a linear walk took seconds):
  // `lo` records fit (or lo = 1, which is used even when it does not), `hi` records do not.
  let lo = 1;
  let hi = Math.floor(maxBytes / valueBytes) + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await make(mid)).length <= maxBytes) lo = mid;
    else hi = mid;
  }
  const n = lo;
  const batch = await make(n);
  return { batch, records: n };
}

export function frame(build: (w: Writer) => void): Buffer {
  const w = new Writer(1024);
  w.int32(0);
  build(w);
  const buf = Buffer.from(w.toBuffer()); // own copy: the batch chunk is referenced, not copied, by the writer
  buf.writeInt32BE(buf.length - 4, 0);
  return buf;
}

export function produceFrame(topic: string, acks: number, batch: Buffer, correlationId = 0): Buffer {
  return frame((w) => {
    encodeRequestHeader(w, { requestApiKey: PRODUCE_KEY, requestApiVersion: PRODUCE_VERSION, correlationId, clientId: CLIENT_ID }, 1);
    encodeProduceRequest(
      w,
      { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] },
      PRODUCE_VERSION,
    );
  });
}

/** ProduceResponse v7 after the correlation id: [topics][name][partitions][index][errorCode]... */
export function produceErrorCode(resp: Buffer): number {
  let o = 4;
  const topics = resp.readInt32BE(o);
  o += 4;
  if (topics !== 1) throw new BenchFailure(`produce response has ${topics} topics`);
  o += 2 + resp.readInt16BE(o);
  const partitions = resp.readInt32BE(o);
  o += 4;
  if (partitions !== 1) throw new BenchFailure(`produce response has ${partitions} partitions`);
  o += 4;
  return resp.readInt16BE(o);
}

export function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Metadata v1 for one topic: auto-creates it (num.partitions=1) and checks it is there. */
export async function ensureTopic(port: number, topic: string): Promise<void> {
  const socket = await open(port);
  try {
    const req = frame((w) => {
      encodeRequestHeader(w, { requestApiKey: METADATA_KEY, requestApiVersion: METADATA_VERSION, correlationId: 1, clientId: CLIENT_ID }, 1);
      encodeMetadataRequest(w, { topics: [{ name: topic }] }, METADATA_VERSION);
    });
    const resp = await new Promise<Buffer>((resolve, reject) => {
      const reader = new FrameReader(64 * 1024 * 1024);
      socket.on('data', (chunk: Buffer) => reader.push(chunk, resolve));
      socket.once('error', reject);
      socket.once('close', () => reject(new BenchFailure('broker closed the connection during Metadata')));
      socket.write(req);
    });
    const r = new Reader(resp, 4);
    const md = decodeMetadataResponse(r, METADATA_VERSION);
    const t = md.topics[0];
    if (!r.ok || t === undefined || t.errorCode !== 0 || t.partitions.length < 1) {
      throw new BenchFailure(`Metadata for ${topic} failed: ${r.error ?? `error code ${String(t?.errorCode)}`}`);
    }
  } finally {
    socket.destroy();
  }
}

export interface ProduceLoadOptions {
  port: number;
  topic: string;
  acks: number;
  batch: BenchBatch;
  inflight: number;
  warmupSeconds: number;
  seconds: number;
  /** Called when the measurement window opens and closes (e.g. to sample the broker's CPU time). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export interface ProduceLoadResult {
  frameBytes: number;
  batchBytes: number;
  recordsPerRequest: number;
  /** Responses received inside the window. */
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Whole request frames (size prefix + header + body) per second. */
  bytesPerSecond: number;
  recordsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The load generator's own CPU use inside the window, in cores. */
  clientCpu: number;
}

export async function runProduceLoad(o: ProduceLoadOptions): Promise<ProduceLoadResult> {
  const template = produceFrame(o.topic, o.acks, o.batch.batch);
  // One copy per in-flight slot: a slot is reused only after its response arrived, i.e. after the
  // broker read the whole request, so patching its correlation id in place is safe.
  const frames = Array.from({ length: o.inflight }, () => Buffer.from(template));
  const sentAt = new Float64Array(o.inflight);
  const latencies = new Samples();
  const socket = await open(o.port);
  const reader = new FrameReader(64 * 1024 * 1024);

  const start = performance.now();
  const windowStart = start + o.warmupSeconds * 1000;
  const windowEnd = windowStart + o.seconds * 1000;
  let nextCorrelation = 0;
  let expected = 0;
  let inWindow = 0;
  let lastResponse = start;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow = 0;

  const send = (): void => {
    const correlationId = nextCorrelation++;
    const slot = correlationId % o.inflight;
    const f = frames[slot]!;
    f.writeInt32BE(correlationId, CORRELATION_OFFSET);
    sentAt[slot] = performance.now();
    socket.write(f);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      // The window's edges are fixed times; the hooks run once each, from a timer or from the first
      // response that notices the edge has passed (a timer can lose the race against the last response).
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
        const errorCode = produceErrorCode(resp);
        if (errorCode !== 0) throw new BenchFailure(`produce error code ${errorCode} (acks=${o.acks})`);
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

  const seconds = o.seconds;
  const lat = latencies.values();
  return {
    frameBytes: template.length,
    batchBytes: o.batch.batch.length,
    recordsPerRequest: o.batch.records,
    requests: inWindow,
    seconds,
    requestsPerSecond: inWindow / seconds,
    bytesPerSecond: (inWindow * template.length) / seconds,
    recordsPerSecond: (inWindow * o.batch.records) / seconds,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    clientCpu: cpuInWindow,
  };
}

/**
 * Send exactly `count` copies of one batch (acks=1) with `inflight` requests in flight and wait for
 * every response: the prefill of the fetch case. Checks correlation ids and error codes like the load.
 */
export async function produceRequests(port: number, topic: string, batch: BenchBatch, count: number, inflight: number): Promise<void> {
  if (count <= 0) return;
  const template = produceFrame(topic, 1, batch.batch);
  const frames = Array.from({ length: inflight }, () => Buffer.from(template));
  const socket = await open(port);
  const reader = new FrameReader(64 * 1024 * 1024);
  let sent = 0;
  let received = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let lastResponse = performance.now();
      const stall = setInterval(() => {
        if (performance.now() - lastResponse > STALL_MS) fail(new BenchFailure(`prefill: no produce response for ${STALL_MS / 1000} s`));
      }, 1000);
      const fail = (err: Error): void => {
        clearInterval(stall);
        socket.destroy();
        reject(err);
      };
      const send = (): void => {
        const f = frames[sent % inflight]!;
        f.writeInt32BE(sent, CORRELATION_OFFSET);
        sent++;
        socket.write(f);
      };
      socket.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk, (resp) => {
            lastResponse = performance.now();
            const correlationId = resp.readInt32BE(0);
            if (correlationId !== received) throw new BenchFailure(`prefill: correlation id ${correlationId}, expected ${received}`);
            received++;
            const errorCode = produceErrorCode(resp);
            if (errorCode !== 0) throw new BenchFailure(`prefill: produce error code ${errorCode}`);
            if (sent < count) send();
            else if (received === count) {
              clearInterval(stall);
              resolve();
            }
          });
        } catch (err) {
          fail(err instanceof Error ? err : new Error(String(err)));
        }
      });
      socket.on('error', fail);
      socket.on('close', () => {
        if (received < count) fail(new BenchFailure(`prefill: broker closed the connection after ${received} of ${count} responses`));
      });
      while (sent < Math.min(inflight, count)) send();
    });
  } finally {
    socket.destroy();
  }
}
