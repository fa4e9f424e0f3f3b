/**
 * `fetch`: consume throughput. A fresh broker child per engine and run gets a one-partition topic
 * prefilled with pre-encoded 16 KiB batches (acks=1); on disk the data is then in the page cache. Then
 * one consumer connection reads it from offset 0 to the end and again, with 4 MiB Fetch v11 responses,
 * 1 and 2 fetches in flight (see fetch-load.ts). MB/s counts whole response frames.
 */
import { DEFAULT_MEMORY_PARTITION_MAX_BYTES } from '../../src/storage/memory/memory-partition-log.js';
import { BrokerCpu, ENGINES, withBroker, type Engine } from './broker-child.js';
import { ensureTopic, produceRequests } from './produce-load.js';
import { runFetchLoad, type FetchLoadResult } from './fetch-load.js';
import { benchBatch, KiB, MiB, TOPIC } from './produce-scenarios.js';
import type { ProfileSummary } from './cpu-profile.js';
import { profileMarkdown } from './profile-report.js';
import { fmt, markdownTable, median, spread, MB } from './stats.js';
import type { BenchCase, BenchContext, Target } from './suite.js';

/** Target (issue 7): share of the 1 MiB loopback limit, 1 fetch in flight, per engine. */
const TARGET_OF_LOOPBACK_1M = 0.5;
/** max_bytes and partition_max_bytes: responses of ~4 MiB. */
const FETCH_MAX_BYTES = 4 * MiB;
const PREFILL_BATCH_BYTES = 16 * KiB;
const PREFILL_INFLIGHT = 64;
/** The disk prefill; the memory engine keeps at most DEFAULT_MEMORY_PARTITION_MAX_BYTES per partition, so it gets 3/4 of that. */
const PREFILL_DISK_BYTES = 256 * MiB;
const PREFILL_MEMORY_BYTES = Math.min(PREFILL_DISK_BYTES, Math.floor((DEFAULT_MEMORY_PARTITION_MAX_BYTES * 3) / 4));
const PREFILL_SMOKE_BYTES = 8 * MiB;
const INFLIGHTS = [1, 2] as const;

interface FetchRun extends FetchLoadResult {
  brokerCpu: number;
}

interface EngineRuns {
  engine: Engine;
  prefillBytes: number;
  prefillRecords: number;
  byInflight: Map<number, FetchRun[]>;
  profile?: { run: FetchRun; summary: ProfileSummary };
}

function prefillBytes(ctx: BenchContext, engine: Engine): number {
  if (ctx.options.smoke) return PREFILL_SMOKE_BYTES;
  return engine === 'disk' ? PREFILL_DISK_BYTES : PREFILL_MEMORY_BYTES;
}

/** One broker: prefill, then one window per in-flight variant (or only the first, when profiling). */
async function runEngine(ctx: BenchContext, engine: Engine, inflights: ReadonlyArray<1 | 2>, profile: boolean): Promise<{ runs: FetchRun[]; profile: ProfileSummary | undefined; requests: number; records: number }> {
  const batch = await benchBatch(PREFILL_BATCH_BYTES);
  const requests = Math.ceil(prefillBytes(ctx, engine) / batch.batch.length);
  const { result, profile: summary } = await withBroker(engine, profile, async (broker) => {
    await ensureTopic(broker.port, TOPIC);
    const t0 = performance.now();
    await produceRequests(broker.port, TOPIC, batch, requests, PREFILL_INFLIGHT);
    ctx.log(`fetch ${engine}: prefilled ${fmt((requests * batch.batch.length) / MB)} MB in ${fmt((performance.now() - t0) / 1000, 2)} s`);
    const runs: FetchRun[] = [];
    for (const inflight of inflights) {
      const cpu = new BrokerCpu(broker);
      const load = await runFetchLoad({
        port: broker.port,
        topic: TOPIC,
        inflight,
        maxBytes: FETCH_MAX_BYTES,
        batchBytes: batch.batch.length,
        recordsPerBatch: batch.records,
        warmupSeconds: ctx.options.warmupSeconds,
        seconds: ctx.options.seconds,
        onWindowStart: cpu.onWindowStart,
        onWindowEnd: cpu.onWindowEnd,
      }).catch((err: unknown) => {
        if (err instanceof Error) err.message = `${engine}, ${inflight} in flight: ${err.message}`;
        throw err;
      });
      runs.push({ ...load, brokerCpu: await cpu.cores(ctx.options.seconds) });
    }
    return runs;
  });
  return { runs: result, profile: summary, requests, records: requests * batch.records };
}

