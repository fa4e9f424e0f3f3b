/**
 * Fjord's throughput benchmark, in one run:
 *   1. the loopback TCP ceiling (16 KiB and 1 MiB writes into a discarding child process);
 *   2-3. Produce v7 load from this process against a broker in a child process (memory and disk
 *        engines, acks=1, and acks=-1 on disk): MB/s, records/s, p50/p99 latency, ratio to the ceiling;
 *   4. in-process start-up time of startBroker() (memory and disk);
 *   5. a markdown report on stdout.
 *
 *   node dist/tools/bench.js [--seconds N] [--quick] [--runs R] [--profile] [--json FILE]
 *
 * Exits non-zero only on real failures (error codes, broken connections, crashed children), never on
 * a missed target.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { JsonChild } from './bench/child.js';
import { LoopbackSink, type LoopbackResult } from './bench/loopback.js';
import { buildBenchBatch, ensureTopic, runProduceLoad, type ProduceLoadResult } from './bench/produce-load.js';
import { measureStartup, type StartupResult } from './bench/startup.js';
import { summarizeProfile, type ProfileSummary } from './bench/cpu-profile.js';
import { fmt, markdownTable, median, spread, MB } from './bench/stats.js';

const TARGET_RATIO = 0.3;
const BATCH_MAX_BYTES = 16 * 1024;
const RECORD_VALUE_BYTES = 100;
const INFLIGHT = 16;
const STARTUP_ITERATIONS = 20;
const TOPIC = 'bench';

interface Options {
  seconds: number;
  warmupSeconds: number;
  runs: number;
  profile: boolean;
  json: string | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number): number => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number, got ${v}`);
    return n;
  };
  const known = new Set(['--quick', '--profile', '--seconds', '--runs', '--json']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!known.has(a)) throw new Error(`unknown argument ${a}; usage: bench [--seconds N] [--quick] [--runs R] [--profile] [--json FILE]`);
    if (a === '--seconds' || a === '--runs' || a === '--json') i++;
  }
  return {
    seconds: num('--seconds', quick ? 2 : 10),
    warmupSeconds: quick ? 0.5 : 1,
    runs: Math.round(num('--runs', quick ? 1 : 3)),
    profile: argv.includes('--profile'),
    json: value('--json'),
  };
}

interface Scenario {
  label: string;
  storage: 'memory' | 'disk';
  acks: number;
}

const SCENARIOS: readonly Scenario[] = [
  { label: 'memory', storage: 'memory', acks: 1 },
  { label: 'disk', storage: 'disk', acks: 1 },
  { label: 'disk', storage: 'disk', acks: -1 },
];

interface ScenarioRun extends ProduceLoadResult {
  /** The broker process's CPU use inside the window, in cores. */
  brokerCpu: number;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

type Cpu = { cpu: { user: number; system: number } };

/** One broker child, one load run, then the child is closed and its data removed. */
async function runScenario(s: Scenario, batch: Awaited<ReturnType<typeof buildBenchBatch>>, o: Options, nodeArgs: readonly string[] = []): Promise<ScenarioRun> {
  const dataDir = s.storage === 'disk' ? await mkdtemp(join(tmpdir(), 'fjord-bench-')) : undefined;
  const args = ['--storage', s.storage, ...(dataDir !== undefined ? ['--data-dir', dataDir] : [])];
  const child = new JsonChild('./broker-process.js', args, nodeArgs);
  try {
    const { port } = await child.next<{ port: number }>();
    await ensureTopic(port, TOPIC);
    let cpuStart: Promise<Cpu> | undefined;
    let cpuEnd: Promise<Cpu> | undefined;
    const result = await runProduceLoad({
      port,
      topic: TOPIC,
      acks: s.acks,
      batch,
      inflight: INFLIGHT,
      warmupSeconds: o.warmupSeconds,
      seconds: o.seconds,
      onWindowStart: () => (cpuStart = child.request<Cpu>('cpu')),
      onWindowEnd: () => (cpuEnd = child.request<Cpu>('cpu')),
    });
    let brokerCpu = Number.NaN;
    if (cpuStart !== undefined && cpuEnd !== undefined) {
      const [a, b] = await Promise.all([cpuStart, cpuEnd]);
      brokerCpu = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1e6 / o.seconds;
    }
    return { ...result, brokerCpu };
  } finally {
    const code = await child.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
    if (code !== 0) throw new Error(`broker child exited with code ${String(code)}`);
  }
}

interface ProfiledRun {
  scenario: Scenario;
  run: ScenarioRun;
  summary: ProfileSummary;
}

