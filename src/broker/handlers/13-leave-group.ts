import type { LeaveGroupRequest, LeaveGroupResponse } from '../../protocol/generated/leave-group.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleLeaveGroup(req: LeaveGroupRequest, ctx: RequestContext): Promise<Encodable<LeaveGroupResponse>> {
  const { groups } = ctx.broker;
  return groups.run((token) => groups.coordinator.leave(req, groups.meta(ctx, token), ctx.broker.clock.now()));
}
