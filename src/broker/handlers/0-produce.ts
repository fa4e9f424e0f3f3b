import type { ProduceRequest, ProduceResponse, ProduceResponsePartitionProduceResponse } from '../../protocol/generated/produce.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { validateProducedRecords } from '../../protocol/records/validate.js';
import { validateCompressedRecords } from '../../protocol/records/validate-compressed.js';
import { setLogAppendTime } from '../../protocol/records/set-log-append-time.js';
import { isLegacyMessageSet } from '../../protocol/records/legacy-message-set.js';
import { upConvertLegacyMessageSet } from '../../protocol/records/legacy-up-convert.js';
import { ProducerStateError, type PartitionLog, type TopicMetadata } from '../../storage/types.js';
import { producerBatchOf } from '../../storage/producer-state/producer-batch.js';
import { isStorageFailure } from '../../storage/disk/storage-error.js';
import { PartitionWaiters } from '../partition-waiters.js';
import type { RequestContext } from '../request-context.js';

/**
 * Records never inflate beyond this when decompressed for validation, whatever the batch claims: it is
 * the most memory one produce can make the broker allocate. Real batches (a producer's batch.size,
 * 16 KiB by default, up to max.message.bytes compressed) stay far below it.
 */
export const DECOMPRESSED_BATCH_MAX_BYTES = 64 * 1024 * 1024;

type PartitionResult = Encodable<ProduceResponsePartitionProduceResponse>;

function failure(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage };
}

/** The request's records as the one magic-2 batch to store, or the error to answer with. */
type Prepared = { ok: true; bytes: Buffer; isTransactional: boolean } | { ok: false; errorCode: number; message: string | null };

/**
 * Kafka 3.x's rules by request version: v3+ carries exactly one magic-2 batch (a legacy message set
 * is INVALID_RECORD, as in ProduceRequest.validateRecords); v0-2 are not checked against the magic,
 * so a legacy message set is up-converted to one magic-2 batch and a magic-2 batch taken as is.
 * Synchronous for an uncompressed magic-2 batch (the hot path: no promise, no microtask); a promise
 * only when records must be decompressed or converted.
 */
