import type { FetchRequest, FetchResponse, FetchResponsePartitionData, FetchResponseFetchableTopicResponse } from '../../protocol/generated/fetch.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { OffsetOutOfRangeError } from '../../storage/types.js';
import { PartitionWaiters } from '../partition-waiters.js';
import { joinChunks } from '../join-chunks.js';
import { READ_BUFFERS } from '../../storage/read-buffer-pool.js';
import { FetchSession, FETCH_SESSION_PARTITIONS_MAX, type SessionPartition } from '../fetch-sessions.js';
import type { RequestContext } from '../request-context.js';
import type { Broker } from '../broker.js';
import { downConvertToLegacy } from '../../protocol/records/legacy-down-convert.js';
import type { LegacyMagic } from '../../protocol/records/legacy-message-set.js';
import { DECOMPRESSED_BATCH_MAX_BYTES } from './0-produce.js';

/** Kafka's "no session" id and the epochs that close or open one. */
const NO_SESSION_ID = 0;
const FINAL_EPOCH = -1;
const INITIAL_EPOCH = 0;
/** A client's max_wait_ms is honoured up to this, so a fetch cannot pin memory for hours. */
export const FETCH_WAIT_MAX_MS = 60_000;
const READ_COMMITTED = 1;
/**
 * A Fetch v0-3 response is built from copies (converted messages), not views of the log, so it is
 * capped here whatever the client asks (v0-2 have no response limit at all); the client fetches again.
 */
export const LEGACY_FETCH_MAX_BYTES = 64 * 1024 * 1024;

type PartitionData = Encodable<FetchResponsePartitionData>;

/**
 * What an errored partition carries: Kafka sends an empty record set, never a null one (size -1),
 * which librdkafka 2.0.2 refuses to parse, so it would never see the error or apply auto.offset.reset.
 */
const EMPTY_RECORDS = Buffer.alloc(0);

/** One partition to read: from the request, or from a session. */
interface Target {
  readonly topicKey: string;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly maxBytes: number;
  readonly session?: SessionPartition;
}

interface Outcome {
  readonly target: Target;
  readonly data: PartitionData;
  readonly bytes: number;
  readonly error: boolean;
}

function topicFor(broker: Broker, key: string, byId: boolean): { name: string; id: string } | undefined {
  const t = byId ? broker.logs.getTopicById(key) : broker.logs.getTopic(key);
  return t === undefined ? undefined : { name: t.name, id: t.topicId };
}

function readTarget(broker: Broker, t: Target, byId: boolean, budget: number, first: boolean, readCommitted: boolean, lent: ArrayBufferLike[]): Outcome {
  const topic = topicFor(broker, t.topicKey, byId);
  const log = topic === undefined ? undefined : broker.logs.partition(topic.name, t.partition);
  if (log === undefined) {
    const errorCode = byId && topic === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return { target: t, bytes: 0, error: true, data: { partitionIndex: t.partition, errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: EMPTY_RECORDS } };
  }
  const hw = log.logEndOffset();
  const lso = log.lastStableOffset();
  const fetchOffset = Number(t.fetchOffset);
  const common = {
    partitionIndex: t.partition,
    highWatermark: BigInt(hw),
    lastStableOffset: BigInt(lso),
    logStartOffset: BigInt(log.logStartOffset()),
    // read_uncommitted gets null, as from Kafka; read_committed the aborted transactions in range.
    abortedTransactions: null as Array<{ producerId: bigint; firstOffset: bigint }> | null,
    preferredReadReplica: -1,
  };
  try {
    // KIP-74: the first partition with data returns at least one whole batch even past max_bytes.
    // read_committed reads stop at the last stable offset: nothing of an undecided transaction leaves.
    const read = log.read(fetchOffset, Math.max(0, Math.min(t.maxBytes, budget)), first, readCommitted ? lso : undefined);
    if (readCommitted) {
      common.abortedTransactions = read.bytes === 0 ? [] : log.abortedTransactions(fetchOffset, lso).map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) }));
    }
    const records = joinChunks(read.chunks, read.bytes);
    lent.push(records.buffer);
    return { target: t, bytes: read.bytes, error: false, data: { ...common, errorCode: 0, records } };
  } catch (err) {
    if (err instanceof OffsetOutOfRangeError) return { target: t, bytes: 0, error: true, data: { ...common, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: EMPTY_RECORDS } };
    throw err;
  }
}

/**
 * Read every target within the response budget. The memory behind the records is pushed on `lent`:
 * pooled read buffers, given back once the response has left (or at once if it is not sent).
 */
