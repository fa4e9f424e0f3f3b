import type { ProduceRequest, ProduceResponse, ProduceResponsePartitionProduceResponse } from '../../protocol/generated/produce.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { validateProducedRecords } from '../../protocol/records/validate.js';
import { setLogAppendTime } from '../../protocol/records/set-log-append-time.js';
import type { PartitionLog } from '../../storage/types.js';
import { PartitionWaiters } from '../partition-waiters.js';
import type { RequestContext } from '../request-context.js';

/** Records never inflate beyond this when decompressed for validation, whatever the batch claims. */
export const DECOMPRESSED_BATCH_MAX_BYTES = 256 * 1024 * 1024;

type PartitionResult = Encodable<ProduceResponsePartitionProduceResponse>;

function failure(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage };
}

/**
 * Produce. Each partition's records must be exactly one magic-2 batch (Kafka's rule for v3+); it is
 * validated without parsing records into objects, stored byte for byte with its base offset assigned,
 * and, with acks=all, answered only after an fdatasync covering it (shared with concurrent produces).
 */
export async function handleProduce(req: ProduceRequest, ctx: RequestContext): Promise<Encodable<ProduceResponse> | null> {
  const { broker } = ctx;
  const acks = req.acks;
  const toFlush: Array<{ log: PartitionLog; result: PartitionResult }> = [];
  const responses = req.topicData.map((t) => {
    let topic = broker.logs.getTopic(t.name);
    if (topic === undefined) topic = broker.autoCreateTopic(t.name) ?? undefined;
    const partitionResponses = t.partitionData.map((p): PartitionResult => {
      if (acks !== -1 && acks !== 0 && acks !== 1) return failure(p.index, ErrorCode.INVALID_REQUIRED_ACKS);
      const log = topic === undefined ? undefined : broker.logs.partition(topic.name, p.index);
      if (topic === undefined || log === undefined) return failure(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (p.records === null || p.records.length === 0) return failure(p.index, ErrorCode.INVALID_RECORD, 'Produce request has no record batch');
      const maxBatchBytes = Number(broker.topicConfig(topic, 'max.message.bytes'));
      const v = validateProducedRecords(p.records, { maxBatchBytes, maxDecompressedBytes: DECOMPRESSED_BATCH_MAX_BYTES });
      if (!v.ok) return failure(p.index, v.errorCode, v.message);
      if (v.batches.length !== 1) return failure(p.index, ErrorCode.INVALID_RECORD, 'Produce requests must carry exactly one record batch per partition');
      const batch = v.batches[0]!;
      // A producer id without the idempotence APIs cannot come from a well-behaved client yet.
      if (batch.isTransactional) return failure(p.index, ErrorCode.INVALID_TXN_STATE, 'Transactions are not supported yet');
      const bytes = p.records.subarray(batch.start, batch.start + batch.length);
      let logAppendTime = -1;
      if (broker.topicConfig(topic, 'message.timestamp.type') === 'LogAppendTime') {
        logAppendTime = broker.clock.now();
        setLogAppendTime(bytes, 0, bytes.length, logAppendTime);
      }
      const appended = log.append(bytes);
      broker.waiters.notify(PartitionWaiters.key(topic.name, p.index));
      const result: PartitionResult = {
        index: p.index,
        errorCode: 0,
        baseOffset: BigInt(appended.baseOffset),
        logAppendTimeMs: BigInt(logAppendTime),
        logStartOffset: BigInt(log.logStartOffset()),
        errorMessage: null,
      };
      if (acks === -1) toFlush.push({ log, result });
      return result;
    });
    return { name: t.name, partitionResponses };
  });

  if (toFlush.length > 0) {
    // The durability rule: an acks=all produce is answered only once its bytes are on disk.
    await Promise.all(
      toFlush.map(async (f) => {
        try {
          await f.log.flush();
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