function prepareRecords(apiVersion: number, records: Buffer, maxBatchBytes: number): Prepared | Promise<Prepared> {
  const limits = { maxBatchBytes, maxDecompressedBytes: DECOMPRESSED_BATCH_MAX_BYTES };
  if (isLegacyMessageSet(records)) {
    if (apiVersion >= 3) {
      return { ok: false, errorCode: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${apiVersion} are only allowed to contain record batches with magic version 2` };
    }
    return upConvertLegacyMessageSet(records, limits).then((converted) => (converted.ok ? { ok: true, bytes: converted.batch, isTransactional: false } : converted));
  }
  const v = validateProducedRecords(records, limits);
  if (!v.ok) return v;
  if (v.batches.length !== 1) return { ok: false, errorCode: ErrorCode.INVALID_RECORD, message: 'Produce requests must carry exactly one record batch per partition' };
  const batch = v.batches[0]!;
  const bytes = records.subarray(batch.start, batch.start + batch.length);
  const prepared: Prepared = { ok: true, bytes, isTransactional: batch.isTransactional };
  if (batch.compression === 0) return prepared;
  return validateCompressedRecords(bytes, DECOMPRESSED_BATCH_MAX_BYTES).then((problem) => (problem === undefined ? prepared : { ok: false, ...problem }));
}

type Appended = { result: PartitionResult; log: PartitionLog | null };

/** Validate one partition's records and append them; the result, and the log to flush on success. */
function appendPartition(ctx: RequestContext, topic: TopicMetadata | undefined, index: number, records: Buffer | null): Appended | Promise<Appended> {
  const { broker } = ctx;
  const log = topic === undefined ? undefined : broker.logs.partition(topic.name, index);
  if (topic === undefined || log === undefined) return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (records === null || records.length === 0) return failed(index, ErrorCode.INVALID_RECORD, 'Produce request has no record batch');
  const prepared = prepareRecords(ctx.apiVersion, records, Number(broker.topicConfig(topic, 'max.message.bytes')));
  if (prepared instanceof Promise) return prepared.then((p) => appendPrepared(ctx, topic, index, log, p));
  return appendPrepared(ctx, topic, index, log, prepared);
}

function failed(index: number, code: number, message: string | null = null): Appended {
  return { result: failure(index, code, message), log: null };
}

function appendPrepared(ctx: RequestContext, topic: TopicMetadata, index: number, log: PartitionLog, prepared: Prepared): Appended {
  const { broker } = ctx;
  if (!prepared.ok) return failed(index, prepared.errorCode, prepared.message);
  const { bytes } = prepared;
  // The topic may have been deleted while we decompressed or converted.
  if (broker.logs.partition(topic.name, index) !== log) return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  let logAppendTime = -1;
  if (broker.topicConfig(topic, 'message.timestamp.type') === 'LogAppendTime') {
    logAppendTime = broker.clock.now();
    setLogAppendTime(bytes, 0, bytes.length, logAppendTime);
  }
  if (prepared.isTransactional) {
    // KIP-890 part 1: a transactional batch is accepted only for a partition its ongoing transaction
    // holds, so a late write from an ended (or never begun) transaction cannot slip into the log.
    const producer = producerBatchOf(bytes);
    const problem = broker.transactions.verifyPartition(producer.producerId, producer.producerEpoch, topic.name, index);
    if (problem !== null) return failed(index, problem.errorCode, problem.message);
  }
  let appended;
  try {
    appended = log.append(bytes);
  } catch (err) {
    if (err instanceof ProducerStateError) return failed(index, err.errorCode, err.message);
    // Disk full or failing: nothing was stored (the engine undid the append), so the producer may retry.
    if (isStorageFailure(err)) {
      broker.log.error(`append to ${topic.name}-${index} failed: ${String(err)}`);
      return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, err instanceof Error ? err.message : null);
    }
    throw err;
  }
  if (!appended.duplicate) broker.waiters.notify(PartitionWaiters.key(topic.name, index));
  return {
    log,
    result: {
      index,
      errorCode: 0,
      baseOffset: BigInt(appended.baseOffset),
      logAppendTimeMs: BigInt(logAppendTime),
      logStartOffset: BigInt(log.logStartOffset()),
      errorMessage: null,
    },
  };
}

type TopicResults = Array<{ name: string; partitionResponses: PartitionResult[] }>;
type ToFlush = Array<{ log: PartitionLog; result: PartitionResult }>;

/**
 * Append every partition of the request in order. Runs synchronously while every partition's records
 * can be validated synchronously; from the first one that needs a promise (decompression, conversion)
 * the rest continue after it, in order.
 */
function appendAll(req: ProduceRequest, ctx: RequestContext, toFlush: ToFlush): TopicResults | Promise<TopicResults> {
  const out: TopicResults = [];
  const acks = req.acks;
  const topics = req.topicData;
  const step = (ti: number, pi: number): TopicResults | Promise<TopicResults> => {
    for (; ti < topics.length; ti++, pi = 0) {
      const t = topics[ti]!;
      const topic = ctx.broker.logs.getTopic(t.name) ?? ctx.broker.autoCreateTopic(t.name) ?? undefined;
      if (pi === 0) out.push({ name: t.name, partitionResponses: [] });
      const responses = out[out.length - 1]!.partitionResponses;
      for (; pi < t.partitionData.length; pi++) {
        const p = t.partitionData[pi]!;
        if (acks !== -1 && acks !== 0 && acks !== 1) {
          responses.push(failure(p.index, ErrorCode.INVALID_REQUIRED_ACKS));
          continue;
        }
        const appended = appendPartition(ctx, topic, p.index, p.records);
        if (appended instanceof Promise) {
          const [nextTi, nextPi] = [ti, pi + 1];
          return appended.then((a) => {
            record(a, responses);
            return step(nextTi, nextPi);
          });
        }
        record(appended, responses);
      }
    }
    return out;
  };
  const record = (a: Appended, responses: PartitionResult[]): void => {
    if (a.log !== null && acks !== 0) toFlush.push({ log: a.log, result: a.result });
    responses.push(a.result);
  };
  return step(0, 0);
}

/**
 * Produce. Each partition's records must be exactly one magic-2 batch (Kafka's rule for v3+), or for
 * v0-2 a legacy message set, up-converted to one such batch as Kafka 3.x does; a batch is
 * validated without parsing records into objects, stored byte for byte with its base offset assigned,
 * and, with acks=all, answered only after an fdatasync covering it (shared with concurrent produces).
 * Appends run in request order per connection; the fsync wait does not hold up the next request.
 * An uncompressed request to the memory engine is answered without a single promise.
 */
export function handleProduce(req: ProduceRequest, ctx: RequestContext): Encodable<ProduceResponse> | null | Promise<Encodable<ProduceResponse> | null> {
  const toFlush: ToFlush = [];
  const responses = ctx.appendOrder.run(() => appendAll(req, ctx, toFlush));
  if (responses instanceof Promise) return responses.then((r) => answer(ctx, req.acks, r, toFlush));
  return answer(ctx, req.acks, responses, toFlush);
}

function answer(ctx: RequestContext, acks: number, responses: TopicResults, toFlush: ToFlush): Encodable<ProduceResponse> | null | Promise<Encodable<ProduceResponse> | null> {
  const done = acks === 0 ? null : { responses, throttleTimeMs: 0 };
  // The durability rule: an acks=all produce is answered only once its bytes are on disk (fsync);
  // an acks=1 produce once they are in the file (the page cache), so that, as in Kafka, a crash of
  // the broker process alone cannot lose it (the disk engine coalesces writes within a turn).
  // A failed write or sync (disk full, EIO) is KAFKA_STORAGE_ERROR, retriable: the bytes were
  // abandoned by the log (write) or may never reach the disk (sync), and are never acknowledged.
  const waits: Array<Promise<void>> = [];
  for (const f of toFlush) {
    if (acks !== -1 && f.log.isWritten()) continue;
    const wait = acks === -1 ? f.log.flush() : f.log.written();
    waits.push(
      wait.catch((err: unknown) => {
        ctx.broker.log.error(`flush of ${f.log.topic}-${f.log.partition} failed: ${String(err)}`);
        Object.assign(f.result, failure(f.log.partition, ErrorCode.KAFKA_STORAGE_ERROR));
      }),
    );
  }
  if (waits.length === 0) return done;
  return Promise.all(waits).then(() => done);
}
