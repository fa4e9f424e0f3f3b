import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../protocol/generated/txn-offset-commit.js';
import type { Encodable } from '../../protocol/encodable.js';
import { offsetsPartitionFor } from '../../coordinator/group/offsets-topic-records.js';
import { OFFSETS_TOPIC } from '../group-runtime.js';
import type { RequestContext } from '../request-context.js';

/**
 * TxnOffsetCommit (KIP-98, KIP-447 from v3): a transactional producer's consumed offsets, held as
 * pending in the group until its transaction's marker. As Kafka does since KIP-890, the producer must
 * be in an ongoing transaction that AddOffsetsToTxn gave the group's __consumer_offsets partition.
 */
export function handleTxnOffsetCommit(req: TxnOffsetCommitRequest, ctx: RequestContext): Promise<Encodable<TxnOffsetCommitResponse>> {
  const { groups, transactions, config } = ctx.broker;
  const partition = offsetsPartitionFor(req.groupId, config.getInt('offsets.topic.num.partitions'));
  const verify = () => transactions.verifyPartition(Number(req.producerId), req.producerEpoch, OFFSETS_TOPIC, partition);
  // An invalid group id is the coordinator's answer (INVALID_GROUP_ID), whatever the transaction.
  const problem = req.groupId === '' ? null : verify();
  if (problem !== null) {
    return Promise.resolve({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: problem.errorCode })) })),
    });
  }
  return groups.txnOffsetCommit(req, ctx, verify);
}
