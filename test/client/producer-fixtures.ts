// Shared by the producer tests (producer.test.ts, producer-faults.test.ts, producer-idempotent.test.ts):
// reading back what an embedded broker stored, and what each partition should hold. Not a test file.
import assert from 'node:assert/strict';
import type { RunningBroker } from '../../src/index.js';
import type { RecordMetadata } from '../../src/client/producer/index.js';
import { decodeRecordBatches, type DecodedBatch } from '../../src/protocol/records/index.js';

/** Every batch the broker stored for a partition, decoded (CRC checked), in offset order. */
export async function storedBatches(running: RunningBroker, topic: string, partition: number): Promise<DecodedBatch[]> {
  const log = running.broker.logs.partition(topic, partition);
  if (log === undefined) return [];
  const out: DecodedBatch[] = [];
  let offset = log.logStartOffset();
  while (offset < log.logEndOffset()) {
    const { chunks } = log.read(offset, 1 << 20, true);
    const batches = await decodeRecordBatches(Buffer.concat(chunks), { verifyCrc: true, maxDecompressedBytes: 64 << 20 });
    if (batches.length === 0) break;
    out.push(...batches);
    const last = batches[batches.length - 1]!;
    offset = last.header.baseOffset + last.header.lastOffsetDelta + 1;
  }
  return out;
}

/** The values of the batches' records, in order ('<null>' for a null value). */
export const valuesOf = (batches: readonly DecodedBatch[]): string[] => batches.flatMap((b) => b.records.map((r) => r.value?.toString() ?? '<null>'));

/** Values stored in a partition, in offset order. */
export async function storedValues(running: RunningBroker, topic: string, partition: number): Promise<string[]> {
  return valuesOf(await storedBatches(running, topic, partition));
}

/** What each partition should hold: the values sent to it, in send order. */
export function expectedByPartition(values: readonly string[], results: readonly RecordMetadata[]): Map<number, string[]> {
  const m = new Map<number, string[]>();
  results.forEach((r, i) => m.set(r.partition, [...(m.get(r.partition) ?? []), values[i]!]));
  return m;
}

/** Whether a request written to a connection is a Produce (API key 0, after the 4-byte size). */
export const isProduceRequest = (chunks: readonly Buffer[]): boolean => chunks[0]!.readInt16BE(4) === 0;

/**
 * After a request was written: if it is a Produce and `loseResponse.n` > 0, count one down and lose
 * the answer: `deafen()` stops the connection hearing it, and the connection is closed shortly after.
 */
export function maybeLoseResponse(isProduce: boolean, loseResponse: { n: number }, deafen: () => void, connection: { close(): void }): void {
  if (isProduce && loseResponse.n > 0) {
    loseResponse.n--;
    // The broker appends, but its answer is never heard: the connection dies waiting for it.
    deafen();
    setTimeout(() => connection.close(), 100);
  }
}

/** Producer timings that ride out a broker restart on the same port. */
export const restartTolerant = {
  retryBackoffMs: 50,
  requestTimeoutMs: 5_000,
  deliveryTimeoutMs: 30_000,
  reconnectBackoffMs: 20,
  reconnectBackoffMaxMs: 200,
} as const;

/** The offsets reported for partition `p`'s sends, in send order, are 0, 1, 2, ...: nothing stored twice or skipped. */
export function assertReportedOffsets(results: readonly RecordMetadata[], p: number): void {
  const offsets = results.filter((r) => r.partition === p).map((r) => r.offset);
  assert.deepEqual(offsets, offsets.map((_, i) => BigInt(i)), `partition ${p}: reported offsets`);
}
