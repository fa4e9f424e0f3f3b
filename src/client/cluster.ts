import type { Clock } from '../io/clock.js';
import type { MetadataResponse } from '../protocol/generated/metadata.js';
import { ErrorCode } from '../protocol/errors.js';
import { BrokerConnection } from './broker-connection.js';
import { ClientError, KafkaProtocolError } from './errors.js';
import type { Connector } from './transport.js';

export interface ClusterOptions {
  readonly bootstrapServers: readonly string[];
  readonly clientId: string;
  readonly connector: Connector;
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Reconnect backoff: doubles from the first value up to the second. */
  readonly reconnectBackoffMs: number;
  readonly reconnectBackoffMaxMs: number;
  /** How long cached metadata is trusted before a refresh (Kafka's metadata.max.age.ms). */
  readonly metadataMaxAgeMs: number;
}

export interface PartitionInfo {
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly errorCode: number;
}

export interface TopicInfo {
  readonly name: string;
  readonly topicId: string;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionInfo[];
}

export interface BrokerInfo {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** Parse "host:port" (IPv6 in brackets) with Kafka's default port 9092. */
export function parseHostPort(s: string): { host: string; port: number } {
  const t = s.trim().replace(/^[A-Za-z_]+:\/\//, '');
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(t) ?? /^([^:]+)(?::(\d+))?$/.exec(t);
  if (m === null) throw new ClientError('INVALID_ARGUMENT', `Invalid broker address "${s}"`);
  const port = m[2] === undefined ? 9092 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ClientError('INVALID_ARGUMENT', `Invalid port in "${s}"`);
  return { host: m[1]!, port };
}

/**
 * What the client knows about the cluster: brokers and topic metadata from Metadata responses, and
 * one connection per broker, reconnected with bounded exponential backoff. Nothing here is specific
 * to Fjord: it works against Apache Kafka too.
 */
export class Cluster {
  readonly brokers = new Map<number, BrokerInfo>();
  readonly topics = new Map<string, TopicInfo>();
  clusterId: string | null = null;
  controllerId = -1;
  private readonly connections = new Map<string, Promise<BrokerConnection>>();
  /** The settled, open connections of `connections`, for callers that must not wait a microtask. */
  private readonly ready = new Map<string, BrokerConnection>();
  private readonly backoff = new Map<string, { until: number; delay: number }>();
  private readonly bootstrap: Array<{ host: string; port: number }>;
  private lastRefresh = 0;
  private closed = false;

  constructor(readonly options: ClusterOptions) {
    if (options.bootstrapServers.length === 0) throw new ClientError('INVALID_ARGUMENT', 'bootstrapServers is empty');
    this.bootstrap = options.bootstrapServers.map(parseHostPort);
  }

  private async open(host: string, port: number): Promise<BrokerConnection> {
    if (this.closed) throw new ClientError('CLIENT_CLOSED', 'The client is closed');
    const key = `${host}:${port}`;
    const existing = this.connections.get(key);
    if (existing !== undefined) {
      const c = await existing.catch(() => null);
      if (c !== null && c.isOpen) return c;
      this.connections.delete(key);
      this.ready.delete(key);
    }
    const b = this.backoff.get(key);
    const wait = b === undefined ? 0 : b.until - this.options.clock.now();
    const attempt = (async () => {
      if (wait > 0) await new Promise<void>((r) => this.options.clock.setTimer(wait, r));
      const conn = new BrokerConnection({ host, port, clientId: this.options.clientId, connector: this.options.connector, clock: this.options.clock, requestTimeoutMs: this.options.requestTimeoutMs, connectTimeoutMs: this.options.connectTimeoutMs });
      try {
        await conn.connect();
      } catch (err) {
        conn.close();
        const delay = Math.min((b?.delay ?? this.options.reconnectBackoffMs / 2) * 2, this.options.reconnectBackoffMaxMs);
        this.backoff.set(key, { until: this.options.clock.now() + delay, delay });
        throw err;
      }
      this.backoff.delete(key);
      return conn;
    })();
    this.connections.set(key, attempt);
    try {
      const conn = await attempt;
      if (!this.closed && this.connections.get(key) === attempt) this.ready.set(key, conn);
      return conn;
    } catch (err) {
      if (this.connections.get(key) === attempt) this.connections.delete(key);
      throw err;
    }
  }

  /**
   * The open connection to the given broker, synchronously, or null when there is none yet (then
   * use connectionTo). Lets the consumer write its next fetch in the same turn as the last response.
   */
  openConnectionTo(nodeId: number): BrokerConnection | null {
    const b = this.brokers.get(nodeId);
    if (b === undefined || this.closed) return null;
    const c = this.ready.get(`${b.host}:${b.port}`);
    return c !== undefined && c.isOpen ? c : null;
  }

  /** A connection to the given broker (by node id). */
  async connectionTo(nodeId: number): Promise<BrokerConnection> {
    let b = this.brokers.get(nodeId);
    if (b === undefined) {
      await this.refreshMetadata([]);
      b = this.brokers.get(nodeId);
    }
    if (b === undefined) throw new KafkaProtocolError(ErrorCode.BROKER_NOT_AVAILABLE, `Unknown broker ${nodeId}`);
    return this.open(b.host, b.port);
  }

  /** Any live connection: a known broker first, else the bootstrap list in order. */
  async anyConnection(): Promise<BrokerConnection> {
    let last: unknown = null;
    const candidates = [...[...this.brokers.values()].map((b) => ({ host: b.host, port: b.port })), ...this.bootstrap];
    for (const c of candidates) {
      try {
        return await this.open(c.host, c.port);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new ClientError('CONNECTION_FAILED', 'No broker reachable');
  }

  /**
   * Refresh metadata for `topics` (null: every topic). Topics the broker does not know are dropped
   * from the cache; with `autoCreate` the broker may create them (auto.create.topics.enable).
   */
  async refreshMetadata(topics: readonly string[] | null, autoCreate = false): Promise<void> {
    const conn = await this.anyConnection();
    const res = await conn.request<MetadataResponse>(3, {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
      allowAutoTopicCreation: autoCreate,
    });
    this.brokers.clear();
    for (const b of res.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    this.clusterId = res.clusterId;
    this.controllerId = res.controllerId;
    if (topics === null) this.topics.clear();
    for (const t of res.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0) {
        this.topics.delete(t.name);
        continue;
      }
      this.topics.set(t.name, {
        name: t.name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, errorCode: p.errorCode }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    this.lastRefresh = this.options.clock.now();
  }

  /** Topic metadata, refreshed when missing or stale; throws UNKNOWN_TOPIC_OR_PARTITION. */
  async topic(name: string, autoCreate = false): Promise<TopicInfo> {
    let t = this.topics.get(name);
    if (t === undefined || this.options.clock.now() - this.lastRefresh > this.options.metadataMaxAgeMs) {
      await this.refreshMetadata([name], autoCreate);
      t = this.topics.get(name);
    }
    if (t === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`);
    return t;
  }

  /** The leader's connection for a partition. */
  async leaderFor(topic: string, partition: number): Promise<BrokerConnection> {
    const t = await this.topic(topic);
    const p = t.partitions[partition];
    if (p === undefined || p.partition !== partition) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}-${partition} does not exist`);
    if (p.leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${partition} has no leader`);
    return this.connectionTo(p.leader);
  }

  /** Forget a connection that failed, so the next call reconnects. */
  invalidate(conn: BrokerConnection): void {
    const key = conn.address;
    conn.close();
    this.connections.delete(key);
    if (this.ready.get(key) === conn) this.ready.delete(key);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    this.ready.clear();
    for (const p of all) {
      const c = await p.catch(() => null);
      c?.close();
    }
  }
}
