import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../../protocol/generated/find-coordinator.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { RequestContext } from '../request-context.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

/** Every group and every transactional id is coordinated here (one node). */
export function handleFindCoordinator(req: FindCoordinatorRequest, ctx: RequestContext): Encodable<FindCoordinatorResponse> {
  const { broker } = ctx;
  const answer = (key: string): { errorCode: number; errorMessage: string | null; nodeId: number; host: string; port: number } => {
    if (req.keyType === KEY_TYPE_TRANSACTION) {
      if (key === '') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Empty transactional id', nodeId: -1, host: '', port: -1 };
      broker.transactions.ensureStateTopic();
    } else if (req.keyType === KEY_TYPE_GROUP) {
      if (key === '') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Empty group id', nodeId: -1, host: '', port: -1 };
      broker.groups.ensureOffsetsTopic();
    } else {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown coordinator key type ${req.keyType}`, nodeId: -1, host: '', port: -1 };
    }
    return { errorCode: 0, errorMessage: null, nodeId: broker.nodeId, host: broker.advertisedHost, port: broker.advertisedPort };
  };
  if (ctx.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((key) => ({ key, ...answer(key) })) };
  return { throttleTimeMs: 0, ...answer(req.key) };
}
