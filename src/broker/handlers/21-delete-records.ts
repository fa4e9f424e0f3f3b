import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../../protocol/generated/delete-records.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { RequestContext } from '../request-context.js';

/** Offset -1 in DeleteRecords means "up to the high watermark". */
const HIGH_WATERMARK = -1n;

export function handleDeleteRecords(req: DeleteRecordsRequest, ctx: RequestContext): Encodable<DeleteRecordsResponse> {
  const { broker } = ctx;
  const topics = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => {
      const log = broker.logs.partition(t.name, p.partitionIndex);
      if (log === undefined) return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      const target = p.offset === HIGH_WATERMARK ? log.logEndOffset() : Number(p.offset);
      if (target < 0 || target > log.logEndOffset()) {
        return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(log.logStartOffset()), errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
      }
      if (target > log.logStartOffset()) log.advanceLogStartOffset(target);
      return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(log.logStartOffset()), errorCode: 0 };
    }),
  }));
  return { throttleTimeMs: 0, topics };
}
