/**
 * `latency`: produce and end-to-end latency at half the broker's throughput, memory and disk, acks=1,
 * 16 KiB batches (see latency-load.ts for how it is paced and measured). The rate is half the median
 * requests/s of `produce` 16 KiB × 64 in flight from this run, or, when produce did not run, of a
 * short calibration run of that shape. Samples of all runs are pooled.
 */
import { BrokerCpu, ENGINES, withBroker, type Engine } from './broker-child.js';
import { ensureTopic } from './produce-load.js';
import { runLatencyLoad, type LatencyLoadResult } from './latency-load.js';
import { produceRequestRate } from './produce-case.js';
import { benchBatch, runScenario, SHAPE_16K_64, TOPIC } from './produce-scenarios.js';
import { fmt, markdownTable, median, percentile, MB } from './stats.js';
import { profileMarkdown } from './profile-report.js';
import type { ProfileSummary } from './cpu-profile.js';
import type { BenchCase, BenchContext, Target } from './suite.js';

/** Targets (issue 7), per engine. */
const TARGET_PRODUCE_P99_MS = 2;
const TARGET_E2E_P99_MS = 5;
const TARGET_E2E_P999_MS = 15;
/** The load (targets apply here), and a light one that shows the broker's own latency. */
const LOAD_SHARES = [0.5, 0.1] as const;
const TARGET_LOAD_SHARE = 0.5;
/** The calibration window when `produce` did not run in this invocation (smoke: the smoke window). */
const CALIBRATION_SECONDS = 2;
const BUCKETS_MS = [0.5, 1, 2, 5, 10, 15, 50] as const;
const PERCENTILES = [50, 90, 99, 99.9] as const;

interface EngineResult {
  engine: Engine;
  /** Share of the produce throughput offered. */
  share: number;
  rateSource: 'produce' | 'calibration';
  requestsPerSecond: number;
  runs: Array<Omit<LatencyLoadResult, 'produceMs' | 'e2eMs' | 'sendLagMs'> & { brokerCpu: number; produce: Summary; e2e: Summary; sendLag: Summary }>;
  produce: Summary;
  e2e: Summary;
  sendLag: Summary;
  produceBuckets: number[];
  e2eBuckets: number[];
}

interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

function summarize(v: ArrayLike<number>): Summary {
  let max = v.length === 0 ? Number.NaN : Number.NEGATIVE_INFINITY;
  for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]!);
  const [p50, p90, p99, p999] = PERCENTILES.map((p) => percentile(v, p)) as [number, number, number, number];
  return { count: v.length, p50, p90, p99, p999, max };
}

/** Counts per bucket: < each bound, then ≥ the last. */
function buckets(v: ArrayLike<number>): number[] {
  const counts: number[] = new Array<number>(BUCKETS_MS.length + 1).fill(0);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    let b = BUCKETS_MS.findIndex((bound) => x < bound);
    if (b < 0) b = BUCKETS_MS.length;
    counts[b]!++;
  }
  return counts;
}

function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function rateFor(ctx: BenchContext, engine: Engine): Promise<{ rate: number; source: 'produce' | 'calibration' }> {
  const earlier = produceRequestRate(ctx.earlier.get('produce'), engine);
  if (earlier !== undefined) return { rate: earlier, source: 'produce' };
  const seconds = ctx.options.smoke ? ctx.options.seconds : CALIBRATION_SECONDS;
  const { run } = await runScenario({ ...ctx, options: { ...ctx.options, seconds } }, { engine, acks: 1, shape: SHAPE_16K_64, profile: false }, false);
  ctx.log(`latency ${engine}: calibration ${fmt(run.requestsPerSecond, 0)} requests/s (16 KiB × 64 in flight, ${seconds} s)`);
  return { rate: run.requestsPerSecond, source: 'calibration' };
}

