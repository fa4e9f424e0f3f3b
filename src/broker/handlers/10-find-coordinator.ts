import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../../protocol/generated/find-coordinator.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { RequestContext } from '../request-context.js';

const KEY_TYPE_GROUP = 0;

/** Every group is coordinated here (one node); transaction coordination arrives with transactions. */
export function handleFindCoordinator(req: FindCoordinatorRequest, ctx: RequestContext): Encodable<FindCoordinatorResponse> {
  const { broker } = ctx;
  const answer = (key: string): { errorCode: number; errorMessage: string | null; nodeId: number; host: string; port: number } => {
    if (req.keyType !== KEY_TYPE_GROUP) {
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'Transactions are not supported yet', nodeId: -1, host: '', port: -1 };
    }
    if (key === '') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Empty group id', nodeId: -1, host: '', port: -1 };
    broker.groups.ensureOffsetsTopic();
    return { errorCode: 0, errorMessage: null, nodeId: broker.nodeId, host: broker.advertisedHost, port: broker.advertisedPort };
  };
  if (ctx.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((key) => ({ key, ...answer(key) })) };
  return { throttleTimeMs: 0, ...answer(req.key) };
}
