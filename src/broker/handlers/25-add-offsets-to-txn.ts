import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../../protocol/generated/add-offsets-to-txn.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

/** AddOffsetsToTxn: the group's __consumer_offsets partition joins the transaction. */
export function handleAddOffsetsToTxn(req: AddOffsetsToTxnRequest, ctx: RequestContext): Promise<Encodable<AddOffsetsToTxnResponse>> {
  return ctx.broker.transactions.addOffsets(req, ctx);
}
