import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../protocol/generated/create-partitions.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { PARTITIONS_PER_TOPIC_MAX } from '../broker.js';
import type { RequestContext } from '../request-context.js';

export function handleCreatePartitions(req: CreatePartitionsRequest, ctx: RequestContext): Encodable<CreatePartitionsResponse> {
  const { broker } = ctx;
  const results = req.topics.map((t) => {
    const topic = broker.logs.getTopic(t.name);
    if (topic === undefined) {
      return { name: t.name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `The topic '${t.name}' does not exist.` };
    }
    if (t.count <= topic.partitions) {
      return {
        name: t.name,
        errorCode: ErrorCode.INVALID_PARTITIONS,
        errorMessage: `Topic currently has ${topic.partitions} partitions, which is higher than the requested ${t.count}.`,
      };
    }
    if (t.count > PARTITIONS_PER_TOPIC_MAX) {
      return { name: t.name, errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: `Number of partitions must be at most ${PARTITIONS_PER_TOPIC_MAX}.` };
    }
    if (t.assignments !== null) {
      const bad = t.assignments.length !== t.count - topic.partitions || t.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId);
      if (bad) return { name: t.name, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'Replica assignment must name this broker only, once per new partition.' };
    }
    if (!req.validateOnly) broker.logs.addPartitions(t.name, t.count);
    return { name: t.name, errorCode: 0, errorMessage: null };
  });
  return { throttleTimeMs: 0, results };
}
