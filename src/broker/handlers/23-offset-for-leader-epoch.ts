import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '../../protocol/generated/offset-for-leader-epoch.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { RequestContext } from '../request-context.js';

/**
 * A single Fjord node has led every partition since it was created, in epoch 0. Clients use this API
 * to detect log truncation after a leader change (KIP-320): epoch 0 ends at the log end; a newer epoch
 * than ours is UNKNOWN_LEADER_EPOCH.
 */
export function handleOffsetForLeaderEpoch(req: OffsetForLeaderEpochRequest, ctx: RequestContext): Encodable<OffsetForLeaderEpochResponse> {
  const { broker } = ctx;
  const topics = req.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => {
      const log = broker.logs.partition(t.topic, p.partition);
      if (log === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: p.partition, leaderEpoch: -1, endOffset: -1n };
      if (p.currentLeaderEpoch > 0) return { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, partition: p.partition, leaderEpoch: -1, endOffset: -1n };
      if (p.leaderEpoch > 0) return { errorCode: 0, partition: p.partition, leaderEpoch: -1, endOffset: -1n };
      return { errorCode: 0, partition: p.partition, leaderEpoch: 0, endOffset: BigInt(log.logEndOffset()) };
    }),
  }));
  return { throttleTimeMs: 0, topics };
}
