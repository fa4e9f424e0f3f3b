import { ErrorCode } from '../../protocol/errors.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import { AdminError, type AdminFailure } from './admin-error.js';
import { failed, type AdminContext, type Outcome } from './context.js';

/**
 * Errors that mean "you asked the wrong broker" or "the connection went away": a metadata refresh
 * and another attempt can succeed. Deliberately narrower than Kafka's retriable flag: an admin call
 * on a missing topic (UNKNOWN_TOPIC_OR_PARTITION) should fail now, not after every backoff. A client
 * request timeout is not retried either: the wait would multiply and the broker may have applied it.
 */
const RETRIABLE_CODES: ReadonlySet<number> = new Set([
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
]);

export function isAdminRetriable(err: unknown): boolean {
  if (err instanceof KafkaProtocolError) return RETRIABLE_CODES.has(err.errorCode);
  if (err instanceof ClientError) return err.code === 'CONNECTION_CLOSED' || err.code === 'CONNECTION_FAILED';
  return false;
}

/**
 * BrokerConnection passes a Connector's close error to pending requests as it came, and the TCP
 * connector reports a plain Error: a bare Error here means the transport went away. Naming it
 * CONNECTION_CLOSED makes it retriable and gives callers a stable code.
 */
export function normalizeError(err: unknown): Error {
  if (err instanceof Error && Object.getPrototypeOf(err) === Error.prototype) return new ClientError('CONNECTION_CLOSED', err.message);
  return err instanceof Error ? err : new ClientError('PROTOCOL_ERROR', `Unexpected failure: ${String(err)}`, false);
}

/** A response that leaves an item out: not retriable here, since asking again would likely get the same answer. */
export const noAnswer = (): Error => new ClientError('PROTOCOL_ERROR', 'The broker did not answer for this item', false);

/** Wait out the backoff, then refresh metadata so the next attempt finds the current controller and leaders. */
async function pause(ctx: AdminContext, attempt: number): Promise<void> {
  const { backoffMs, backoffMaxMs } = ctx.retry;
  const delay = Math.min(backoffMs * 2 ** attempt, backoffMaxMs);
  await new Promise<void>((resolve) => ctx.cluster.options.clock.setTimer(delay, resolve));
  // A failed refresh is not the operation's failure: the next attempt reports whatever is still wrong.
  await ctx.cluster.refreshMetadata([]).catch(() => undefined);
}

/**
 * Run `attempt` over the items, then again over just the items that failed retriably, up to
 * `retries` more times. A retriable throw retries every pending item; any other throw ends the call.
 */
export async function withRetries<I, R>(ctx: AdminContext, items: readonly I[], attempt: (items: readonly I[]) => Promise<readonly Outcome<R>[]>): Promise<Outcome<R>[]> {
  const results: Array<Outcome<R> | undefined> = items.map(() => undefined);
  let pending = items.map((item, index) => ({ item, index }));
  for (let n = 0; pending.length > 0; n++) {
    const last = n >= ctx.retry.retries;
    let outcomes: readonly Outcome<R>[];
    try {
      outcomes = await attempt(pending.map((p) => p.item));
    } catch (thrown) {
      const err = normalizeError(thrown);
      if (last || !isAdminRetriable(err)) throw err;
      await pause(ctx, n);
      continue;
    }
    const again: typeof pending = [];
    pending.forEach((p, k) => {
      const o = outcomes[k] ?? failed<R>(noAnswer());
      if (!o.ok && !last && isAdminRetriable(o.error)) again.push(p);
      else results[p.index] = o;
    });
    pending = again;
    if (pending.length > 0) await pause(ctx, n);
  }
  return results.map((o) => o ?? failed<R>(noAnswer()));
}

/** One request with no per-item answers (listTopics, describeCluster), retried like a batch of one. */
export async function retryCall<T>(ctx: AdminContext, call: () => Promise<T>): Promise<T> {
  const [o] = await withRetries<null, T>(ctx, [null], async () => [{ ok: true, value: await call() }]);
  if (o === undefined || !o.ok) throw o?.error ?? noAnswer();
  return o.value;
}

/** The values in input order, or an AdminError naming every failed item. */
export function settle<I, R>(operation: string, items: readonly I[], outcomes: readonly Outcome<R>[], label: (item: I) => string): R[] {
  const values: R[] = [];
  const failures: AdminFailure[] = [];
  outcomes.forEach((o, i) => {
    if (o.ok) values.push(o.value);
    else failures.push({ resource: label(items[i]!), error: o.error });
  });
  if (failures.length > 0) throw new AdminError<R>(operation, items.length, failures, values);
  return values;
}

/** Kafka rejects a batch naming the same item twice; say so before sending anything. */
export function assertUnique<I>(items: readonly I[], key: (item: I) => string, label: (item: I) => string): void {
  const seen = new Set<string>();
  for (const item of items) {
    const k = key(item);
    if (seen.has(k)) throw new ClientError('INVALID_ARGUMENT', `${label(item)} appears more than once`);
    seen.add(k);
  }
}

/** A broker's per-item error code as an Outcome. */
export function fromErrorCode<R>(errorCode: number, errorMessage: string | null, value: () => R): Outcome<R> {
  return errorCode === 0 ? { ok: true, value: value() } : failed<R>(new KafkaProtocolError(errorCode, errorMessage));
}