export const latencyCase: BenchCase = {
  name: 'latency',
  description: 'produce and end-to-end latency percentiles at half (targets) and a tenth of the produce throughput, open-loop, tail consumer',
  needsLimits: true,
  async run(ctx) {
    const batch = await benchBatch(SHAPE_16K_64.batchMaxBytes);
    const results: EngineResult[] = [];
    const profiles: string[] = [];
    for (const engine of ENGINES) {
      const full = await rateFor(ctx, engine);
      for (const share of LOAD_SHARES) {
        const rate = full.rate * share;
        const source = full.source;
        const raw: Array<{ r: LatencyLoadResult; brokerCpu: number }> = [];
        for (let i = 0; i < ctx.options.runs; i++) {
          const { result } = await withBroker(engine, false, async (broker) => {
            await ensureTopic(broker.port, TOPIC);
            const cpu = new BrokerCpu(broker);
            const r = await runLatencyLoad({ port: broker.port, topic: TOPIC, batch, requestsPerSecond: rate, warmupSeconds: ctx.options.warmupSeconds, seconds: ctx.options.seconds, onWindowStart: cpu.onWindowStart, onWindowEnd: cpu.onWindowEnd });
            return { r, brokerCpu: await cpu.cores(ctx.options.seconds) };
          });
          raw.push(result);
          ctx.log(`latency ${engine} ${share} run ${i + 1} at ${fmt(rate, 0)} requests/s: produce p99 ${fmt(percentile(result.r.produceMs, 99), 2)} ms, e2e p99 ${fmt(percentile(result.r.e2eMs, 99), 2)} ms`);
        }
        if (ctx.options.profile && share === TARGET_LOAD_SHARE) {
          // One extra run under the profiler (it slows the broker): where the time goes at this load.
          const { result, profile } = await withBroker(engine, true, async (broker) => {
            await ensureTopic(broker.port, TOPIC);
            return runLatencyLoad({ port: broker.port, topic: TOPIC, batch, requestsPerSecond: rate, warmupSeconds: ctx.options.warmupSeconds, seconds: ctx.options.seconds });
          });
          profiles.push(profileMarkdown(`latency ${engine} at ${fmt(share * 100, 0)}% load (${fmt(rate, 0)} requests/s; under the profiler produce p99 ${fmt(percentile(result.produceMs, 99), 2)} ms)`, profile as ProfileSummary));
        }
        const produce = concat(raw.map((x) => x.r.produceMs));
        const e2e = concat(raw.map((x) => x.r.e2eMs));
        results.push({
          engine,
          share,
          rateSource: source,
          requestsPerSecond: rate,
          runs: raw.map(({ r, brokerCpu }) => ({ requestsPerSecond: r.requestsPerSecond, windowRequests: r.windowRequests, clientCpu: r.clientCpu, brokerCpu, produce: summarize(r.produceMs), e2e: summarize(r.e2eMs), sendLag: summarize(r.sendLagMs) })),
          produce: summarize(produce),
          e2e: summarize(e2e),
          sendLag: summarize(concat(raw.map((x) => x.r.sendLagMs))),
          produceBuckets: buckets(produce),
          e2eBuckets: buckets(e2e),
        });
      }
    }

    const targets: Target[] = results.filter((r) => r.share === TARGET_LOAD_SHARE).flatMap((r) => [
      { name: `latency ${r.engine} produce p99`, measured: r.produce.p99, comparison: '<=' as const, threshold: TARGET_PRODUCE_P99_MS, unit: 'ms' },
      { name: `latency ${r.engine} end-to-end p99`, measured: r.e2e.p99, comparison: '<=' as const, threshold: TARGET_E2E_P99_MS, unit: 'ms' },
      { name: `latency ${r.engine} end-to-end p99.9`, measured: r.e2e.p999, comparison: '<=' as const, threshold: TARGET_E2E_P999_MS, unit: 'ms' },
    ]);
    const ms = (v: number): string => fmt(v, 2);
    const percentileRows = results.flatMap((r) =>
      (
        [
          ['produce', r.produce],
          ['end-to-end', r.e2e],
          ['producer send lag', r.sendLag],
        ] as const
      ).map(([what, s]) => [r.engine, `${fmt(r.share * 100, 0)}%`, what, s.count.toLocaleString('en-US'), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.p999), ms(s.max)]),
    );
    const bucketHeader = [...BUCKETS_MS.map((b) => `< ${b}`), `≥ ${BUCKETS_MS.at(-1)!}`];
    const bucketRows = results.flatMap((r) =>
      (
        [
          ['produce', r.produceBuckets, r.produce.count],
          ['end-to-end', r.e2eBuckets, r.e2e.count],
        ] as const
      ).map(([what, counts, n]) => [r.engine, `${fmt(r.share * 100, 0)}%`, what, ...counts.map((c) => `${c.toLocaleString('en-US')} (${fmt((100 * c) / Math.max(1, n), 1)}%)`)]),
    );
    const rates = results
      .map((r) => `${r.engine} at ${fmt(r.share * 100, 0)}%: ${fmt(r.requestsPerSecond, 0)} requests/s = ${fmt((r.requestsPerSecond * batch.batch.length) / MB)} MB/s (of ${r.rateSource === 'produce' ? "this run's produce 16 KiB × 64 median" : 'a calibration run of produce 16 KiB × 64'}), broker ${fmt(median(r.runs.map((x) => x.brokerCpu)), 2)} cores, client ${fmt(median(r.runs.map((x) => x.clientCpu)), 2)} cores`)
      .join('; ');
    const markdown = [
      '### Latency at half (the target) and a tenth of the produce throughput (acks=1, open-loop producer + long-polling tail consumer)',
      '',
      `One ${batch.batch.length}-byte batch of ${batch.records} records per request, paced by intended send time; rates: ${rates}. ` +
        'Produce: request written → response. End-to-end: intended send time → the consumer received the batch (Fetch v11, max_wait_ms 500, min_bytes 1). ' +
        `Producer send lag: actual − intended send time (the load generator's own lateness). Samples of ${ctx.options.runs} run(s) of ${ctx.options.seconds} s pooled; ms.`,
      '',
      markdownTable(['engine', 'load', 'latency', 'samples', 'p50', 'p90', 'p99', 'p99.9', 'max'], percentileRows),
      '',
      markdownTable(['engine', 'load', 'latency', ...bucketHeader.map((h) => `${h} ms`)], bucketRows),
      ...(profiles.length > 0 ? ['', profiles.join('\n\n')] : []),
    ].join('\n');
    return { markdown, json: { buckets: BUCKETS_MS, engines: results }, targets };
  },
};