export const fetchCase: BenchCase = {
  name: 'fetch',
  description: 'consume MB/s and records/s: 4 MiB Fetch v11 over a prefilled partition, memory and disk, 1 and 2 in flight',
  needsLimits: true,
  async run(ctx) {
    const batch = await benchBatch(PREFILL_BATCH_BYTES);
    const all: EngineRuns[] = ENGINES.map((engine) => ({ engine, prefillBytes: 0, prefillRecords: 0, byInflight: new Map(INFLIGHTS.map((i) => [i, [] as FetchRun[]])) }));
    for (let r = 0; r < ctx.options.runs; r++) {
      for (const e of all) {
        const { runs, requests, records } = await runEngine(ctx, e.engine, INFLIGHTS, false);
        e.prefillBytes = requests * batch.batch.length;
        e.prefillRecords = records;
        for (const run of runs) {
          e.byInflight.get(run.inflight)!.push(run);
          ctx.log(`fetch ${e.engine} ${run.inflight} in flight run ${r + 1}: ${fmt(run.bytesPerSecond / MB)} MB/s, ${fmt(run.recordsPerSecond, 0)} records/s, broker ${fmt(run.brokerCpu, 2)} cores`);
        }
      }
    }
    if (ctx.options.profile) {
      for (const e of all) {
        const { runs, profile } = await runEngine(ctx, e.engine, [1], true);
        if (profile !== undefined && runs[0] !== undefined) e.profile = { run: runs[0], summary: profile };
      }
    }

    const loop1m = ctx.limits.loopback1m;
    const targets: Target[] = [];
    const rows: string[][] = [];
    for (const e of all) {
      for (const [inflight, rs] of e.byInflight) {
        const mbps = median(rs.map((x) => x.bytesPerSecond));
        if (inflight === 1) targets.push({ name: `fetch ${e.engine} 1 in flight / loopback 1 MiB`, measured: mbps / loop1m, comparison: '>=', threshold: TARGET_OF_LOOPBACK_1M, unit: 'x' });
        rows.push([
          e.engine,
          String(inflight),
          spread(rs.map((x) => x.bytesPerSecond / MB)),
          spread(rs.map((x) => x.recordsPerSecond), 0),
          spread(rs.map((x) => x.responsesPerSecond), 0),
          fmt(median(rs.map((x) => x.meanResponseBytes)) / MB, 2),
          spread(rs.map((x) => x.p50Ms), 2),
          spread(rs.map((x) => x.p99Ms), 2),
          `${fmt(mbps / loop1m, 2)}×`,
          fmt(median(rs.map((x) => x.brokerCpu)), 2),
          fmt(median(rs.map((x) => x.clientCpu)), 2),
        ]);
      }
    }
    const prefill = all.map((e) => `${e.engine} ${fmt(e.prefillBytes / MB)} MB (${e.prefillRecords.toLocaleString('en-US')} records)`).join(', ');
    const markdown = [
      '### Fetch (one consumer connection, Fetch v11, max_bytes = partition_max_bytes = 4 MiB)',
      '',
      `Prefill: ${batch.batch.length}-byte batches of ${batch.records} × 100-byte records, ${prefill}; read from offset 0 to the end, then again. ` +
        '"1 in flight": the next fetch leaves after the response was walked; "2": as soon as its head arrived. ' +
        'MB/s counts whole response frames (size prefix + header + body); latency is request sent → whole response received. The target row uses 1 in flight.',
      '',
      markdownTable(['engine', 'in flight', 'MB/s', 'records/s', 'responses/s', 'MB per response', 'p50 ms', 'p99 ms', 'of loopback 1 MiB', 'broker CPU', 'client CPU'], rows),
      ...all.filter((e) => e.profile !== undefined).flatMap((e) => ['', profileMarkdown(`fetch ${e.engine}, 1 in flight, ${fmt(e.profile!.run.bytesPerSecond / MB)} MB/s under the profiler; the profile includes the prefill`, e.profile!.summary)]),
    ].join('\n');
    const json = all.map((e) => ({ engine: e.engine, prefillBytes: e.prefillBytes, prefillRecords: e.prefillRecords, runs: Object.fromEntries(e.byInflight), profile: e.profile }));
    return { markdown, json, targets };
  },
};
