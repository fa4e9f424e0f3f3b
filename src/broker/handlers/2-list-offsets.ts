import type { ListOffsetsRequest, ListOffsetsResponse, ListOffsetsResponseListOffsetsPartitionResponse } from '../../protocol/generated/list-offsets.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { PartitionLog } from '../../storage/types.js';
import { decodeRecordBatches } from '../../protocol/records/record-batch-reader.js';
import { DECOMPRESSED_BATCH_MAX_BYTES } from './0-produce.js';
import type { RequestContext } from '../request-context.js';

/** Kafka's special timestamps. */
export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;
export const MAX_TIMESTAMP = -3n;
export const EARLIEST_LOCAL_TIMESTAMP = -4n;
export const LATEST_TIERED_TIMESTAMP = -5n;

const READ_COMMITTED = 1;

type Result = Encodable<ListOffsetsResponseListOffsetsPartitionResponse>;

/**
 * Storage finds the batch; Kafka answers with the record. Decode that one batch (off the hot path:
 * ListOffsets by time is rare) and pick the first record at or after the target, or the first record
 * holding the batch's max timestamp.
 */
async function refineToRecord(log: PartitionLog, found: { offset: number; timestamp: number }, target: number | 'max'): Promise<{ offset: number; timestamp: number }> {
  if (found.offset < 0) return found;
  const read = log.read(found.offset, 1, true);
  if (read.chunks.length === 0) return found;
  const [batch] = await decodeRecordBatches(read.chunks[0]!, { verifyCrc: false, maxDecompressedBytes: DECOMPRESSED_BATCH_MAX_BYTES });
  if (batch === undefined) return found;
  for (const r of batch.records) {
    if (r.offset < log.logStartOffset()) continue;
    if (target === 'max' ? r.timestamp === found.timestamp : r.timestamp >= target) return { offset: r.offset, timestamp: r.timestamp };
  }
  return found;
}

async function lookup(log: PartitionLog, timestamp: bigint, lastFetchable: number): Promise<{ offset: number; timestamp: number }> {
  switch (timestamp) {
    case LATEST_TIMESTAMP:
      return { offset: lastFetchable, timestamp: -1 };
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP:
      return { offset: log.logStartOffset(), timestamp: -1 };
    case LATEST_TIERED_TIMESTAMP:
      // No tiered storage: Kafka answers -1 for a log with nothing tiered.
      return { offset: -1, timestamp: -1 };
    case MAX_TIMESTAMP:
      return refineToRecord(log, log.maxTimestamp() ?? { offset: -1, timestamp: -1 }, 'max');
    default:
      return refineToRecord(log, log.offsetForTimestamp(Number(timestamp)) ?? { offset: -1, timestamp: -1 }, Number(timestamp));
  }
}

export async function handleListOffsets(req: ListOffsetsRequest, ctx: RequestContext): Promise<Encodable<ListOffsetsResponse>> {
  const { broker, apiVersion } = ctx;
  const topics = [];
  for (const t of req.topics) {
    const topic = broker.logs.getTopic(t.name);
    const partitions: Result[] = [];
    for (const p of t.partitions) partitions.push(await (async (): Promise<Result> => {
      const log = topic === undefined ? undefined : broker.logs.partition(t.name, p.partitionIndex);
      if (log === undefined) {
        return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, timestamp: -1n, offset: -1n, leaderEpoch: -1, oldStyleOffsets: [] };
      }
      // Kafka's rule: a read_committed client (isolation level 1, v2+) sees offsets only below the LSO.
      const lastFetchable = apiVersion >= 2 && req.isolationLevel === READ_COMMITTED ? log.lastStableOffset() : log.logEndOffset();
      let found = await lookup(log, p.timestamp, lastFetchable);
      if ((p.timestamp >= 0n || p.timestamp === MAX_TIMESTAMP) && found.offset >= lastFetchable) found = { offset: -1, timestamp: -1 };
      return {
        partitionIndex: p.partitionIndex,
        errorCode: 0,
        // v0 answers with a list of offsets (at most maxNumOffsets; we know one per timestamp).
        oldStyleOffsets: apiVersion === 0 && found.offset >= 0 && p.maxNumOffsets > 0 ? [BigInt(found.offset)] : [],
        timestamp: BigInt(found.timestamp),
        offset: BigInt(found.offset),
        leaderEpoch: found.offset >= 0 ? 0 : -1,
      };
    })());
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}
