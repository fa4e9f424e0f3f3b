import type { ListOffsetsRequest, ListOffsetsResponse, ListOffsetsResponseListOffsetsPartitionResponse } from '../../protocol/generated/list-offsets.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { PartitionLog } from '../../storage/types.js';
import type { RequestContext } from '../request-context.js';

/** Kafka's special timestamps. */
export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;
export const MAX_TIMESTAMP = -3n;
export const EARLIEST_LOCAL_TIMESTAMP = -4n;
export const LATEST_TIERED_TIMESTAMP = -5n;

type Result = Encodable<ListOffsetsResponseListOffsetsPartitionResponse>;

function lookup(log: PartitionLog, timestamp: bigint): { offset: number; timestamp: number } {
  switch (timestamp) {
    case LATEST_TIMESTAMP:
      return { offset: log.logEndOffset(), timestamp: -1 };
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP:
      return { offset: log.logStartOffset(), timestamp: -1 };
    case LATEST_TIERED_TIMESTAMP:
      // No tiered storage: Kafka answers -1 for a log with nothing tiered.
      return { offset: -1, timestamp: -1 };
    case MAX_TIMESTAMP:
      return log.maxTimestamp() ?? { offset: -1, timestamp: -1 };
    default:
      return log.offsetForTimestamp(Number(timestamp)) ?? { offset: -1, timestamp: -1 };
  }
}

export function handleListOffsets(req: ListOffsetsRequest, ctx: RequestContext): Encodable<ListOffsetsResponse> {
  const { broker, apiVersion } = ctx;
  const topics = req.topics.map((t) => {
    const topic = broker.logs.getTopic(t.name);
    const partitions = t.partitions.map((p): Result => {
      const log = topic === undefined ? undefined : broker.logs.partition(t.name, p.partitionIndex);
      if (log === undefined) {
        return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, timestamp: -1n, offset: -1n, leaderEpoch: -1, oldStyleOffsets: [] };
      }
      const found = lookup(log, p.timestamp);
      return {
        partitionIndex: p.partitionIndex,
        errorCode: 0,
        // v0 answers with a list of offsets (at most maxNumOffsets; we know one per timestamp).
        oldStyleOffsets: apiVersion === 0 && found.offset >= 0 && p.maxNumOffsets > 0 ? [BigInt(found.offset)] : [],
        timestamp: BigInt(found.timestamp),
        offset: BigInt(found.offset),
        leaderEpoch: found.offset >= 0 ? 0 : -1,
      };
    });
    return { name: t.name, partitions };
  });
  return { throttleTimeMs: 0, topics };
}
