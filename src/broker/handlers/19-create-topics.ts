import type { CreateTopicsRequest, CreateTopicsResponse, CreateTopicsResponseCreatableTopicResult } from '../../protocol/generated/create-topics.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { BrokerConfig } from '../broker-config.js';
import { TopicError } from '../broker.js';
import type { RequestContext } from '../request-context.js';

export async function handleCreateTopics(req: CreateTopicsRequest, ctx: RequestContext): Promise<Encodable<CreateTopicsResponse>> {
  const { broker } = ctx;
  const seen = new Map<string, number>();
  for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
  const results: Encodable<CreateTopicsResponseCreatableTopicResult>[] = [];
  // One topic after another: a large one is created in steps while the broker serves others.
  for (const t of req.topics) results.push(await createOne(t));
  return { throttleTimeMs: 0, topics: results };

  async function createOne(t: CreateTopicsRequest['topics'][number]): Promise<Encodable<CreateTopicsResponseCreatableTopicResult>> {
    if ((seen.get(t.name) ?? 0) > 1) {
      return { name: t.name, topicId: ZERO_UUID, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Create topics request from client contains the topic ${t.name} more than once.`, configs: null };
    }
    if (t.assignments.length > 0) {
      // Manual assignment is only meaningful with more than one broker; on one node every replica is ours.
      const bad = t.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId);
      if (bad || (t.numPartitions !== -1) || (t.replicationFactor !== -1)) {
        return { name: t.name, topicId: ZERO_UUID, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'Replica assignment must name this broker only.', configs: null };
      }
    }
    const configs: Record<string, string> = {};
    for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
    const partitions = t.assignments.length > 0 ? t.assignments.length : t.numPartitions;
    try {
      const created = await broker.createTopicServingOthers(t.name, partitions, t.replicationFactor, configs, req.validateOnly);
      const count = created?.partitions ?? (partitions === -1 ? broker.config.getInt('num.partitions') : partitions);
      return {
        name: t.name,
        topicId: created?.topicId ?? ZERO_UUID,
        errorCode: 0,
        errorMessage: null,
        numPartitions: count,
        replicationFactor: 1,
        configs: BrokerConfig.topicConfigNames().map((name) => {
          const r = broker.config.resolveTopicConfig(configs, name)!;
          return { name, value: r.value, readOnly: false, configSource: r.source, isSensitive: false };
        }),
      };
    } catch (err) {
      if (err instanceof TopicError) return { name: t.name, topicId: ZERO_UUID, errorCode: err.errorCode, errorMessage: err.message, configs: null };
      throw err;
    }
  }
}
