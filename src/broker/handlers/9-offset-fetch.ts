import type { OffsetFetchRequest, OffsetFetchResponse } from '../../protocol/generated/offset-fetch.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleOffsetFetch(req: OffsetFetchRequest, ctx: RequestContext): Promise<Encodable<OffsetFetchResponse>> {
  const { groups } = ctx.broker;
  return groups.run((token) => groups.coordinator.fetchOffsets(req, groups.meta(ctx, token), () => []));
}
