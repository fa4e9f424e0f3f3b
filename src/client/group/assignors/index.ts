import { ClientError } from '../../errors.js';
import type { PartitionAssignor, RebalanceProtocol } from './assignor.js';
import { cooperativeStickyAssignor } from './cooperative-sticky.js';
import { rangeAssignor } from './range.js';
import { roundRobinAssignor } from './round-robin.js';

export type { MemberSubscription, PartitionAssignor, RebalanceProtocol } from './assignor.js';
export { rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor };

export type BuiltInAssignor = 'range' | 'roundrobin' | 'cooperative-sticky';

const BUILT_IN: ReadonlyMap<string, PartitionAssignor> = new Map([rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor].map((a) => [a.name, a]));

/** The configured assignors, in order of preference; names resolve to the built-in ones. */
export function resolveAssignors(list: ReadonlyArray<BuiltInAssignor | PartitionAssignor>): PartitionAssignor[] {
  if (!Array.isArray(list) || list.length === 0) throw new ClientError('INVALID_ARGUMENT', 'partitionAssignors must name at least one assignor');
  const out: PartitionAssignor[] = [];
  for (const a of list) {
    const assignor = typeof a === 'string' ? BUILT_IN.get(a) : a;
    if (assignor === undefined) throw new ClientError('INVALID_ARGUMENT', `unknown partition assignor ${JSON.stringify(a)}: 'range', 'roundrobin', 'cooperative-sticky' or an assignor object`);
    if (typeof assignor.name !== 'string' || assignor.name === '' || typeof assignor.assign !== 'function') throw new ClientError('INVALID_ARGUMENT', 'a partition assignor needs a name and an assign function');
    if (out.some((x) => x.name === assignor.name)) throw new ClientError('INVALID_ARGUMENT', `partition assignor ${assignor.name} appears more than once`);
    out.push(assignor);
  }
  return out;
}

/**
 * Kafka's rule: the consumer follows the newest protocol every configured assignor supports, so
 * ['range', 'cooperative-sticky'] stays eager (the first step of an upgrade to cooperative).
 */
export function rebalanceProtocolOf(assignors: readonly PartitionAssignor[]): RebalanceProtocol {
  return assignors.every((a) => a.supportedProtocols.includes('cooperative')) ? 'cooperative' : 'eager';
}
