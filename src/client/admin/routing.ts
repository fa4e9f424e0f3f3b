import type { BrokerConnection } from '../broker-connection.js';
import { KafkaProtocolError } from '../errors.js';
import { ErrorCode } from '../../protocol/errors.js';
import { failed, type AdminContext, type Outcome } from './context.js';
import { isAdminRetriable, noAnswer, normalizeError } from './retry.js';

/** Where a request goes: a node id, the controller, or whichever broker answers first. */
export type Route = number | 'any' | 'controller';

async function controllerConnection(ctx: AdminContext): Promise<BrokerConnection> {
  const { cluster } = ctx;
  if (cluster.controllerId < 0 || !cluster.brokers.has(cluster.controllerId)) await cluster.refreshMetadata([]);
  // No controller known: any broker will either serve or answer NOT_CONTROLLER, which is retried.
  if (cluster.controllerId < 0) return cluster.anyConnection();
  return cluster.connectionTo(cluster.controllerId);
}

function connect(ctx: AdminContext, route: Route): Promise<BrokerConnection> {
  if (route === 'any') return ctx.cluster.anyConnection();
  if (route === 'controller') return controllerConnection(ctx);
  return ctx.cluster.connectionTo(route);
}

/**
 * Split items by route, send one request per route in parallel, and put the outcomes back in input
 * order. A retriable failure of one request (a dropped connection) fails only that request's items,
 * so the retry resends just those; anything else aborts the call.
 */
export async function scatter<I, R>(
  ctx: AdminContext,
  items: readonly I[],
  routeOf: (item: I) => Route | Error,
  send: (conn: BrokerConnection, items: readonly I[]) => Promise<readonly Outcome<R>[]>,
): Promise<Outcome<R>[]> {
  const out: Array<Outcome<R> | undefined> = items.map(() => undefined);
  const groups = new Map<Route, number[]>();
  items.forEach((item, i) => {
    const route = routeOf(item);
    if (route instanceof Error) out[i] = failed<R>(route);
    else if (groups.has(route)) groups.get(route)!.push(i);
    else groups.set(route, [i]);
  });
  await Promise.all(
    [...groups].map(async ([route, indexes]) => {
      const group = indexes.map((i) => items[i]!);
      let outcomes: readonly Outcome<R>[];
      try {
        outcomes = await send(await connect(ctx, route), group);
      } catch (thrown) {
        const err = normalizeError(thrown);
        if (!isAdminRetriable(err)) throw err;
        outcomes = group.map(() => failed<R>(err));
      }
      indexes.forEach((i, k) => (out[i] = outcomes[k]));
    }),
  );
  return out.map((o) => o ?? failed<R>(noAnswer()));
}

/**
 * Route partition-level items to their leaders, from metadata refreshed for exactly these topics
 * (one Metadata round trip per attempt, so a retry sees the new leader).
 */
export async function leaderRoutes<I extends { readonly topic: string; readonly partition: number }>(ctx: AdminContext, items: readonly I[]): Promise<(item: I) => Route | Error> {
  const { cluster } = ctx;
  await cluster.refreshMetadata([...new Set(items.map((i) => i.topic))]);
  return (item) => {
    const topic = cluster.topics.get(item.topic);
    if (topic === undefined) return new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${item.topic} does not exist`);
    const p = topic.partitions.find((x) => x.partition === item.partition);
    if (p === undefined) return new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${item.topic}-${item.partition} does not exist`);
    if (p.leader < 0) return new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `${item.topic}-${item.partition} has no leader`);
    return p.leader;
  };
}

/** Items grouped by topic, in first-seen order: the shape of ListOffsets and DeleteRecords requests. */
export function byTopic<I extends { readonly topic: string }>(items: readonly I[]): Map<string, I[]> {
  const m = new Map<string, I[]>();
  for (const i of items) {
    const list = m.get(i.topic);
    if (list === undefined) m.set(i.topic, [i]);
    else list.push(i);
  }
  return m;
}

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
