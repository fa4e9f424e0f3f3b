import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from '../../protocol/generated/describe-transactions.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { RequestContext } from '../request-context.js';

export function handleDescribeTransactions(req: DescribeTransactionsRequest, ctx: RequestContext): Encodable<DescribeTransactionsResponse> {
  return ctx.broker.transactions.describeTransactions(req);
}
