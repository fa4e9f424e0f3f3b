import type { EndTxnRequest, EndTxnResponse } from '../../protocol/generated/end-txn.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

/** EndTxn: answered once the PrepareCommit/PrepareAbort record is durable; markers follow. */
export function handleEndTxn(req: EndTxnRequest, ctx: RequestContext): Promise<Encodable<EndTxnResponse>> {
  return ctx.broker.transactions.endTxn(req, ctx);
}
