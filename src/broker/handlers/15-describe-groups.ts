import type { DescribeGroupsRequest, DescribeGroupsResponse } from '../../protocol/generated/describe-groups.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleDescribeGroups(req: DescribeGroupsRequest, ctx: RequestContext): Encodable<DescribeGroupsResponse> {
  return ctx.broker.groups.coordinator.describeGroups(req);
}
