import { systemClock, type Clock } from '../io/clock.js';
import { tcpConnector } from '../io/tcp-connector.js';
import { Cluster } from './cluster.js';
import type { Connector } from './transport.js';

/** Options every Fjord client (producer, consumer, admin) takes. Names follow Kafka's, in camelCase. */
export interface ClientOptions {
  /** "host:port" or a list of them; any one reachable broker is enough to start. */
  readonly bootstrapServers: string | readonly string[];
  readonly clientId?: string;
  /** Time to wait for any one response (Kafka's request.timeout.ms, default 30 s). */
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly reconnectBackoffMs?: number;
  readonly reconnectBackoffMaxMs?: number;
  readonly metadataMaxAgeMs?: number;
  /** Injected for tests; default: TCP. */
  readonly connector?: Connector;
  readonly clock?: Clock;
}

/**
 * A client's timers are the program's own work (a retry backoff, a request timeout, linger): they
 * keep the process alive, unlike the broker's background timers.
 */
function keepingAlive(clock: Clock): Clock {
  return { now: () => clock.now(), setTimer: (ms, fn) => clock.setTimer(ms, fn, true) };
}

export function createCluster(o: ClientOptions, defaultClientId: string): Cluster {
  const list = typeof o.bootstrapServers === 'string' ? o.bootstrapServers.split(',') : o.bootstrapServers;
  return new Cluster({
    bootstrapServers: list.map((s) => s.trim()).filter((s) => s !== ''),
    clientId: o.clientId ?? defaultClientId,
    connector: o.connector ?? tcpConnector,
    clock: keepingAlive(o.clock ?? systemClock),
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    reconnectBackoffMs: o.reconnectBackoffMs ?? 50,
    reconnectBackoffMaxMs: o.reconnectBackoffMaxMs ?? 1_000,
    metadataMaxAgeMs: o.metadataMaxAgeMs ?? 300_000,
  });
}
