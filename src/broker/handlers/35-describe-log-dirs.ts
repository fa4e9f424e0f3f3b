import { resolve } from 'node:path';
import type { DescribeLogDirsRequest, DescribeLogDirsResponse } from '../../protocol/generated/describe-log-dirs.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleDescribeLogDirs(req: DescribeLogDirsRequest, ctx: RequestContext): Encodable<DescribeLogDirsResponse> {
  const { broker } = ctx;
  const wanted = req.topics ?? broker.logs.listTopics().map((t) => ({ topic: t.name, partitions: Array.from({ length: t.partitions }, (_, i) => i) }));
  const topics = [];
  for (const w of wanted) {
    const partitions = [];
    for (const p of w.partitions) {
      const log = broker.logs.partition(w.topic, p);
      if (log !== undefined) partitions.push({ partitionIndex: p, partitionSize: BigInt(log.sizeBytes()), offsetLag: 0n, isFutureKey: false });
    }
    if (partitions.length > 0) topics.push({ name: w.topic, partitions });
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    // -1: Fjord does not measure the volume (Kafka reports -1 when it cannot either).
    results: [{ errorCode: 0, logDir: resolve(broker.config.logDir), topics, totalBytes: -1n, usableBytes: -1n }],
  };
}
