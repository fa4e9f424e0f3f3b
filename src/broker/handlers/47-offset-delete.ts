import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../../protocol/generated/offset-delete.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleOffsetDelete(req: OffsetDeleteRequest, ctx: RequestContext): Promise<Encodable<OffsetDeleteResponse>> {
  const { groups } = ctx.broker;
  return groups.run(() => groups.coordinator.deleteOffsets(req));
}
