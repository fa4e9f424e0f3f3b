import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { RequestContext } from '../request-context.js';

/**
 * InitProducerId. Without a transactional id (an idempotent producer) every call gets a fresh producer
 * id with epoch 0, as Kafka does; with one, the transaction coordinator answers.
 */
export async function handleInitProducerId(req: InitProducerIdRequest, ctx: RequestContext): Promise<Encodable<InitProducerIdResponse>> {
  if (req.transactionalId === null) {
    try {
      return { throttleTimeMs: 0, errorCode: 0, producerId: BigInt(ctx.broker.producerIds.nextId()), producerEpoch: 0 };
    } catch (err) {
      // Retriable for the client: the id block could not be reserved on disk.
      ctx.broker.log.error(`producer id allocation failed: ${String(err)}`);
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
    }
  }
  return ctx.broker.transactions.initProducerId(req, ctx);
}
