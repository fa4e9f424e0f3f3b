/**
 * A minimal raw Kafka client for the startup and scale cases: one socket, request/response with
 * correlation ids, and the few APIs the cases need (ApiVersions, Metadata, CreateTopics, Produce),
 * all at non-flexible versions (request header v1, response header v0). Every error code is a
 * BenchFailure: these helpers set the scene, they never measure a failure as a result.
 */
import { connect, type Socket } from 'node:net';
import { Writer } from '../../src/protocol/writer.js';
import { Reader } from '../../src/protocol/reader.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { encodeApiVersionsRequest, decodeApiVersionsResponse } from '../../src/protocol/generated/api-versions.js';
import { encodeMetadataRequest, decodeMetadataResponse, type MetadataResponse } from '../../src/protocol/generated/metadata.js';
import { encodeCreateTopicsRequest, decodeCreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import { encodeProduceRequest, decodeProduceResponse } from '../../src/protocol/generated/produce.js';
import { BenchFailure } from './produce-load.js';

const CLIENT_ID = 'bench';
export const API_VERSIONS = { key: 18, version: 2 } as const;
export const METADATA = { key: 3, version: 1 } as const;
export const CREATE_TOPICS = { key: 19, version: 4 } as const;
export const PRODUCE = { key: 0, version: 7 } as const;

/** A whole request frame (size prefix included) for one API at a non-flexible version. */
export function requestFrame(api: { key: number; version: number }, correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer(1024);
  w.int32(0);
  encodeRequestHeader(w, { requestApiKey: api.key, requestApiVersion: api.version, correlationId, clientId: CLIENT_ID }, 1);
  body(w);
  const buf = Buffer.from(w.toBuffer());
  buf.writeInt32BE(buf.length - 4, 0);
  return buf;
}

export function apiVersionsFrame(correlationId: number): Buffer {
  return requestFrame(API_VERSIONS, correlationId, (w) => encodeApiVersionsRequest(w, {}, API_VERSIONS.version));
}

export function openSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host, noDelay: true }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** One connection; requests may be pipelined, responses are matched by correlation id. */
export class WireClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private closedError: Error | null = null;

  private constructor(readonly socket: Socket) {
    const reader = new FrameReader(256 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (resp) => {
          const id = resp.readInt32BE(0);
          const p = this.pending.get(id);
          if (p === undefined) throw new BenchFailure(`unexpected correlation id ${id}`);
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.resolve(resp);
        });
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new BenchFailure('broker closed the connection')));
  }

  static async connect(port: number): Promise<WireClient> {
    return new WireClient(await openSocket(port));
  }

  private fail(err: Error): void {
    if (this.closedError === null) this.closedError = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.socket.destroy();
  }

  /** Send one request; resolves with a Reader positioned after the response header (v0). */
  async request(api: { key: number; version: number }, body: (w: Writer) => void, timeoutMs = 120_000): Promise<Reader> {
    if (this.closedError !== null) throw this.closedError;
    const id = this.next++;
    const frame = requestFrame(api, id, body);
    const resp = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BenchFailure(`no response to API ${api.key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(frame);
    });
    return new Reader(resp, 4);
  }

  async apiVersions(): Promise<number> {
    const r = await this.request(API_VERSIONS, (w) => encodeApiVersionsRequest(w, {}, API_VERSIONS.version));
    const resp = decodeApiVersionsResponse(r, API_VERSIONS.version);
    if (!r.ok || resp.errorCode !== 0) throw new BenchFailure(`ApiVersions failed: ${r.error ?? `error code ${resp.errorCode}`}`);
    return resp.apiKeys.length;
  }

  /** Metadata v1 for the named topics (null: all topics). Does not auto-create: callers check. */
  async metadata(topics: readonly string[] | null): Promise<MetadataResponse> {
    const r = await this.request(METADATA, (w) => encodeMetadataRequest(w, { topics: topics === null ? null : topics.map((name) => ({ name })) }, METADATA.version));
    const resp = decodeMetadataResponse(r, METADATA.version);
    if (!r.ok) throw new BenchFailure(`Metadata failed: ${r.error ?? '?'}`);
    return resp;
  }

  /** The partition count of a topic per Metadata, checking every partition has no error. */
  async partitionCount(topic: string): Promise<number> {
    const md = await this.metadata([topic]);
    const t = md.topics.find((x) => x.name === topic);
    if (t === undefined || t.errorCode !== 0) throw new BenchFailure(`Metadata for ${topic}: error code ${String(t?.errorCode)}`);
    const bad = t.partitions.find((p) => p.errorCode !== 0);
    if (bad !== undefined) throw new BenchFailure(`Metadata for ${topic}-${bad.partitionIndex}: error code ${bad.errorCode}`);
    return t.partitions.length;
  }

  /** One CreateTopics request for one topic. */
  async createTopic(topic: string, partitions: number, timeoutMs = 600_000): Promise<void> {
    const r = await this.request(
      CREATE_TOPICS,
      (w) => encodeCreateTopicsRequest(w, { topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1 }], timeoutMs }, CREATE_TOPICS.version),
      timeoutMs,
    );
    const resp = decodeCreateTopicsResponse(r, CREATE_TOPICS.version);
    const t = resp.topics[0];
    if (!r.ok || t === undefined || t.errorCode !== 0) {
      throw new BenchFailure(`CreateTopics ${topic} (${partitions} partitions) failed: ${r.error ?? `error code ${String(t?.errorCode)} ${t?.errorMessage ?? ''}`}`);
    }
  }

  /** Produce v7: the same batch to each of the listed partitions of one topic, in one request; the base offsets by partition. */
  async produce(topic: string, partitions: readonly number[], batch: Buffer, acks: number, timeoutMs = 120_000): Promise<Map<number, number>> {
    const r = await this.request(
      PRODUCE,
      (w) => encodeProduceRequest(w, { transactionalId: null, acks, timeoutMs: 60_000, topicData: [{ name: topic, partitionData: partitions.map((index) => ({ index, records: batch })) }] }, PRODUCE.version),
      timeoutMs,
    );
    const resp = decodeProduceResponse(r, PRODUCE.version);
    if (!r.ok) throw new BenchFailure(`Produce failed: ${r.error ?? '?'}`);
    const offsets = new Map<number, number>();
    for (const t of resp.responses) {
      for (const p of t.partitionResponses) {
        if (p.errorCode !== 0) throw new BenchFailure(`Produce to ${t.name}-${p.index}: error code ${p.errorCode}`);
        offsets.set(p.index, Number(p.baseOffset));
      }
    }
    if (offsets.size !== partitions.length) throw new BenchFailure(`Produce answered ${offsets.size} of ${partitions.length} partitions`);
    return offsets;
  }

  /** One batch appended to every partition 0..count-1, `perRequest` partitions per request; the base offsets, by partition. */
  async fillPartitions(topic: string, count: number, batch: Buffer, acks: number, perRequest = 500): Promise<Float64Array> {
    const baseOffsets = new Float64Array(count).fill(Number.NaN);
    const inflight: Array<Promise<void>> = [];
    for (let first = 0; first < count; first += perRequest) {
      const parts = Array.from({ length: Math.min(perRequest, count - first) }, (_, i) => first + i);
      const sent = this.produce(topic, parts, batch, acks).then((m) => m.forEach((offset, index) => (baseOffsets[index] = offset)));
      sent.catch(() => undefined); // awaited below; this only keeps a failure from being unhandled meanwhile
      inflight.push(sent);
      if (inflight.length >= 4) await inflight.shift();
    }
    await Promise.all(inflight);
    return baseOffsets;
  }

  close(): void {
    this.closedError ??= new BenchFailure('closed');
    this.socket.destroy();
  }
}

/** Resident set size of another process, from /proc (Linux); NaN elsewhere. */
export async function processRss(pid: number): Promise<number> {
  try {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}
