import type { FindCoordinatorResponse } from '../../protocol/generated/find-coordinator.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { BrokerConnection } from '../broker-connection.js';
import type { Cluster } from '../cluster.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import { nextBackoff, type Sleeper } from './timing.js';

const FIND_COORDINATOR = 10;
const KEY_TYPE_GROUP = 0;

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

/** Error codes that mean "ask FindCoordinator again": the coordinator moved or is not up yet. */
export const COORDINATOR_MOVED: ReadonlySet<number> = new Set([ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR]);

/** Thrown to abort work because the consumer closed. */
export const closedError = (): ClientError => new ClientError('CLIENT_CLOSED', 'The consumer is closed');

/**
 * A failure of the request itself rather than a Kafka error code: the connection dropped, timed out
 * or could not be opened. The transport reports a dropped socket as a plain Error.
 */
export function isConnectionTrouble(err: unknown): boolean {
  if (err instanceof ClientError) return err.code === 'CONNECTION_CLOSED' || err.code === 'CONNECTION_FAILED' || err.code === 'REQUEST_TIMED_OUT';
  return err instanceof Error && !(err instanceof KafkaProtocolError) && Object.getPrototypeOf(err) === Error.prototype;
}

export interface LinkOptions {
  /** The coordinator's key: a group id, or a transactional id with keyType 1. */
  readonly groupId: string;
  /** FindCoordinator's key type: 0 (default) a group, 1 a transactional id. */
  readonly keyType?: 0 | 1;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
}

/**
 * The way to the group's coordinator: FindCoordinator, then connections to that broker. Two
 * clusters (connection sets): JoinGroup and SyncGroup may be parked by the coordinator for a whole
 * rebalance timeout, so they get connections whose request timeout allows that; heartbeats, commits
 * and offset fetches go on connections with the normal timeout, never queued behind a parked join.
 */
export class CoordinatorLink {
  private nodeId: number | null = null;
  private lookup: Promise<Outcome<number>> | null = null;
  private closed = false;

  constructor(
    private readonly o: LinkOptions,
    private readonly cluster: Cluster,
    private readonly joinCluster: Cluster,
    private readonly sleeper: Sleeper,
  ) {}

  get known(): boolean {
    return this.nodeId !== null;
  }

  /** The coordinator's node id: FindCoordinator retried until it answers, or a non-retriable error. Never rejects. */
  find(): Promise<Outcome<number>> {
    if (this.nodeId !== null) return Promise.resolve({ ok: true, value: this.nodeId });
    this.lookup ??= this.lookupLoop().finally(() => {
      this.lookup = null;
    });
    return this.lookup;
  }

  private async lookupLoop(): Promise<Outcome<number>> {
    let delay = 0;
    for (;;) {
      if (this.closed) return { ok: false, error: closedError() };
      let conn: BrokerConnection | null = null;
      try {
        conn = await this.cluster.anyConnection();
        const res = await conn.request<FindCoordinatorResponse>(FIND_COORDINATOR, { key: this.o.groupId, keyType: this.o.keyType ?? KEY_TYPE_GROUP, coordinatorKeys: [this.o.groupId] });
        if (res.errorCode === 0 && res.nodeId >= 0) {
          this.nodeId = res.nodeId;
          return { ok: true, value: res.nodeId };
        }
        const code = res.errorCode === 0 ? ErrorCode.COORDINATOR_NOT_AVAILABLE : res.errorCode;
        const err = new KafkaProtocolError(code, `FindCoordinator for ${this.o.keyType === 1 ? 'transactional id' : 'group'} ${this.o.groupId}: ${res.errorMessage ?? ''}`);
        if (!err.retriable) return { ok: false, error: err };
      } catch (err) {
        if (this.closed) return { ok: false, error: closedError() };
        if (!isConnectionTrouble(err)) return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
        if (conn !== null) this.cluster.invalidate(conn);
      }
      delay = nextBackoff(delay, this.o.retryBackoffMs, this.o.retryBackoffMaxMs);
      await this.sleeper.sleep(delay);
    }
  }

  /** Forget the coordinator (it moved, or its connection failed); the next request looks it up again. */
  markUnknown(): void {
    this.nodeId = null;
  }

  /**
   * One request to the coordinator. Connection trouble forgets the coordinator and its connection
   * and rethrows; so does a coordinator-moved error code at the top level of the response.
   */
  async request<Res extends object>(apiKey: number, body: object, forJoin = false): Promise<Res> {
    if (this.closed) throw closedError();
    const nodeId = this.nodeId;
    if (nodeId === null) throw new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `no known coordinator for group ${this.o.groupId}`);
    const cluster = forJoin ? this.joinCluster : this.cluster;
    let conn: BrokerConnection;
    try {
      conn = await cluster.connectionTo(nodeId);
    } catch (err) {
      if (err instanceof ClientError && err.code === 'CLIENT_CLOSED') throw err;
      // Unreachable, or unknown to the metadata (BROKER_NOT_AVAILABLE): look the coordinator up again.
      if (this.nodeId === nodeId) this.nodeId = null;
      throw isConnectionTrouble(err) ? err : new ClientError('CONNECTION_FAILED', `coordinator ${nodeId} of group ${this.o.groupId}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      return await conn.request<Res>(apiKey, body);
    } catch (err) {
      if (isConnectionTrouble(err)) {
        cluster.invalidate(conn);
        if (this.nodeId === nodeId) this.nodeId = null;
      }
      throw err;
    }
  }

  close(): void {
    this.closed = true;
  }
}
