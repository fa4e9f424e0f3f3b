import type { Cluster } from '../cluster.js';

export interface RetryPolicy {
  readonly retries: number;
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
}

/** What every admin operation needs: the shared metadata cache, the retry policy, the broker-side timeout. */
export interface AdminContext {
  readonly cluster: Cluster;
  readonly retry: RetryPolicy;
  /** Sent as the request's timeoutMs: how long the broker may take to apply the operation. */
  readonly operationTimeoutMs: number;
}

/** A per-item result: Kafka answers each topic, partition or resource separately. */
export type Outcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: Error };

export function ok<R>(value: R): Outcome<R> {
  return { ok: true, value };
}

export function failed<R>(error: Error): Outcome<R> {
  return { ok: false, error };
}