function readAll(broker: Broker, targets: readonly Target[], byId: boolean, maxBytes: number, readCommitted: boolean, lent: ArrayBufferLike[]): { outcomes: Outcome[]; bytes: number; errors: boolean } {
  let budget = maxBytes;
  let bytes = 0;
  let errors = false;
  const outcomes = targets.map((t) => {
    const o = readTarget(broker, t, byId, budget, bytes === 0, readCommitted, lent);
    budget -= o.bytes;
    bytes += o.bytes;
    errors ||= o.error;
    return o;
  });
  return { outcomes, bytes, errors };
}

/**
 * Fetch v0-3 readers understand only message formats 0 and 1 (v0-1: magic 0, v2-3: magic 1), so the
 * stored batches are down-converted, as Kafka 3.x does, here where the response is built (Kafka too
 * decides min_bytes on stored bytes and converts afterwards). The byte limits apply to the converted
 * messages, in partition order, and only whole messages are sent; the first partition with any gets
 * at least one even past the limits, as KIP-74 gives the first partition a whole batch.
 */
async function downConvertOutcomes(broker: Broker, outcomes: readonly Outcome[], magic: LegacyMagic, maxBytes: number): Promise<Outcome[]> {
  let used = 0;
  const converted: Outcome[] = [];
  for (const o of outcomes) {
    const records = o.data.records;
    if (o.error || records === null || records === undefined || records.length === 0) {
      converted.push(o);
      continue;
    }
    try {
      const down = await downConvertToLegacy(records, {
        magic,
        fetchOffset: Number(o.target.fetchOffset),
        maxBytes: Math.max(0, Math.min(o.target.maxBytes, maxBytes - used)),
        minOneMessage: used === 0,
        maxDecompressedBytes: DECOMPRESSED_BATCH_MAX_BYTES,
      });
      used += down.records.length;
      converted.push({ ...o, bytes: down.records.length, data: { ...o.data, records: down.records } });
    } catch (err) {
      // Stored batches were validated on produce, so this is damage: report it for this partition only.
      broker.log.error(`down-conversion of ${o.target.topicKey}-${o.target.partition} at ${o.target.fetchOffset} failed: ${String(err)}`);
      converted.push({ ...o, bytes: 0, error: true, data: { ...o.data, errorCode: ErrorCode.CORRUPT_MESSAGE, records: EMPTY_RECORDS } });
    }
  }
  return converted;
}

/** Group per-partition outcomes into the response's topic list, preserving order. */
function toTopics(broker: Broker, outcomes: readonly Outcome[], byId: boolean): Encodable<FetchResponseFetchableTopicResponse>[] {
  const topics: Array<{ topic: string; topicId: string; partitions: PartitionData[] }> = [];
  for (const o of outcomes) {
    const last = topics[topics.length - 1];
    const key = o.target.topicKey;
    if (last !== undefined && (byId ? last.topicId : last.topic) === key) {
      last.partitions.push(o.data);
      continue;
    }
    const t = topicFor(broker, key, byId);
    topics.push({ topic: byId ? t?.name ?? '' : key, topicId: byId ? key : t?.id ?? ZERO_UUID, partitions: [o.data] });
  }
  return topics;
}

/** Apply a request's partitions and forgotten topics to its session (KIP-227 rules). */
function updateSession(session: FetchSession, req: FetchRequest, byId: boolean): boolean {
  for (const t of req.topics) {
    const topicKey = byId ? t.topicId : t.topic;
    for (const p of t.partitions) {
      const key = FetchSession.key(topicKey, p.partition);
      const existing = session.partitions.get(key);
      if (existing !== undefined) {
        existing.fetchOffset = p.fetchOffset;
        existing.maxBytes = p.partitionMaxBytes;
      } else {
        if (session.partitions.size >= FETCH_SESSION_PARTITIONS_MAX) return false;
        session.partitions.set(key, { topicKey, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.partitionMaxBytes, lastHighWatermark: -2n, lastLogStartOffset: -2n });
      }
    }
  }
  for (const f of req.forgottenTopicsData) {
    const topicKey = byId ? f.topicId : f.topic;
    for (const p of f.partitions) session.partitions.delete(FetchSession.key(topicKey, p));
  }
  return true;
}

function sessionTargets(session: FetchSession): Target[] {
  return [...session.partitions.values()].map((s) => ({ topicKey: s.topicKey, partition: s.partition, fetchOffset: s.fetchOffset, maxBytes: s.maxBytes, session: s }));
}

/**
 * Fetch with long polling and incremental fetch sessions. When fewer than min_bytes are available the
 * request parks until an append touches one of its partitions or max_wait_ms passes.
 */
