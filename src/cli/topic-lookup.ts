import { createCluster } from '../client/client-options.js';
import { KafkaProtocolError } from '../client/errors.js';
import { ErrorCode, errorInfo } from '../protocol/errors.js';
import type { MetadataResponse } from '../protocol/generated/metadata.js';
import { ZERO_UUID } from '../protocol/reader.js';

const METADATA_API_KEY = 3;
/** Kafka answers LEADER_NOT_AVAILABLE for a topic it has just auto-created; this long covers it. */
const RETRIABLE_WAIT_MS = 10_000;
const RETRY_BACKOFF_MS = 200;

/**
 * The partitions of a topic, asked once before producing or consuming. The clients would wait for an
 * unknown topic until their delivery or API timeout (minutes) and retry a refused connection just
 * as long; a command-line tool should instead say at once that the broker is unreachable, or that
 * the topic does not exist and the broker will not create it.
 *
 * With `autoCreate` the broker may create the topic (auto.create.topics.enable), as it would for the
 * Java producer and consumer. The Metadata request is sent by hand because the error code matters:
 * UNKNOWN_TOPIC_OR_PARTITION means "no such topic and no auto-creation", while a retriable code
 * means "being created, ask again".
 */
export async function topicPartitions(bootstrapServers: string, topic: string, autoCreate: boolean): Promise<number[]> {
  const cluster = createCluster({ bootstrapServers, requestTimeoutMs: 15_000 }, 'fjord-cli');
  try {
    const deadline = Date.now() + RETRIABLE_WAIT_MS;
    for (;;) {
      const conn = await cluster.anyConnection();
      const res = await conn.request<MetadataResponse>(METADATA_API_KEY, { topics: [{ name: topic, topicId: ZERO_UUID }], allowAutoTopicCreation: autoCreate });
      const t = res.topics.find((x) => x.name === topic);
      const code = t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (t !== undefined && code === 0 && t.partitions.length > 0) return t.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
      if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        // Retriable for Kafka in general, but on a direct Metadata answer it is final: auto-creation is off.
        throw new KafkaProtocolError(code, `Topic ${topic} does not exist${autoCreate ? ' and the broker does not create topics automatically' : ''}`);
      }
      if ((code !== 0 && !errorInfo(code).retriable) || Date.now() >= deadline) {
        throw new KafkaProtocolError(code === 0 ? ErrorCode.LEADER_NOT_AVAILABLE : code, `Topic ${topic} has no usable metadata`);
      }
      await new Promise((r) => setTimeout(r, RETRY_BACKOFF_MS));
    }
  } finally {
    await cluster.close();
  }
}

