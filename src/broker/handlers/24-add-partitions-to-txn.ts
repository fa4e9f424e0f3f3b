import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../../protocol/generated/add-partitions-to-txn.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

/** AddPartitionsToTxn: v0-3 from producers, v4+ batched (and VerifyOnly) as partition leaders send it (KIP-890). */
export function handleAddPartitionsToTxn(req: AddPartitionsToTxnRequest, ctx: RequestContext): Promise<Encodable<AddPartitionsToTxnResponse>> {
  return ctx.broker.transactions.addPartitions(req, ctx);
}
