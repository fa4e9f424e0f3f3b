import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { BrokerConfig, ConfigError } from '../broker/broker-config.js';
import { startBroker } from '../io/start-broker.js';
import { consoleLogger } from './console-logger.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `fjord start`: a broker in this process until SIGTERM/SIGINT, then a clean shutdown and exit 0. */
export function startCommand(): Command {
  return new Command('start')
    .description('Start a Fjord broker (Kafka protocol) in the foreground')
    .option('--config <file>', 'a server.properties file with Kafka configuration keys')
    .option('--override <key=value>', 'set one configuration key (repeatable)', collect, [] as string[])
    .option('--host <host>', 'listen address (shortcut for listeners)')
    .option('--port <port>', 'listen port (shortcut for listeners)')
    .option('--data-dir <dir>', 'data directory (shortcut for log.dirs)')
    .option('--memory', 'keep data in memory only (nothing is written to disk)')
    .action(async (opts: { config?: string; override: string[]; host?: string; port?: string; dataDir?: string; memory?: boolean }) => {
      const log = consoleLogger();
      let props: Record<string, string> = {};
      try {
        if (opts.config !== undefined) props = BrokerConfig.parseProperties(readFileSync(opts.config, 'utf8'));
        for (const o of opts.override) {
          const eq = o.indexOf('=');
          if (eq <= 0) throw new ConfigError(`--override expects key=value, got "${o}"`);
          props[o.slice(0, eq)] = o.slice(eq + 1);
        }
        // Validate everything (and read the listener) before touching the disk.
        const config = new BrokerConfig({ 'listeners': 'PLAINTEXT://127.0.0.1:9092', 'log.dirs': './fjord-data', ...props });
        const listener = config.listener;
        const host = opts.host ?? listener.host;
        const port = opts.port !== undefined ? parsePort(opts.port) : listener.port;
        const dataDir = opts.dataDir ?? config.logDir;
        delete props['listeners'];
        delete props['log.dirs'];
        const running = await startBroker({
          host,
          port,
          ...(opts.memory === true ? { storage: 'memory' as const } : { dataDir, storage: 'disk' as const }),
          config: props,
          logger: log,
        });
        log.info(`Fjord broker ${running.broker.nodeId} listening on ${running.bootstrapServers} (${opts.memory === true ? 'in memory' : `data in ${dataDir}`}), cluster ${running.broker.clusterId}`);
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          log.info(`${signal} received: finishing in-flight requests and flushing logs`);
          running.close().then(
            () => {
              log.info('Shut down cleanly');
              process.exit(0);
            },
            (err: unknown) => {
              log.error(`Shutdown failed: ${String(err)}`);
              process.exit(1);
            },
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`fjord: ${err.message}\n`);
          process.exit(2);
        }
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'ENOENT') {
          process.stderr.write(`fjord: ${e.message}\n`);
          process.exit(1);
        }
        throw err;
      }
    });
}

function parsePort(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`Invalid port ${s}`);
  return n;
}
