import type { InitProducerIdRequest, InitProducerIdResponse } from '../protocol/generated/init-producer-id.js';
import type { Encodable } from '../protocol/encodable.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Broker } from './broker.js';
import type { RequestContext } from './request-context.js';

export interface TxnProblem {
  readonly errorCode: number;
  readonly message: string;
}

/** Runs the transaction coordinator inside the broker (being built: see issue 6). */
export class TransactionRuntime {
  constructor(private readonly broker: Broker) {}

  verifyPartition(producerId: number, producerEpoch: number, topic: string, partition: number): TxnProblem | null {
    void this.broker;
    return { errorCode: ErrorCode.INVALID_TXN_STATE, message: `producer ${producerId} epoch ${producerEpoch} has no ongoing transaction holding ${topic}-${partition}` };
  }

  async initProducerId(_req: InitProducerIdRequest, _ctx: RequestContext): Promise<Encodable<InitProducerIdResponse>> {
    return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
  }
}
