import type { ListGroupsRequest, ListGroupsResponse } from '../../protocol/generated/list-groups.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleListGroups(req: ListGroupsRequest, ctx: RequestContext): Encodable<ListGroupsResponse> {
  const { groups } = ctx.broker;
  return groups.coordinator.listGroups(req, groups.meta(ctx, 0));
}
