/**
 * Fjord's performance suite (issue 7):
 *
 *   node dist/tools/bench.js [--only a,b] [--smoke] [--quick] [--seconds N] [--runs R] [--profile] [--json FILE] [--help]
 *
 * Runs the cases of tools/bench/cases.ts (all, or those named by --only, in registry order). When a
 * selected case needs them, the machine's limits (loopback TCP, fdatasync-every-MiB appends) are
 * measured first, in the same run, because targets are ratios to them. Prints a markdown report on
 * stdout (header, limits, each case, a summary of every target) and writes the raw numbers as JSON to
 * --json FILE or bench-results/<timestamp>.json. Progress goes to stderr.
 *
 * Exit codes: 0 when every case ran, missed targets included; 1 when a case failed for real (an error
 * code, wrong correlation id, dropped connection, stall, crashed child, short read), after the other
 * cases were tried and the report printed; 2 for a usage error.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, UsageError, USAGE, type Args } from './bench/args.js';
import { CASES } from './bench/cases.js';
import { measureLimits, UNMEASURED_LIMITS, type LimitsReport } from './bench/limits.js';
import { fmt, markdownTable } from './bench/stats.js';
import { targetMet, type BenchCase, type BenchContext, type CaseReport, type Limits, type Target } from './bench/suite.js';

/** The name --only accepts for measuring the limits alone. */
const LIMITS_NAME = 'limits';
const RESULTS_DIR = 'bench-results';

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function print(markdown: string): void {
  process.stdout.write(`${markdown}\n\n`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.stack ?? err.message : String(err);
}

function git(args: readonly string[]): string | undefined {
  try {
    return execFileSync('git', args, { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function help(): string {
  const width = Math.max(LIMITS_NAME.length, ...CASES.map((c) => c.name.length));
  return [
    USAGE,
    '',
    '  --only a,b     run only these cases (registry order), or "limits" to measure only the limits',
    '  --smoke        tiny sizes, ~0.3 s windows, 1 run: checks that the suite works, not its timings',
    '  --quick        1 run of 2 s per measurement (default: 3 runs of 10 s)',
    '  --seconds N    length of each measured window; --runs R: runs per measurement',
    '  --profile      also profile the broker child (node --cpu-prof) where a case supports it',
    `  --json FILE    where to write the raw numbers (default ${RESULTS_DIR}/<timestamp>.json)`,
    '',
    'cases:',
    `  ${LIMITS_NAME.padEnd(width)}  loopback TCP (16 KiB, 1 MiB writes) and fdatasync-every-MiB appends; measured first when a case needs them`,
    ...CASES.map((c) => `  ${c.name.padEnd(width)}  ${c.description}`),
  ].join('\n');
}

function select(args: Args): { cases: BenchCase[]; limitsOnly: boolean } {
  if (args.only === undefined) return { cases: [...CASES], limitsOnly: false };
  const known = new Set([LIMITS_NAME, ...CASES.map((c) => c.name)]);
  const unknown = args.only.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new UsageError(`unknown case ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  return { cases: CASES.filter((c) => args.only!.includes(c.name)), limitsOnly: args.only.includes(LIMITS_NAME) };
}

function header(args: Args, startedAt: Date, commit: string | undefined, dirty: boolean): string {
  const cpu = cpus();
  const o = args.options;
  const mode = o.smoke ? 'smoke' : `${o.runs} run(s) of ${o.seconds} s after ${o.warmupSeconds} s warm-up`;
  return [
    `## Fjord benchmark, ${startedAt.toISOString()}`,
    '',
    `- Code: ${commit === undefined ? 'unknown commit' : `commit ${commit}${dirty ? ' plus uncommitted changes' : ''}`}`,
    `- Machine: ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? '?'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Linux ${release()}, Node ${process.version}; load average at start ${loadavg().map((l) => fmt(l, 2)).join(' ')}`,
    `- Options: ${mode}${o.profile ? ', --profile' : ''}; cases: ${args.only?.join(', ') ?? 'all'}`,
    '- Cells: median (min–max) over runs unless stated. MB = 10^6 bytes.',
  ].join('\n');
}

function formatValue(v: number, unit: string): string {
  if (unit === 'x') return `${fmt(v, 3)}×`;
  return `${fmt(v, 2)} ${unit}`;
}

function summary(targets: ReadonlyArray<{ caseName: string; target: Target }>, failed: readonly string[]): string {
  const rows = targets.map(({ caseName, target: t }) => [
    caseName,
    t.name,
    formatValue(t.measured, t.unit),
    `${t.comparison} ${formatValue(t.threshold, t.unit)}`,
    targetMet(t) ? 'met' : '**missed**',
  ]);
  const met = targets.filter((t) => targetMet(t.target)).length;
  return [
    '### Summary of targets',
    '',
    targets.length === 0 ? 'No targets in the selected cases.' : markdownTable(['case', 'target', 'measured', 'target', 'result'], rows),
    '',
    `${met} of ${targets.length} targets met.${failed.length > 0 ? ` Failed cases (exit 1): ${failed.join(', ')}.` : ''}`,
  ].join('\n');
}

async function main(): Promise<number> {
  let args: Args;
  let selection: ReturnType<typeof select>;
  try {
    args = parseArgs(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(`${help()}\n`);
      return 0;
    }
    selection = select(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const o = args.options;
  const startedAt = new Date();
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  print(header(args, startedAt, commit, dirty));

  const failed: string[] = [];
  const caseJson: Record<string, unknown> = {};
  let limits: Limits = UNMEASURED_LIMITS;
  let limitsReport: LimitsReport | undefined;
  let limitsError: string | undefined;
  const needLimits = selection.limitsOnly || selection.cases.some((c) => c.needsLimits === true);
  if (needLimits) {
    try {
      log('measuring the limits');
      limitsReport = await measureLimits(o, log);
      limits = limitsReport.limits;
      print(limitsReport.markdown);
    } catch (err) {
      limitsError = errorText(err);
      failed.push(LIMITS_NAME);
      print(`### Limits: FAILED\n\n\`\`\`\n${limitsError}\n\`\`\``);
    }
  }

  const earlier = new Map<string, CaseReport>();
  const targets: Array<{ caseName: string; target: Target }> = [];
  for (const c of selection.cases) {
    if (c.needsLimits === true && limitsError !== undefined) {
      failed.push(c.name);
      caseJson[c.name] = { error: 'not run: the limits could not be measured' };
      print(`### ${c.name}: not run (the limits could not be measured)`);
      continue;
    }
    const ctx: BenchContext = { options: o, limits, earlier, log: (m) => log(`[${c.name}] ${m}`) };
    const t0 = performance.now();
    log(`case ${c.name}`);
    try {
      const report = await c.run(ctx);
      const seconds = (performance.now() - t0) / 1000;
      earlier.set(c.name, report);
      for (const target of report.targets) targets.push({ caseName: c.name, target });
      caseJson[c.name] = { seconds, json: report.json, targets: report.targets.map((t) => ({ ...t, met: targetMet(t) })) };
      print(report.markdown);
      log(`case ${c.name} done in ${fmt(seconds, 1)} s`);
    } catch (err) {
      failed.push(c.name);
      caseJson[c.name] = { seconds: (performance.now() - t0) / 1000, error: errorText(err) };
      print(`### ${c.name}: FAILED\n\n\`\`\`\n${errorText(err)}\n\`\`\``);
      log(`case ${c.name} FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  print(summary(targets, failed));

  const jsonPath = args.json ?? join(RESULTS_DIR, `${startedAt.toISOString().replace(/:/g, '-')}.json`);
  const json = {
    startedAt,
    finishedAt: new Date(),
    commit: commit ?? null,
    dirty,
    machine: { cpus: cpus().length, model: cpus()[0]?.model.trim() ?? null, totalMemBytes: totalmem(), kernel: release(), node: process.version, loadavgAtEnd: loadavg() },
    options: o,
    only: args.only ?? null,
    limits: limitsReport?.json ?? (limitsError !== undefined ? { error: limitsError } : null),
    cases: caseJson,
    targets: targets.map(({ caseName, target }) => ({ case: caseName, ...target, met: targetMet(target) })),
    failed,
  };
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  log(`raw numbers written to ${jsonPath}`);
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${errorText(err)}\n`);
    process.exit(1);
  },
);
