import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../../protocol/generated/write-txn-markers.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { writeTransactionMarkers } from '../transaction-runtime.js';
import type { RequestContext } from '../request-context.js';

/**
 * WriteTxnMarkers: a transaction coordinator asks this broker, as partition leader, to append COMMIT or
 * ABORT markers. Fjord's own coordinator appends locally; the API serves tools and a future cluster.
 * The response waits for the markers' fsync, as Kafka's waits for acks=all.
 */
export async function handleWriteTxnMarkers(req: WriteTxnMarkersRequest, ctx: RequestContext): Promise<Encodable<WriteTxnMarkersResponse>> {
  const markers = [];
  for (const m of req.markers) {
    const codes = new Map<string, Map<number, number>>();
    const logs = writeTransactionMarkers(
      ctx.broker,
      {
        producerId: Number(m.producerId),
        producerEpoch: m.producerEpoch,
        commit: m.transactionResult,
        coordinatorEpoch: m.coordinatorEpoch,
        partitions: m.topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition }))),
      },
      (topic, partition, code) => {
        const byPartition = codes.get(topic) ?? new Map<number, number>();
        byPartition.set(partition, code);
        codes.set(topic, byPartition);
      },
    );
    const results = await Promise.allSettled(logs.map((l) => l.flush()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') codes.get(logs[i]!.topic)?.set(logs[i]!.partition, ErrorCode.KAFKA_STORAGE_ERROR);
    });
    markers.push({
      producerId: m.producerId,
      topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, errorCode: codes.get(t.name)?.get(p) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })) })),
    });
  }
  return { markers };
}
