import type { DeleteTopicsRequest, DeleteTopicsResponse, DeleteTopicsResponseDeletableTopicResult } from '../../protocol/generated/delete-topics.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import type { RequestContext } from '../request-context.js';
import { PartitionWaiters } from '../partition-waiters.js';

export function handleDeleteTopics(req: DeleteTopicsRequest, ctx: RequestContext): Encodable<DeleteTopicsResponse> {
  const { broker } = ctx;
  // v0-5 name topics in topicNames; v6+ in topics, by name or by ID.
  const wanted = ctx.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
  const responses: Encodable<DeleteTopicsResponseDeletableTopicResult>[] = wanted.map((w) => {
    const byName = w.name !== null && w.name !== '';
    const topic = byName ? broker.logs.getTopic(w.name!) : broker.logs.getTopicById(w.topicId);
    if (topic === undefined) {
      return {
        name: w.name,
        topicId: w.topicId,
        errorCode: byName ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.UNKNOWN_TOPIC_ID,
        errorMessage: byName ? 'This server does not host this topic-partition.' : 'This server does not host this topic ID.',
      };
    }
    if (!broker.config.getBool('delete.topic.enable')) {
      return { name: topic.name, topicId: topic.topicId, errorCode: ErrorCode.TOPIC_DELETION_DISABLED, errorMessage: 'Topic deletion is disabled.' };
    }
    broker.logs.deleteTopic(topic.name);
    // Fetches parked on the topic's partitions answer now (with UNKNOWN_TOPIC_OR_PARTITION).
    for (let p = 0; p < topic.partitions; p++) broker.waiters.notify(PartitionWaiters.key(topic.name, p));
    broker.log.info(`Deleted topic ${topic.name}`);
    return { name: topic.name, topicId: topic.topicId, errorCode: 0, errorMessage: null };
  });
  return { throttleTimeMs: 0, responses };
}
