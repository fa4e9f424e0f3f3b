/**
 * `produce`: broker produce throughput with acks=1, memory and disk engines, pre-encoded Produce v7
 * requests on one connection from this process against a broker child (each gets a core). Shapes:
 * 16 KiB batches of 100-byte records with 5 and 64 requests in flight, and ~1 MiB batches with 4 in
 * flight. MB/s counts whole request frames, the bytes the loopback limit counts.
 */
import { ENGINES, type Engine } from './broker-child.js';
import { describe, runScenarios, scenarioJson, scenarioProfiles, scenarioTable, SHAPE_16K_5, SHAPE_16K_64, SHAPE_1M_4, type Scenario } from './produce-scenarios.js';
import type { BenchCase, CaseReport, Target } from './suite.js';

/** Targets (issue 7): shares of the loopback limit of the same write size. */
const TARGET_16K_64_OF_LOOPBACK_16K = 0.5;
const TARGET_1M_OF_LOOPBACK_1M = 0.2;

const SCENARIOS: readonly Scenario[] = ENGINES.flatMap((engine) => [
  { engine, acks: 1, shape: SHAPE_16K_5, profile: false },
  { engine, acks: 1, shape: SHAPE_16K_64, profile: true },
  { engine, acks: 1, shape: SHAPE_1M_4, profile: false },
]);

interface ProduceCaseJson {
  scenarios: Array<{ engine: Engine; acks: number; shape: { label: string }; requestsPerSecond: number }>;
}

/**
 * The median requests/s of 16 KiB × 64 in flight for an engine, from an earlier `produce` report of
 * this run (the latency case paces itself at half of it); undefined when produce did not run.
 */
export function produceRequestRate(report: CaseReport | undefined, engine: Engine): number | undefined {
  const json = report?.json as ProduceCaseJson | undefined;
  const s = json?.scenarios?.find((x) => x.engine === engine && x.acks === 1 && x.shape.label === SHAPE_16K_64.label);
  return s !== undefined && Number.isFinite(s.requestsPerSecond) && s.requestsPerSecond > 0 ? s.requestsPerSecond : undefined;
}

export const produceCase: BenchCase = {
  name: 'produce',
  description: 'acks=1 produce MB/s, records/s, latency: memory and disk, 16 KiB × 5 and × 64 in flight, 1 MiB × 4',
  needsLimits: true,
  async run(ctx) {
    const results = await runScenarios(ctx, SCENARIOS);
    const { loopback16k, loopback1m } = ctx.limits;
    const limitOf = (s: Scenario): { name: string; bytesPerSecond: number } =>
      s.shape.batchMaxBytes > SHAPE_16K_64.batchMaxBytes ? { name: 'loopback 1 MiB', bytesPerSecond: loopback1m } : { name: 'loopback 16 KiB', bytesPerSecond: loopback16k };
    const targets: Target[] = [];
    for (const res of results) {
      const s = res.scenario;
      if (s.shape === SHAPE_16K_64) {
        targets.push({ name: `produce ${describe(s)} / loopback 16 KiB`, measured: res.bytesPerSecond / loopback16k, comparison: '>=', threshold: TARGET_16K_64_OF_LOOPBACK_16K, unit: 'x' });
      } else if (s.shape === SHAPE_1M_4) {
        targets.push({ name: `produce ${describe(s)} / loopback 1 MiB`, measured: res.bytesPerSecond / loopback1m, comparison: '>=', threshold: TARGET_1M_OF_LOOPBACK_1M, unit: 'x' });
      }
    }
    const markdown = [
      '### Produce, acks=1 (one connection, pre-encoded Produce v7, broker in a child process)',
      '',
      `Each request carries one batch of 100-byte records; "1 MiB × 4" means ~1 MiB batches with 4 requests in flight. ` +
        `MB/s counts whole request frames (size prefix + header + body). Cells: median (min–max) over ${ctx.options.runs} run(s) ` +
        `of ${ctx.options.seconds} s after ${ctx.options.warmupSeconds} s of warm-up. CPU in cores.`,
      '',
      scenarioTable(results, limitOf),
      ...(ctx.options.profile ? ['', scenarioProfiles(results)] : []),
    ].join('\n');
    return { markdown, json: { scenarios: scenarioJson(results) }, targets };
  },
};
