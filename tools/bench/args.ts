/**
 * The benchmark's command line. Any mistake (an unknown flag or case, a missing or bad value) is a
 * UsageError: one line on stderr and exit code 2, so that CI cannot mistake it for a measurement.
 */
import type { SuiteOptions } from './suite.js';

export class UsageError extends Error {}

export const USAGE = 'usage: bench [--only a,b] [--smoke] [--quick] [--seconds N] [--runs R] [--profile] [--json FILE] [--help]';

/** Window lengths per mode; explicit --seconds / --runs override them. */
const FULL = { seconds: 10, warmupSeconds: 1, runs: 3 };
const QUICK = { seconds: 2, warmupSeconds: 0.5, runs: 1 };
const SMOKE = { seconds: 0.3, warmupSeconds: 0.1, runs: 1 };

export interface Args {
  options: SuiteOptions;
  /** Case names from --only (lower case, as given), or undefined for all. */
  only: string[] | undefined;
  json: string | undefined;
  help: boolean;
}

const VALUED = new Set(['--only', '--seconds', '--runs', '--json']);
const BOOLEAN = new Set(['--smoke', '--quick', '--profile', '--help', '-h']);

export function parseArgs(argv: readonly string[]): Args {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (VALUED.has(name)) {
      const v = eq > 0 && name !== a ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${name} needs a value; ${USAGE}`);
      values.set(name, v);
    } else if (BOOLEAN.has(a)) {
      flags.add(a);
    } else {
      throw new UsageError(`unknown argument ${a}; ${USAGE}`);
    }
  }
  const positive = (name: string): number | undefined => {
    const v = values.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} needs a positive number, got ${v}`);
    return n;
  };
  const smoke = flags.has('--smoke');
  const mode = smoke ? SMOKE : flags.has('--quick') ? QUICK : FULL;
  const runs = positive('--runs');
  if (runs !== undefined && !Number.isInteger(runs)) throw new UsageError(`--runs needs a whole number, got ${runs}`);
  const only = values.get('--only')?.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (only !== undefined && only.length === 0) throw new UsageError(`--only needs case names; ${USAGE}`);
  return {
    options: {
      smoke,
      seconds: positive('--seconds') ?? mode.seconds,
      warmupSeconds: mode.warmupSeconds,
      runs: runs ?? mode.runs,
      profile: flags.has('--profile'),
    },
    only,
    json: values.get('--json'),
    help: flags.has('--help') || flags.has('-h'),
  };
}
