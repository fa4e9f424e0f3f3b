import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Broker, type Logger, silentLogger } from '../broker/broker.js';
import { BrokerConfig } from '../broker/broker-config.js';
import { RetentionScheduler } from '../broker/retention-scheduler.js';
import { LogCleanerScheduler } from '../broker/log-cleaner-scheduler.js';
import { createDiskLogManager, createMemoryLogManager } from '../storage/index.js';
import type { LogManager, LogManagerOptions } from '../storage/types.js';
import { systemClock, type Clock } from './clock.js';
import { systemRandom, type Random } from './random.js';
import { nodeFileSystem } from './node-file-system.js';
import { TcpServer } from './tcp-server.js';

export interface StartBrokerOptions {
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port (the default for the embedded broker). */
  readonly port?: number;
  /** Data directory for the disk engine; omitted means the in-memory engine. */
  readonly dataDir?: string;
  /** 'memory' or 'disk'; default: disk when dataDir is given, else memory. */
  readonly storage?: 'memory' | 'disk';
  /** Kafka configuration keys, e.g. { 'num.partitions': '3' }. */
  readonly config?: Record<string, string>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
}

export interface RunningBroker {
  /** "host:port", ready for any Kafka client's bootstrap list. */
  readonly bootstrapServers: string;
  readonly host: string;
  readonly port: number;
  readonly broker: Broker;
  /** Finish in-flight requests, flush every log, write the clean-shutdown marker. */
  close(): Promise<void>;
}

/** How long close() lets in-flight requests (long-polling fetches, fsyncs) finish. */
const SHUTDOWN_WAIT_MS = 5_000;

export function logManagerOptions(config: BrokerConfig): LogManagerOptions {
  const flushMs = config.get('log.flush.interval.ms');
  return {
    segmentBytes: config.getInt('log.segment.bytes'),
    segmentMs: config.rollMs,
    indexIntervalBytes: config.getInt('log.index.interval.bytes'),
    flushMessages: Number(config.get('log.flush.interval.messages')),
    flushMs: flushMs === null ? Number.POSITIVE_INFINITY : Number(flushMs),
  };
}

/** Kafka keeps the cluster id in meta.properties in each log dir; so does Fjord. */
function loadClusterId(logDir: string, nodeId: number, random: Random): string {
  const path = join(logDir, 'meta.properties');
  if (existsSync(path)) {
    const props = BrokerConfig.parseProperties(readFileSync(path, 'utf8'));
    if (props['cluster.id'] !== undefined) return props['cluster.id'];
  }
  const id = newClusterId(random);
  mkdirSync(logDir, { recursive: true });
  writeFileSync(path, `#Written by Fjord\nversion=1\ncluster.id=${id}\nnode.id=${nodeId}\n`);
  return id;
}

/** Kafka renders cluster ids as URL-safe base64 of a UUID (22 characters). */
function newClusterId(random: Random): string {
  return Buffer.from(random.uuid().replace(/-/g, ''), 'hex').toString('base64url');
}

/**
 * Start a broker: in-process, in milliseconds, with no Docker. The embedded default is the in-memory
 * engine on a free port of 127.0.0.1; give `dataDir` for the durable disk engine.
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? systemRandom;
  const log = options.logger ?? silentLogger;
  const explicit: Record<string, string> = { ...(options.config ?? {}) };
  if (options.dataDir !== undefined) explicit['log.dirs'] = options.dataDir;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  explicit['listeners'] = `PLAINTEXT://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const config = new BrokerConfig(explicit);
  for (const w of config.warnings) log.warn(w);
  const storage = options.storage ?? (options.dataDir !== undefined ? 'disk' : 'memory');
  let logs: LogManager;
  let clusterId: string;
  if (storage === 'disk') {
    logs = createDiskLogManager({
      logDir: config.logDir,
      fs: nodeFileSystem,
      clock,
      options: logManagerOptions(config),
      onBackgroundError: (err) => log.error(`background flush or checkpoint failed: ${String(err)}`),
    });
    clusterId = config.get('cluster.id') ?? loadClusterId(config.logDir, config.nodeId, random);
  } else {
    logs = createMemoryLogManager({ ...logManagerOptions(config), now: () => clock.now() });
    clusterId = config.get('cluster.id') ?? newClusterId(random);
  }
  await logs.open();
  const broker = new Broker({ config, logs, clock, random, log, clusterId, advertisedHost: host, advertisedPort: port, yieldToIo });
  await broker.groups.load();
  // After the groups: completing a transaction left half-done writes markers to __consumer_offsets too.
  await broker.transactions.load();
  const server = new TcpServer(broker, {
    host,
    port,
    frameMaxBytes: config.getInt('socket.request.max.bytes'),
    idleTimeoutMs: Number(config.get('connections.max.idle.ms')),
  });
  let bound: { host: string; port: number };
  try {
    bound = await server.listen();
  } catch (err) {
    await logs.close();
    throw err;
  }
  const advertised = config.advertised;
  broker.advertisedHost = advertised?.host ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  broker.advertisedPort = advertised?.port ?? bound.port;
  const retention = new RetentionScheduler(broker);
  retention.start();
  const cleaner = new LogCleanerScheduler(broker);
  cleaner.start();
  let closing: Promise<void> | null = null;
  return {
    bootstrapServers: `${broker.advertisedHost}:${bound.port}`,
    host: broker.advertisedHost,
    port: bound.port,
    broker,
    close: () => {
      closing ??= (async () => {
        retention.stop();
        cleaner.stop();
        await server.close(SHUTDOWN_WAIT_MS);
        broker.groups.close();
        broker.transactions.close();
        await logs.close();
      })();
      return closing;
    },
  };
}

/** Let the event loop run its pending I/O before a long job's next step (see BrokerDeps.yieldToIo). */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
