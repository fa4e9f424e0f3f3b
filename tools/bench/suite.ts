/**
 * The benchmark suite's shape: `tools/bench.ts` runs a list of named cases (`--only NAME[,NAME]`),
 * each of which returns a markdown section, its raw numbers for the JSON file, and the targets it
 * checks. The machine's limits (loopback TCP, fsync-every-MiB appends) are measured first, in the same
 * run, because every ratio is taken against them.
 *
 * Missing a target never fails the run; a real failure (an error code, a dropped connection, a crashed
 * child, a short read) throws and makes the process exit non-zero. `--smoke` shrinks every case to a
 * few hundred milliseconds and small sizes so CI can check that the suite still works (not its timings).
 */

export interface SuiteOptions {
  /** Tiny sizes and windows, one run: proves each case works end to end; its numbers mean nothing. */
  readonly smoke: boolean;
  /** Seconds of each measured window (after warm-up). */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Runs per measurement; cells report median (min–max). */
  readonly runs: number;
  /** Also profile the broker (`node --cpu-prof`) where the case supports it. */
  readonly profile: boolean;
}

/** The machine's ceilings, in bytes per second, measured at the start of the run (NaN when not measured). */
export interface Limits {
  /** One connection to a discarding child process, 16 KiB writes. */
  readonly loopback16k: number;
  /** The same with 1 MiB writes. */
  readonly loopback1m: number;
  /** Sequential appends to one file with fdatasync after every MiB. */
  readonly fsyncPerMiB: number;
}

/** One target of the performance issue, checked against a measured value. */
export interface Target {
  /** What is compared, e.g. "produce memory 64 in flight / 16 KiB loopback". */
  readonly name: string;
  readonly measured: number;
  readonly comparison: '>=' | '<=';
  readonly threshold: number;
  /** Unit of measured and threshold, e.g. "x", "ms", "MB". */
  readonly unit: string;
}

export function targetMet(t: Target): boolean {
  return t.comparison === '>=' ? t.measured >= t.threshold : t.measured <= t.threshold;
}

export interface CaseReport {
  /** Markdown (headings at ### level and below) for stdout and docs/benchmarks.md. */
  readonly markdown: string;
  /** Raw numbers for the --json file. */
  readonly json: unknown;
  readonly targets: readonly Target[];
}

export interface BenchContext {
  readonly options: SuiteOptions;
  readonly limits: Limits;
  /** Reports of the cases that already ran in this invocation, by name (e.g. latency reads `produce`). */
  readonly earlier: ReadonlyMap<string, CaseReport>;
  /** Progress line on stderr (stdout carries only the report). */
  log(message: string): void;
}

export interface BenchCase {
  /** The name `--only` selects, lower case, e.g. "produce". */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /**
   * True when the case reads `ctx.limits`: the runner then measures the limits before any case runs.
   * Without it (and with no other selected case needing them) the limits are NaN.
   */
  readonly needsLimits?: boolean;
  run(ctx: BenchContext): Promise<CaseReport>;
}
