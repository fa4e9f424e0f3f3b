import type { MetadataRequest, MetadataResponse, MetadataResponseMetadataResponseTopic } from '../../protocol/generated/metadata.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { TopicMetadata } from '../../storage/types.js';
import type { RequestContext } from '../request-context.js';
import { Broker } from '../broker.js';

/** Kafka's "authorized operations not requested" sentinel. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

export function topicMetadataEntry(broker: Broker, topic: TopicMetadata): Encodable<MetadataResponseMetadataResponseTopic> {
  const partitions = [];
  for (let p = 0; p < topic.partitions; p++) {
    partitions.push({
      errorCode: 0,
      partitionIndex: p,
      leaderId: broker.nodeId,
      leaderEpoch: 0,
      replicaNodes: [broker.nodeId],
      isrNodes: [broker.nodeId],
      offlineReplicas: [],
    });
  }
  return {
    errorCode: 0,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.name.startsWith('__'),
    partitions,
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}

export function handleMetadata(req: MetadataRequest, ctx: RequestContext): Encodable<MetadataResponse> {
  const { broker, apiVersion } = ctx;
  const topics: Encodable<MetadataResponseMetadataResponseTopic>[] = [];
  // v0: an empty list means every topic; v1+: null means every topic and empty means none.
  const all = req.topics === null || (apiVersion === 0 && req.topics.length === 0);
  // Before v4 there was no flag and auto-creation followed the broker config alone.
  const allowAutoCreate = apiVersion < 4 || req.allowAutoTopicCreation;
  if (all) {
    for (const t of broker.logs.listTopics()) topics.push(topicMetadataEntry(broker, t));
  } else {
    for (const requested of req.topics ?? []) {
      if (requested.name === null || requested.name === '') {
        const byId = broker.logs.getTopicById(requested.topicId);
        if (byId === undefined) {
          topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: requested.topicId, partitions: [] });
        } else topics.push(topicMetadataEntry(broker, byId));
        continue;
      }
      const name = requested.name;
      let topic = broker.logs.getTopic(name);
      if (topic === undefined && allowAutoCreate) {
        if (Broker.validateTopicName(name) !== null) {
          topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, topicId: ZERO_UUID, partitions: [] });
          continue;
        }
        topic = broker.autoCreateTopic(name) ?? undefined;
        // Kafka answers LEADER_NOT_AVAILABLE for a topic it has just created; clients retry.
        // Fjord's topic is usable at once, so it answers with the topic.
      }
      if (topic === undefined) {
        topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: ZERO_UUID, partitions: [] });
      } else topics.push(topicMetadataEntry(broker, topic));
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: broker.nodeId, host: broker.advertisedHost, port: broker.advertisedPort, rack: null }],
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    topics,
    clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}
