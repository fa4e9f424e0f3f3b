import type { OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/generated/offset-commit.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

/** Committed offsets are answered only once their records are fsync'ed in __consumer_offsets. */
export function handleOffsetCommit(req: OffsetCommitRequest, ctx: RequestContext): Promise<Encodable<OffsetCommitResponse>> {
  const { groups, logs } = ctx.broker;
  return groups.run((token) =>
    groups.coordinator.commitOffsets(req, groups.meta(ctx, token), ctx.broker.clock.now(), (topic, partition) => logs.partition(topic, partition) !== undefined),
  );
}
