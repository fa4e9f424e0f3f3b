import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/generated/delete-groups.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleDeleteGroups(req: DeleteGroupsRequest, ctx: RequestContext): Promise<Encodable<DeleteGroupsResponse>> {
  const { groups } = ctx.broker;
  return groups.run(() => groups.coordinator.deleteGroups(req, ctx.broker.clock.now()));
}
