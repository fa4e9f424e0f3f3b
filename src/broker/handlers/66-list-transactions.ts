import type { ListTransactionsRequest, ListTransactionsResponse } from '../../protocol/generated/list-transactions.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleListTransactions(req: ListTransactionsRequest, ctx: RequestContext): Encodable<ListTransactionsResponse> {
  return ctx.broker.transactions.listTransactions(req);
}
