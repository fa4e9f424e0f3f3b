import type { Encodable } from '../../protocol/encodable.js';
import type { MetadataRequest, MetadataResponse } from '../../protocol/generated/metadata.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { KafkaProtocolError } from '../errors.js';
import type { AdminContext, Outcome } from './context.js';
import { assertUnique, fromErrorCode, retryCall, settle, withRetries } from './retry.js';
import { topicIdOrNull } from './topics.js';
import type { ListTopicsOptions, TopicDescription } from './types.js';

const METADATA = 3;

export async function listTopics(ctx: AdminContext, options: ListTopicsOptions): Promise<string[]> {
  const includeInternal = options.includeInternal ?? false;
  return retryCall(ctx, async () => {
    await ctx.cluster.refreshMetadata(null);
    return [...ctx.cluster.topics.values()]
      .filter((t) => includeInternal || !t.isInternal)
      .map((t) => t.name)
      .sort();
  });
}

/**
 * Its own Metadata request rather than the cluster cache: the cache drops topics that answered with
 * an error, and the caller should see that error (UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION...).
 */
export async function describeTopics(ctx: AdminContext, names: readonly string[]): Promise<TopicDescription[]> {
  assertUnique(names, (n) => n, (n) => `topic ${n}`);
  const outcomes = await withRetries(ctx, names, async (pending): Promise<Outcome<TopicDescription>[]> => {
    const conn = await ctx.cluster.anyConnection();
    const body: Encodable<MetadataRequest> = {
      topics: pending.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    };
    const res = await conn.request<MetadataResponse>(METADATA, body);
    const answers = new Map(res.topics.filter((t) => t.name !== null).map((t) => [t.name!, t]));
    return pending.map((name) => {
      const t = answers.get(name);
      if (t === undefined) return { ok: false, error: new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`) };
      return fromErrorCode(t.errorCode, null, () => ({
        name,
        topicId: topicIdOrNull(t.topicId),
        isInternal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes }))
          .sort((a, b) => a.partition - b.partition),
      }));
    });
  });
  return settle('describeTopics', names, outcomes, (n) => `topic ${n}`);
}
