/**
 * Produce throughput scenarios shared by the `produce` (acks=1) and `durable` (acks=-1) cases: an
 * engine, acks, a request shape (batch size, requests in flight). Each run gets a fresh broker child
 * and, for disk, a fresh data dir; runs are interleaved across scenarios so that noise spreads evenly.
 */
import { BrokerCpu, withBroker, type Engine } from './broker-child.js';
import { buildBenchBatch, ensureTopic, runProduceLoad, type BenchBatch, type ProduceLoadResult } from './produce-load.js';
import type { ProfileSummary } from './cpu-profile.js';
import type { BenchContext } from './suite.js';
import { fmt, markdownTable, median, spread, MB } from './stats.js';
import { profileMarkdown } from './profile-report.js';

export const TOPIC = 'bench';
export const RECORD_VALUE_BYTES = 100;
export const KiB = 1024;
export const MiB = 1024 * 1024;

export interface Shape {
  /** e.g. "16 KiB × 64". */
  readonly label: string;
  readonly batchMaxBytes: number;
  readonly inflight: number;
}

export const SHAPE_16K_5: Shape = { label: '16 KiB × 5', batchMaxBytes: 16 * KiB, inflight: 5 };
export const SHAPE_16K_64: Shape = { label: '16 KiB × 64', batchMaxBytes: 16 * KiB, inflight: 64 };
/** One ~1 MiB batch per request; 4 in flight keep the pipe full without queueing 64 MiB in the broker. */
export const SHAPE_1M_4: Shape = { label: '1 MiB × 4', batchMaxBytes: MiB, inflight: 4 };
/** Durable produce: enough bytes in flight that requests keep arriving while a sync runs. */
export const SHAPE_1M_16: Shape = { label: '1 MiB × 16', batchMaxBytes: MiB, inflight: 16 };

export interface Scenario {
  readonly engine: Engine;
  readonly acks: number;
  readonly shape: Shape;
  /** With --profile, one extra profiled run of this scenario. */
  readonly profile: boolean;
}

export interface ScenarioRun extends ProduceLoadResult {
  /** The broker child's CPU use inside the window, in cores. */
  brokerCpu: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  runs: ScenarioRun[];
  /** Medians over runs. */
  bytesPerSecond: number;
  requestsPerSecond: number;
  profile?: { run: ScenarioRun; summary: ProfileSummary };
}

const batches = new Map<number, Promise<BenchBatch>>();

/** The pre-encoded batch of 100-byte records for a size, built once per process. */
export function benchBatch(maxBytes: number): Promise<BenchBatch> {
  let b = batches.get(maxBytes);
  if (b === undefined) {
    b = buildBenchBatch(maxBytes, RECORD_VALUE_BYTES);
    batches.set(maxBytes, b);
  }
  return b;
}

export async function runScenario(ctx: BenchContext, s: Scenario, profile: boolean): Promise<{ run: ScenarioRun; profile: ProfileSummary | undefined }> {
  const batch = await benchBatch(s.shape.batchMaxBytes);
  const o = ctx.options;
  const { result, profile: summary } = await withBroker(s.engine, profile, async (broker) => {
    await ensureTopic(broker.port, TOPIC);
    const cpu = new BrokerCpu(broker);
    const load = await runProduceLoad({
      port: broker.port,
      topic: TOPIC,
      acks: s.acks,
      batch,
      inflight: s.shape.inflight,
      warmupSeconds: o.warmupSeconds,
      seconds: o.seconds,
      onWindowStart: cpu.onWindowStart,
      onWindowEnd: cpu.onWindowEnd,
    });
    return { ...load, brokerCpu: await cpu.cores(o.seconds) };
  });
  return { run: result, profile: summary };
}

export function describe(s: Scenario): string {
  return `${s.engine} acks=${s.acks} ${s.shape.label}`;
}

export async function runScenarios(ctx: BenchContext, scenarios: readonly Scenario[]): Promise<ScenarioResult[]> {
  const runs = scenarios.map(() => [] as ScenarioRun[]);
  for (let r = 0; r < ctx.options.runs; r++) {
    for (const [i, s] of scenarios.entries()) {
      const { run } = await runScenario(ctx, s, false);
      runs[i]!.push(run);
      ctx.log(`${describe(s)} run ${r + 1}: ${fmt(run.bytesPerSecond / MB)} MB/s, p99 ${fmt(run.p99Ms, 2)} ms, broker ${fmt(run.brokerCpu, 2)} cores`);
    }
  }
  const results: ScenarioResult[] = scenarios.map((scenario, i) => ({
    scenario,
    runs: runs[i]!,
    bytesPerSecond: median(runs[i]!.map((x) => x.bytesPerSecond)),
    requestsPerSecond: median(runs[i]!.map((x) => x.requestsPerSecond)),
  }));
  // Profiles in separate runs: the profiler slows the broker down.
  if (ctx.options.profile) {
    for (const res of results.filter((x) => x.scenario.profile)) {
      const { run, profile } = await runScenario(ctx, res.scenario, true);
      if (profile !== undefined) res.profile = { run, summary: profile };
      ctx.log(`${describe(res.scenario)} profiled: ${fmt(run.bytesPerSecond / MB)} MB/s`);
    }
  }
  return results;
}

/** The results table; `limitOf` gives the limit each row is divided by, and its name. */
export function scenarioTable(results: readonly ScenarioResult[], limitOf: (s: Scenario) => { name: string; bytesPerSecond: number }): string {
  const rows = results.map((res) => {
    const rs = res.runs;
    const limit = limitOf(res.scenario);
    return [
      res.scenario.engine,
      String(res.scenario.acks),
      `${res.scenario.shape.label} (${rs[0]?.recordsPerRequest ?? '?'} records, ${rs[0]?.frameBytes ?? '?'} B frame)`,
      spread(rs.map((x) => x.bytesPerSecond / MB)),
      spread(rs.map((x) => x.recordsPerSecond), 0),
      spread(rs.map((x) => x.requestsPerSecond), 0),
      spread(rs.map((x) => x.p50Ms), 2),
      spread(rs.map((x) => x.p99Ms), 2),
      `${fmt(res.bytesPerSecond / limit.bytesPerSecond, 2)}× ${limit.name}`,
      fmt(median(rs.map((x) => x.brokerCpu)), 2),
      fmt(median(rs.map((x) => x.clientCpu)), 2),
    ];
  });
  return markdownTable(
    ['engine', 'acks', 'request × in flight', 'MB/s', 'records/s', 'requests/s', 'p50 ms', 'p99 ms', 'of limit', 'broker CPU', 'client CPU'],
    rows,
  );
}

export function scenarioProfiles(results: readonly ScenarioResult[]): string {
  return results
    .filter((r) => r.profile !== undefined)
    .map((r) => profileMarkdown(`${describe(r.scenario)}, ${fmt(r.profile!.run.bytesPerSecond / MB)} MB/s under the profiler`, r.profile!.summary))
    .join('\n\n');
}

/** What the JSON file keeps of a result (the batch buffers are left out). */
export function scenarioJson(results: readonly ScenarioResult[]): unknown {
  return results.map((r) => ({
    engine: r.scenario.engine,
    acks: r.scenario.acks,
    shape: r.scenario.shape,
    bytesPerSecond: r.bytesPerSecond,
    requestsPerSecond: r.requestsPerSecond,
    runs: r.runs,
    profile: r.profile,
  }));
}
