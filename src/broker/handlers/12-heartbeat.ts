import type { HeartbeatRequest, HeartbeatResponse } from '../../protocol/generated/heartbeat.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleHeartbeat(req: HeartbeatRequest, ctx: RequestContext): Promise<Encodable<HeartbeatResponse>> {
  const { groups } = ctx.broker;
  return groups.run(() => groups.coordinator.heartbeat(req, ctx.broker.clock.now()));
}
