/**
 * Produce load spread over the partitions of one topic: one connection, a fixed number of requests
 * in flight, each request carrying one pre-encoded batch for each of `perRequest` distinct
 * partitions taken round-robin (request r covers partitions r*k .. r*k+k-1 modulo the count).
 * The frames are encoded once per in-flight slot; only the correlation id and the partition indices
 * are patched before each send. Every response's partitions are checked for error codes. The loop,
 * its window and its failure checks are runProduceLoad's (runInflightLoad).
 */
import { BenchFailure, produceFrame, producePartitionsAt, runInflightLoad, type InflightLoadResult } from './produce-load.js';
import type { LoadOptions } from './load-window.js';

export interface SpreadLoadOptions extends LoadOptions {
  /** Partitions of the topic (0..partitions-1). */
  partitions: number;
  /** Partitions per request; at most `partitions`. */
  perRequest: number;
  /** One pre-encoded record batch, sent to every partition. */
  batch: Buffer;
  recordsPerBatch: number;
  acks: number;
  inflight: number;
}

export type SpreadLoadResult = InflightLoadResult;

/** A Produce v7 frame for partitions 0..k-1 and the byte offsets of their partition indices. */
function template(topic: string, k: number, batch: Buffer, acks: number): { frame: Buffer; indexOffsets: number[] } {
  const frame = produceFrame(topic, acks, batch, 0, k);
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
  let o = producePartitionsAt(resp);
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
  let cursor = 0;
  const patchPartitions = (f: Buffer): void => {
    for (let i = 0; i < k; i++) {
      f.writeInt32BE(cursor, indexOffsets[i]!);
      cursor = cursor + 1 === o.partitions ? 0 : cursor + 1;
    }
  };
  return runInflightLoad(o, frame, k * o.recordsPerBatch, (resp) => checkResponse(resp, k), patchPartitions);
}