export async function handleFetch(req: FetchRequest, ctx: RequestContext): Promise<Encodable<FetchResponse>> {
  const { broker, apiVersion } = ctx;
  const byId = apiVersion >= 13;
  const sessions = apiVersion >= 7;
  const empty = (errorCode: number): Encodable<FetchResponse> => ({ throttleTimeMs: 0, errorCode, sessionId: NO_SESSION_ID, responses: [] });

  let session: FetchSession | undefined;
  let incremental = false;
  let targets: Target[];
  const isFull = !sessions || req.sessionEpoch === INITIAL_EPOCH || req.sessionEpoch === FINAL_EPOCH;
  if (isFull) {
    if (sessions && req.sessionId !== NO_SESSION_ID) broker.fetchSessions.remove(req.sessionId);
    if (sessions && req.sessionEpoch === INITIAL_EPOCH) {
      session = broker.fetchSessions.create(byId, broker.clock.now());
      if (!updateSession(session, req, byId)) {
        broker.fetchSessions.remove(session.id);
        session = undefined;
      }
    }
    targets = session !== undefined
      ? sessionTargets(session)
      : req.topics.flatMap((t) => t.partitions.map((p) => ({ topicKey: byId ? t.topicId : t.topic, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.partitionMaxBytes })));
  } else {
    session = broker.fetchSessions.get(req.sessionId);
    if (session === undefined || session.byTopicId !== byId) return empty(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    if (req.sessionEpoch !== session.nextEpoch) return empty(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    if (!updateSession(session, req, byId)) return empty(ErrorCode.INVALID_REQUEST);
    incremental = true;
    targets = sessionTargets(session);
  }
  if (session !== undefined) {
    // A new session expects epoch 1 next; each incremental request moves it on by one.
    if (incremental) session.nextEpoch++;
    session.lastUsed = broker.clock.now();
  }

  // Fetch v0-3 get the stored batches down-converted; v4+ (the hot path) get them as stored.
  const legacyMagic: LegacyMagic | undefined = apiVersion <= 1 ? 0 : apiVersion <= 3 ? 1 : undefined;
  const requestMaxBytes = apiVersion >= 3 ? req.maxBytes : 0x7fffffff;
  const maxBytes = legacyMagic === undefined ? requestMaxBytes : Math.min(requestMaxBytes, LEGACY_FETCH_MAX_BYTES);
  const readCommitted = apiVersion >= 4 && req.isolationLevel === READ_COMMITTED;
  const deadline = broker.clock.now() + Math.min(Math.max(req.maxWaitMs, 0), FETCH_WAIT_MAX_MS);
  const keys: string[] = [];
  for (const t of targets) {
    const topic = topicFor(broker, t.topicKey, byId);
    if (topic !== undefined) keys.push(PartitionWaiters.key(topic.name, t.partition));
  }
  const lent: ArrayBufferLike[] = [];
  const giveBack = (): void => {
    for (const memory of lent.splice(0)) READ_BUFFERS.give(memory);
  };
  for (;;) {
    const result = readAll(broker, targets, byId, maxBytes, readCommitted, lent);
    const remaining = deadline - broker.clock.now();
    if (result.bytes >= req.minBytes || result.errors || remaining <= 0 || keys.length === 0) {
      // The response's records are views of `lent`: given back once the socket is done with them
      // (down-converted copies make them dead earlier, which is just as safe).
      ctx.afterResponse(giveBack);
      let outcomes = result.outcomes;
      if (legacyMagic !== undefined) outcomes = await downConvertOutcomes(broker, outcomes, legacyMagic, maxBytes);
      if (incremental) {
        // Only partitions with news: records, an error, or a moved high watermark or log start.
        outcomes = outcomes.filter((o) => {
          const s = o.target.session!;
          return o.bytes > 0 || o.data.errorCode !== 0 || s.lastHighWatermark !== o.data.highWatermark || s.lastLogStartOffset !== o.data.logStartOffset;
        });
      }
      for (const o of outcomes) {
        if (o.target.session === undefined) continue;
        o.target.session.lastHighWatermark = o.data.highWatermark as bigint;
        o.target.session.lastLogStartOffset = o.data.logStartOffset as bigint;
      }
      return { throttleTimeMs: 0, errorCode: 0, sessionId: session?.id ?? NO_SESSION_ID, responses: toTopics(broker, outcomes, byId) };
    }
    // Not enough yet: this read's records are dropped unsent.
    giveBack();
    await broker.waiters.wait(keys, remaining);
  }
}
