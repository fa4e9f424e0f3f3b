import type { JoinGroupRequest, JoinGroupResponse } from '../../protocol/generated/join-group.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleJoinGroup(req: JoinGroupRequest, ctx: RequestContext): Promise<Encodable<JoinGroupResponse>> {
  const { groups } = ctx.broker;
  return groups.run((token) => groups.coordinator.join(req, groups.meta(ctx, token), ctx.broker.clock.now()));
}
