import { Command } from 'commander';

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

/** Options every client command takes. */
export function withBootstrap(cmd: Command): Command {
  return cmd.option('--bootstrap-server <host:port>', 'a broker to connect to (comma-separated list allowed)', DEFAULT_BOOTSTRAP);
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parse repeated `k=v` options into a record; a missing '=' is a usage error. */
export function parseKeyValues(items: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what} expects key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function parseIntOption(value: string, name: string, min = Number.MIN_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''}, got "${value}"`);
  return n;
}

/** A mistake in how the command was called: exit code 2, like commander's own usage errors. */
export class UsageError extends Error {}

/**
 * Run a command's action: any failure becomes one line on stderr and a non-zero exit (2 for usage,
 * 1 for everything else), never a stack trace.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`fjord: ${message.split('\n')[0]}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    }
  };
}
