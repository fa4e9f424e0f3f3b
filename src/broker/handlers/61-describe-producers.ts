import type { DescribeProducersRequest, DescribeProducersResponse } from '../../protocol/generated/describe-producers.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { RequestContext } from '../request-context.js';

/** DescribeProducers (KIP-664): the producers each partition remembers, as its producer state holds them. */
export function handleDescribeProducers(req: DescribeProducersRequest, ctx: RequestContext): Encodable<DescribeProducersResponse> {
  const { broker } = ctx;
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => {
        const log = broker.logs.partition(t.name, partitionIndex);
        if (log === undefined) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] };
        const state = log.producerState();
        const activeProducers = [...state.entries()].map((e) => {
          const last = e.batches[e.batches.length - 1];
          return {
            producerId: BigInt(e.producerId),
            producerEpoch: e.epoch,
            lastSequence: last?.lastSeq ?? -1,
            lastTimestamp: BigInt(last?.timestamp ?? e.lastTimestamp),
            coordinatorEpoch: e.coordinatorEpoch,
            currentTxnStartOffset: BigInt(e.currentTxnFirstOffset),
          };
        });
        return { partitionIndex, errorCode: 0, errorMessage: null, activeProducers };
      }),
    })),
  };
}
