import type { SyncGroupRequest, SyncGroupResponse } from '../../protocol/generated/sync-group.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleSyncGroup(req: SyncGroupRequest, ctx: RequestContext): Promise<Encodable<SyncGroupResponse>> {
  const { groups } = ctx.broker;
  return groups.run((token) => groups.coordinator.sync(req, groups.meta(ctx, token), ctx.broker.clock.now()));
}
