/**
 * `durable`: disk engine, acks=-1: each produce is answered only after an fdatasync covering it, and
 * concurrent produces share one sync (group commit). 16 KiB × 64 in flight, 1 MiB × 4 and 1 MiB × 16;
 * the best is compared with the machine's fdatasync-every-MiB append limit. Group commit needs bytes in
 * flight: a client with 1 MiB or less outstanding waits for each sync before it can send the next
 * requests, so the disk idles while they travel; with 16 MiB outstanding the next sync's requests
 * arrive while one runs.
 */
import { describe, runScenarios, scenarioJson, scenarioProfiles, scenarioTable, SHAPE_16K_64, SHAPE_1M_16, SHAPE_1M_4, type Scenario } from './produce-scenarios.js';
import type { BenchCase } from './suite.js';

/** Target (issue 7): share of the fdatasync-every-MiB append limit. */
const TARGET_OF_FSYNC_LIMIT = 0.7;

const SCENARIOS: readonly Scenario[] = [
  { engine: 'disk', acks: -1, shape: SHAPE_16K_64, profile: true },
  { engine: 'disk', acks: -1, shape: SHAPE_1M_4, profile: false },
  { engine: 'disk', acks: -1, shape: SHAPE_1M_16, profile: false },
];

export const durableCase: BenchCase = {
  name: 'durable',
  description: 'disk acks=-1 (fsync before ack, group commit): 16 KiB × 64, 1 MiB × 4 and 1 MiB × 16 in flight, against the fsync limit',
  needsLimits: true,
  async run(ctx) {
    const results = await runScenarios(ctx, SCENARIOS);
    const limit = ctx.limits.fsyncPerMiB;
    const best = results.reduce((a, b) => (b.bytesPerSecond > a.bytesPerSecond ? b : a));
    const markdown = [
      '### Durable produce, disk, acks=-1 (fdatasync before the answer, shared by concurrent produces)',
      '',
      'As `produce`, but every answer waits for an fdatasync covering its batch. The target row takes the better shape.',
      '',
      scenarioTable(results, () => ({ name: 'fsync limit', bytesPerSecond: limit })),
      ...(ctx.options.profile ? ['', scenarioProfiles(results)] : []),
    ].join('\n');
    return {
      markdown,
      json: { scenarios: scenarioJson(results) },
      targets: [{ name: `durable best (${describe(best.scenario)}) / fsync every MiB`, measured: best.bytesPerSecond / limit, comparison: '>=', threshold: TARGET_OF_FSYNC_LIMIT, unit: 'x' }],
    };
  },
};
