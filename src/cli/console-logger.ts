import type { Logger } from '../broker/broker.js';

/** Log lines on stderr, Kafka-style: a timestamp, a level, a message. */
export function consoleLogger(): Logger {
  const line = (level: string, msg: string): void => {
    process.stderr.write(`[${new Date().toISOString()}] ${level} ${msg}\n`);
  };
  return { info: (m) => line('INFO', m), warn: (m) => line('WARN', m), error: (m) => line('ERROR', m) };
}
