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
import { BenchFailure, LoadWindow, STALL_MS, type LoadOptions } from './load-window.js';

const PRODUCE_KEY = 0;
const PRODUCE_VERSION = 7;
const METADATA_KEY = 3;
const METADATA_VERSION = 1;
export const CLIENT_ID = 'bench';
/** Offset of the correlation id in a frame: size (4) + api key (2) + api version (2). */
export const CORRELATION_OFFSET = 8;
// Defined with the measurement window; exported here too, where the bench files have always taken them.
export { BenchFailure, STALL_MS } from './load-window.js';

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

/** Produce v7 of `batch` to partitions 0..partitions-1 of `topic` (the spread load patches the indices). */
export function produceFrame(topic: string, acks: number, batch: Buffer, correlationId = 0, partitions = 1): Buffer {
  const partitionData = Array.from({ length: partitions }, (_, index) => ({ index, records: batch }));
  return frame((w) => {
    encodeRequestHeader(w, { requestApiKey: PRODUCE_KEY, requestApiVersion: PRODUCE_VERSION, correlationId, clientId: CLIENT_ID }, 1);
    encodeProduceRequest(w, { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData }] }, PRODUCE_VERSION);
  });
}

/**
 * ProduceResponse v7 after the correlation id: [topics][name][partitions][index][errorCode]...
 * Checks it has one topic and returns the offset of that topic's partition count.
 */
export function producePartitionsAt(resp: Buffer): number {
  const topics = resp.readInt32BE(4);
  if (topics !== 1) throw new BenchFailure(`produce response has ${topics} topics`);
  return 10 + resp.readInt16BE(8);
}

/** The error code of a one-partition ProduceResponse v7. */
export function produceErrorCode(resp: Buffer): number {
  const at = producePartitionsAt(resp);
  const partitions = resp.readInt32BE(at);
  if (partitions !== 1) throw new BenchFailure(`produce response has ${partitions} partitions`);
  return resp.readInt16BE(at + 8); // after the count and the partition index
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

export interface ProduceLoadOptions extends LoadOptions {
  acks: number;
  batch: BenchBatch;
  inflight: number;
}

/** What a closed loop (runInflightLoad) measured inside the window. */
export interface InflightLoadResult {
  frameBytes: number;
  /** Responses received inside the window. */
  requests: number;
  requestsPerSecond: number;
  /** Whole request frames (size prefix + header + body) per second. */
  bytesPerSecond: number;
  recordsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The load generator's own CPU use inside the window, in cores. */
  clientCpu: number;
}

export interface ProduceLoadResult extends InflightLoadResult {
  batchBytes: number;
  recordsPerRequest: number;
  seconds: number;
}

export async function runProduceLoad(o: ProduceLoadOptions): Promise<ProduceLoadResult> {
  const template = produceFrame(o.topic, o.acks, o.batch.batch);
  const { frameBytes, requests, ...rates } = await runInflightLoad(o, template, o.batch.records, (resp) => {
    const errorCode = produceErrorCode(resp);
    if (errorCode !== 0) throw new BenchFailure(`produce error code ${errorCode} (acks=${o.acks})`);
  });
  // In this order the fields keep their places in the JSON file.
  return { frameBytes, batchBytes: o.batch.batch.length, recordsPerRequest: o.batch.records, requests, seconds: o.seconds, ...rates };
}

/**
 * The closed loop under runProduceLoad and runSpreadLoad: `o.inflight` copies of `template` in flight
 * on one connection, a new one sent for each response. `check` throws on a bad response (after the
 * correlation id was checked); `patch` edits a frame just before it is sent.
 */
export async function runInflightLoad(
  o: LoadOptions & { inflight: number },
  template: Buffer,
  recordsPerRequest: number,
  check: (resp: Buffer) => void,
  patch?: (frame: Buffer) => void,
): Promise<InflightLoadResult> {
  // One copy per in-flight slot: a slot is reused only after its response arrived, i.e. after the
  // broker read the whole request, so patching its correlation id in place is safe.
  const frames = Array.from({ length: o.inflight }, () => Buffer.from(template));
  const sentAt = new Float64Array(o.inflight);
  const latencies = new Samples();
  const socket = await open(o.port);
  const reader = new FrameReader(64 * 1024 * 1024);
  const window = new LoadWindow(o);
  let nextCorrelation = 0;
  let expected = 0;
  let inWindow = 0;

  const send = (): void => {
    const correlationId = nextCorrelation++;
    const slot = correlationId % o.inflight;
    const f = frames[slot]!;
    f.writeInt32BE(correlationId, CORRELATION_OFFSET);
    patch?.(f);
    sentAt[slot] = performance.now();
    socket.write(f);
  };
  const onResponse = (resp: Buffer): void => {
    const now = performance.now();
    window.progress(now);
    const correlationId = resp.readInt32BE(0);
    if (correlationId !== expected) throw new BenchFailure(`correlation id ${correlationId}, expected ${expected}`);
    expected++;
    check(resp);
    if (window.holds(now)) {
      inWindow++;
      latencies.push(now - sentAt[correlationId % o.inflight]!);
    }
    if (now < window.end) send();
    else window.close();
    if (now >= window.end && expected === nextCorrelation) {
      socket.end();
      window.done();
    }
  };

  try {
    await window.run([socket], 'no produce response', () => {
      window.watch(
        socket,
        (chunk) => reader.push(chunk, onResponse),
        () => {
          if (expected !== nextCorrelation) window.fail(new BenchFailure(`broker closed the connection with ${nextCorrelation - expected} requests in flight`));
        },
      );
      for (let i = 0; i < o.inflight; i++) send();
    });
  } finally {
    socket.destroy();
  }

  const lat = latencies.values();
  return {
    frameBytes: template.length,
    requests: inWindow,
    requestsPerSecond: inWindow / o.seconds,
    bytesPerSecond: (inWindow * template.length) / o.seconds,
    recordsPerSecond: (inWindow * recordsPerRequest) / o.seconds,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    clientCpu: window.clientCpu,
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
