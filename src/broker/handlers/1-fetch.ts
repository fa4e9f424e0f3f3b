import type { FetchRequest, FetchResponse, FetchResponsePartitionData, FetchResponseFetchableTopicResponse } from '../../protocol/generated/fetch.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { OffsetOutOfRangeError } from '../../storage/types.js';
import type { TopicMetadata } from '../../storage/types.js';
import { PartitionWaiters } from '../partition-waiters.js';
import { joinChunks } from '../join-chunks.js';
import type { RequestContext } from '../request-context.js';
import type { Broker } from '../broker.js';

/** Kafka's "no session" id and the epochs that open or close one. */
const NO_SESSION_ID = 0;
const FINAL_EPOCH = -1;
const INITIAL_EPOCH = 0;
/** A client's max_wait_ms is honoured up to this, so a fetch cannot pin memory for hours. */
export const FETCH_WAIT_MAX_MS = 60_000;

type PartitionData = Encodable<FetchResponsePartitionData>;

interface Wanted {
  readonly topicName: string | null;
  readonly topicId: string;
  readonly topic: TopicMetadata | undefined;
  readonly partitions: FetchRequest['topics'][number]['partitions'];
}

function resolveTopics(req: FetchRequest, broker: Broker, byId: boolean): Wanted[] {
  return req.topics.map((t) => {
    const topic = byId ? broker.logs.getTopicById(t.topicId) : broker.logs.getTopic(t.topic);
    return { topicName: byId ? topic?.name ?? null : t.topic, topicId: byId ? t.topicId : topic?.topicId ?? ZERO_UUID, topic, partitions: t.partitions };
  });
}

/** One pass over every requested partition; returns the responses and how many record bytes they hold. */
function readOnce(wanted: Wanted[], broker: Broker, maxBytes: number, byId: boolean): { topics: Encodable<FetchResponseFetchableTopicResponse>[]; bytes: number; errors: boolean } {
  let budget = maxBytes;
  let bytes = 0;
  let errors = false;
  const topics = wanted.map((w) => {
    const partitions = w.partitions.map((p): PartitionData => {
      const log = w.topic === undefined ? undefined : broker.logs.partition(w.topic.name, p.partition);
      if (log === undefined) {
        errors = true;
        return {
          partitionIndex: p.partition,
          errorCode: byId && w.topic === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          highWatermark: -1n,
          lastStableOffset: -1n,
          logStartOffset: -1n,
          records: null,
        };
      }
      const hw = log.logEndOffset();
      const common = {
        partitionIndex: p.partition,
        highWatermark: BigInt(hw),
        lastStableOffset: BigInt(hw),
        logStartOffset: BigInt(log.logStartOffset()),
        abortedTransactions: [],
        preferredReadReplica: -1,
      };
      const offset = Number(p.fetchOffset);
      try {
        // KIP-74: the first partition with data returns at least one whole batch even past max_bytes.
        const limit = Math.min(p.partitionMaxBytes, budget);
        const read = log.read(offset, Math.max(0, limit), bytes === 0);
        budget -= read.bytes;
        bytes += read.bytes;
        return { ...common, errorCode: 0, records: joinChunks(read.chunks, read.bytes) };
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError) {
          errors = true;
          return { ...common, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: null };
        }
        throw err;
      }
    });
    return { topic: w.topicName ?? '', topicId: w.topicId, partitions };
  });
  return { topics, bytes, errors };
}

/**
 * Fetch with long polling: when fewer than min_bytes are available the request parks until an append
 * touches one of its partitions or max_wait_ms passes. Fetch sessions (KIP-227) are declined the way
 * Kafka declines them when its cache is full: full requests get session id 0 and clients keep sending
 * full requests; an incremental request names a session that does not exist.
 */
export async function handleFetch(req: FetchRequest, ctx: RequestContext): Promise<Encodable<FetchResponse>> {
  const { broker, apiVersion } = ctx;
  if (req.sessionId !== NO_SESSION_ID && req.sessionEpoch !== FINAL_EPOCH) {
    return { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: NO_SESSION_ID, responses: [] };
  }
  if (req.sessionId === NO_SESSION_ID && req.sessionEpoch !== FINAL_EPOCH && req.sessionEpoch !== INITIAL_EPOCH) {
    return { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: NO_SESSION_ID, responses: [] };
  }
  const byId = apiVersion >= 13;
  const wanted = resolveTopics(req, broker, byId);
  const maxBytes = apiVersion >= 3 ? req.maxBytes : 0x7fffffff;
  const deadline = broker.clock.now() + Math.min(Math.max(req.maxWaitMs, 0), FETCH_WAIT_MAX_MS);
  const keys: string[] = [];
  for (const w of wanted) if (w.topic !== undefined) for (const p of w.partitions) keys.push(PartitionWaiters.key(w.topic.name, p.partition));
  for (;;) {
    const result = readOnce(wanted, broker, maxBytes, byId);
    const remaining = deadline - broker.clock.now();
    if (result.bytes >= req.minBytes || result.errors || remaining <= 0 || keys.length === 0) {
      return { throttleTimeMs: 0, errorCode: 0, sessionId: NO_SESSION_ID, responses: result.topics };
    }
    await broker.waiters.wait(keys, remaining);
  }
}
