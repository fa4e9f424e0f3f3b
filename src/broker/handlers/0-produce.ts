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
 */
async function prepareRecords(apiVersion: number, records: Buffer, maxBatchBytes: number): Promise<Prepared> {
  const limits = { maxBatchBytes, maxDecompressedBytes: DECOMPRESSED_BATCH_MAX_BYTES };
  if (isLegacyMessageSet(records)) {
    if (apiVersion >= 3) {
      return { ok: false, errorCode: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${apiVersion} are only allowed to contain record batches with magic version 2` };
    }
    const converted = await upConvertLegacyMessageSet(records, limits);
    return converted.ok ? { ok: true, bytes: converted.batch, isTransactional: false } : converted;
  }
  const v = validateProducedRecords(records, limits);
  if (!v.ok) return v;
  if (v.batches.length !== 1) return { ok: false, errorCode: ErrorCode.INVALID_RECORD, message: 'Produce requests must carry exactly one record batch per partition' };
  const batch = v.batches[0]!;
  const bytes = records.subarray(batch.start, batch.start + batch.length);
  if (batch.compression !== 0) {
    const problem = await validateCompressedRecords(bytes, DECOMPRESSED_BATCH_MAX_BYTES);
    if (problem !== undefined) return { ok: false, ...problem };
  }
  return { ok: true, bytes, isTransactional: batch.isTransactional };
}

/** Validate one partition's records and append them; the result, and the log to flush on success. */
async function appendPartition(
  ctx: RequestContext,
  topic: TopicMetadata | undefined,
  index: number,
  records: Buffer | null,
): Promise<{ result: PartitionResult; log: PartitionLog | null }> {
  const { broker } = ctx;
  const fail = (code: number, message: string | null = null): { result: PartitionResult; log: null } => ({ result: failure(index, code, message), log: null });
  const log = topic === undefined ? undefined : broker.logs.partition(topic.name, index);
  if (topic === undefined || log === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (records === null || records.length === 0) return fail(ErrorCode.INVALID_RECORD, 'Produce request has no record batch');
  const prepared = await prepareRecords(ctx.apiVersion, records, Number(broker.topicConfig(topic, 'max.message.bytes')));
  if (!prepared.ok) return fail(prepared.errorCode, prepared.message);
  const { bytes } = prepared;
  // The topic may have been deleted while we decompressed or converted.
  if (broker.logs.partition(topic.name, index) !== log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
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
    if (problem !== null) return fail(problem.errorCode, problem.message);
  }
  let appended;
  try {
    appended = log.append(bytes);
  } catch (err) {
    if (err instanceof ProducerStateError) return fail(err.errorCode, err.message);
    // Disk full or failing: nothing was stored (the engine undid the append), so the producer may retry.
    if (isStorageFailure(err)) {
      broker.log.error(`append to ${topic.name}-${index} failed: ${String(err)}`);
      return fail(ErrorCode.KAFKA_STORAGE_ERROR, err instanceof Error ? err.message : null);
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

/**
 * Produce. Each partition's records must be exactly one magic-2 batch (Kafka's rule for v3+), or for
 * v0-2 a legacy message set, up-converted to one such batch as Kafka 3.x does; a batch is
 * validated without parsing records into objects, stored byte for byte with its base offset assigned,
 * and, with acks=all, answered only after an fdatasync covering it (shared with concurrent produces).
 * Appends run in request order per connection; the fsync wait does not hold up the next request.
 */
export async function handleProduce(req: ProduceRequest, ctx: RequestContext): Promise<Encodable<ProduceResponse> | null> {
  const { broker } = ctx;
  const acks = req.acks;
  const toFlush: Array<{ log: PartitionLog; result: PartitionResult }> = [];
  const responses = await ctx.appendOrder.run(async () => {
    const out = [];
    for (const t of req.topicData) {
      const topic = broker.logs.getTopic(t.name) ?? broker.autoCreateTopic(t.name) ?? undefined;
      const partitionResponses: PartitionResult[] = [];
      for (const p of t.partitionData) {
        if (acks !== -1 && acks !== 0 && acks !== 1) {
          partitionResponses.push(failure(p.index, ErrorCode.INVALID_REQUIRED_ACKS));
          continue;
        }
        const { result, log } = await appendPartition(ctx, topic, p.index, p.records);
        if (log !== null && acks !== 0) toFlush.push({ log, result });
        partitionResponses.push(result);
      }
      out.push({ name: t.name, partitionResponses });
    }
    return out;
  });

  if (toFlush.length > 0) {
    // The durability rule: an acks=all produce is answered only once its bytes are on disk (fsync);
    // an acks=1 produce once they are in the file (the page cache), so that, as in Kafka, a crash of
    // the broker process alone cannot lose it (the disk engine coalesces writes within a turn).
    // A failed write or sync (disk full, EIO) is KAFKA_STORAGE_ERROR, retriable: the bytes were
    // abandoned by the log (write) or may never reach the disk (sync), and are never acknowledged.
    await Promise.all(
      toFlush.map(async (f) => {
        try {
          await (acks === -1 ? f.log.flush() : f.log.written());
        } catch (err) {
          broker.log.error(`flush of ${f.log.topic}-${f.log.partition} failed: ${String(err)}`);
          Object.assign(f.result, failure(f.log.partition, ErrorCode.KAFKA_STORAGE_ERROR));
        }
      }),
    );
  }
  if (acks === 0) return null;
  return { responses, throttleTimeMs: 0 };
}