async function profileBroker(scenario: Scenario, batch: Awaited<ReturnType<typeof buildBenchBatch>>, o: Options): Promise<ProfiledRun> {
  const dir = await mkdtemp(join(tmpdir(), 'fjord-bench-prof-'));
  try {
    const run = await runScenario(scenario, batch, o, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('the broker child wrote no .cpuprofile');
    return { scenario, run, summary: await summarizeProfile(join(dir, file), 15) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  log(`fjord bench: ${o.runs} run(s) of ${o.seconds} s per case (+${o.warmupSeconds} s warm-up for produce)`);

  // 1. Loopback ceiling.
  const loop16k: LoopbackResult[] = [];
  const loop1m: LoopbackResult[] = [];
  const sink = await LoopbackSink.start();
  try {
    for (let r = 0; r < o.runs; r++) {
      loop16k.push(await sink.measure(16 * 1024, o.seconds));
      log(`loopback 16 KiB run ${r + 1}: ${fmt(loop16k.at(-1)!.bytesPerSecond / MB)} MB/s`);
      loop1m.push(await sink.measure(1024 * 1024, o.seconds));
      log(`loopback 1 MiB run ${r + 1}: ${fmt(loop1m.at(-1)!.bytesPerSecond / MB)} MB/s`);
    }
  } finally {
    await sink.stop();
  }
  const ceiling = median(loop16k.map((l) => l.bytesPerSecond));

  // 2-3. Produce load, runs interleaved across scenarios so that noise spreads evenly.
  const batch = await buildBenchBatch(BATCH_MAX_BYTES, RECORD_VALUE_BYTES);
  const results = SCENARIOS.map(() => [] as ScenarioRun[]);
  for (let r = 0; r < o.runs; r++) {
    for (const [i, s] of SCENARIOS.entries()) {
      const res = await runScenario(s, batch, o);
      results[i]!.push(res);
      log(`produce ${s.label} acks=${s.acks} run ${r + 1}: ${fmt(res.bytesPerSecond / MB)} MB/s, p99 ${fmt(res.p99Ms, 2)} ms, broker ${fmt(res.brokerCpu, 2)} cores`);
    }
  }

  // Profiles of the acks=1 cases, in separate runs: the profiler slows the broker down.
  const profiles: ProfiledRun[] = [];
  if (o.profile) {
    for (const s of SCENARIOS.filter((x) => x.acks === 1)) {
      const p = await profileBroker(s, batch, o);
      profiles.push(p);
      log(`profiled ${s.label} acks=${s.acks}: ${fmt(p.run.bytesPerSecond / MB)} MB/s`);
    }
  }

  // 4. Start-up, in this process, after the children are gone.
  const startup: StartupResult[] = [];
  for (const storage of ['memory', 'disk'] as const) {
    startup.push(await measureStartup(storage, STARTUP_ITERATIONS));
    log(`startup ${storage}: median ${fmt(median(startup.at(-1)!.ms), 2)} ms`);
  }

  // 5. Report.
  const out: string[] = [];
  out.push(`## Fjord benchmark (${startedAt.toISOString()})`);
  out.push('');
  out.push(
    `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}; ${o.runs} run(s) of ${o.seconds} s per case; ` +
      'cells are median (min–max) over runs. MB = 10^6 bytes.',
  );
  out.push('');
  out.push('### Loopback TCP ceiling (one connection, sink in a child process)');
  out.push('');
  out.push(markdownTable(['write size', 'MB/s'], [
    ['16 KiB', spread(loop16k.map((l) => l.bytesPerSecond / MB))],
    ['1 MiB', spread(loop1m.map((l) => l.bytesPerSecond / MB))],
  ]));
  out.push('');
  out.push(
    `### Produce v7, one connection, ${INFLIGHT} requests in flight, ${batch.batch.length}-byte batch of ${batch.records} x ${RECORD_VALUE_BYTES}-byte records ` +
      `(${results[0]![0]?.frameBytes ?? '?'}-byte frame), broker in a child process`,
  );
  out.push('');
  const rows = SCENARIOS.map((s, i) => {
    const rs = results[i]!;
    const mbps = rs.map((x) => x.bytesPerSecond / MB);
    const ratio = median(rs.map((x) => x.bytesPerSecond)) / ceiling;
    return [
      s.label,
      String(s.acks),
      spread(mbps),
      spread(rs.map((x) => x.recordsPerSecond), 0),
      spread(rs.map((x) => x.requestsPerSecond), 0),
      spread(rs.map((x) => x.p50Ms), 2),
      spread(rs.map((x) => x.p99Ms), 2),
      `${fmt(ratio, 2)}x`,
      s.acks === 1 ? (ratio >= TARGET_RATIO ? 'met' : 'missed') : '-',
      fmt(median(rs.map((x) => x.brokerCpu)), 2),
      fmt(median(rs.map((x) => x.clientCpu)), 2),
    ];
  });
  out.push(markdownTable(
    ['broker', 'acks', 'MB/s', 'records/s', 'requests/s', 'p50 ms', 'p99 ms', 'x 16 KiB loopback', `>= ${TARGET_RATIO}x`, 'broker CPU (cores)', 'client CPU (cores)'],
    rows,
  ));
  out.push('');
  out.push('MB/s counts whole request frames (size prefix + header + body), the bytes the loopback ceiling counts.');
  out.push('');
  out.push(`### In-process start-up (\`await startBroker()\` to listening, then close; ${STARTUP_ITERATIONS} iterations)`);
  out.push('');
  out.push(markdownTable(
    ['storage', 'median ms', 'min ms', 'max ms'],
    startup.map((s) => [s.storage, fmt(median(s.ms), 2), fmt(Math.min(...s.ms), 2), fmt(Math.max(...s.ms), 2)]),
  ));
  for (const p of profiles) {
    out.push('');
    out.push(
      `### Broker CPU profile: ${p.scenario.label}, acks=${p.scenario.acks} (node --cpu-prof on the broker child; ${fmt(p.run.bytesPerSecond / MB)} MB/s ` +
        `under the profiler; main thread busy ${fmt(p.summary.busyPercent)}% of ${fmt(p.summary.totalMs / 1000, 1)} s incl. start-up)`,
    );
    out.push('');
    out.push(markdownTable(
      ['self %', 'self ms', 'function', 'location', 'main caller'],
      p.summary.top.map((t) => [
        fmt(t.percent),
        fmt(t.ms, 0),
        `\`${t.name}\``,
        t.location === '' ? '' : `\`${t.location}\``,
        t.mainCaller === '' ? '' : `\`${t.mainCaller}\``,
      ]),
    ));
  }
  process.stdout.write(`${out.join('\n')}\n`);

  if (o.json !== undefined) {
    await writeFile(o.json, JSON.stringify({ startedAt, options: o, batch: { bytes: batch.batch.length, records: batch.records }, loop16k, loop1m, scenarios: SCENARIOS, results, startup, profiles }, null, 2));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
