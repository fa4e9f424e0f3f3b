/**
 * The `scale` case (issue 7, item 7). Every broker runs in a child process (broker-process.ts).
 *
 *  a. Produce spread over 1 → 100 → 10,000 partitions of one topic (smoke: 1 → 10 → 100), disk
 *     engine, acks=1, 16 requests in flight on one connection, requests round-robin over the
 *     partitions, in two request shapes:
 *       - "1 × 16 KiB": one 16 KiB batch (the produce case's batch) per request, one partition each,
 *         so the frame is the produce case's frame and only the partition changes;
 *       - "16 × 1 KiB": one ~1 KiB batch (8 records) for each of 16 consecutive partitions per request
 *         (min(16, N)), what a client with many partitions and little per-partition traffic sends.
 *     MB/s counts whole request frames; broker CPU from process.cpuUsage() in the child.
 *  b. Idle RSS: each of those brokers, after CreateTopics (one request for all partitions; another
 *     connection sends ApiVersions every 100 ms meanwhile, and the longest wait is reported) and one
 *     ~1 KiB batch appended to every partition, rests for a few seconds; its RSS then, and after two
 *     forced GCs (the child runs with --expose-gc). Target: ≤ 500 MB (10^6 bytes) at 10,000, no GC.
 *  c. Idle connections: 1,000 (smoke: 50) TCP connections from a helper child process
 *     (scale-connections.ts), each doing ApiVersions, then idle. Per round: a produce run without
 *     them (16 KiB × 16 in flight, one partition), open them (timed; broker RSS before/after, after
 *     GC), a produce run with them, ApiVersions on every one of them (all must answer and stay open),
 *     close them.
 *  d. Consumer group: 50 (smoke: 5) Fjord consumers in this process, one group, a 100-partition topic,
 *     broker with group.initial.rebalance.delay.ms=0: time until every member holds a non-empty
 *     assignment of one generation and the assignments cover each partition exactly once; then, per
 *     run, the same after the longest-standing member leaves (close → LeaveGroup) and after a new
 *     member joins. Full runs also time the initial join with the broker's default delay (3,000 ms).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConsumer, type Consumer } from '../../src/client/consumer/index.js';
import { JsonChild } from './child.js';
import { BenchFailure, buildBenchBatch, runProduceLoad, type BenchBatch, type ProduceLoadResult } from './produce-load.js';
import { runSpreadLoad, type SpreadLoadResult } from './scale-produce.js';
import { WireClient } from './scale-wire.js';
import { fmt, markdownTable, median, spread, MB } from './stats.js';
import type { BenchCase, BenchContext, CaseReport, Target } from './suite.js';

const INFLIGHT = 16;
const RECORD_VALUE_BYTES = 100;
const IDLE_RSS_TARGET_MB = 500;
const TOPIC = 'scale';

type Cpu = { cpu: { user: number; system: number } };
type Rss = { rss: number; heapUsed: number; external: number; arrayBuffers: number };

/** A broker child on a fresh data directory (removed on stop). */
class BrokerChild {
  private constructor(
    readonly child: JsonChild,
    readonly port: number,
    private readonly dataDir: string,
  ) {}

  static async start(config: Record<string, string> = {}): Promise<BrokerChild> {
    const dataDir = await mkdtemp(join(tmpdir(), 'fjord-bench-scale-'));
    const args = ['--storage', 'disk', '--data-dir', dataDir, ...Object.entries(config).flatMap(([k, v]) => ['--config', `${k}=${v}`])];
    const child = new JsonChild('./broker-process.js', args, ['--expose-gc']);
    try {
      const { port } = await child.next<{ port: number }>();
      return new BrokerChild(child, port, dataDir);
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  rss(): Promise<Rss> {
    return this.child.request<Rss>('rss');
  }

  /** RSS after two full GCs. */
  async settledRss(): Promise<Rss> {
    const { gc } = await this.child.request<{ gc: boolean }>('gc');
    if (!gc) throw new BenchFailure('broker child has no gc() (--expose-gc missing)');
    return this.rss();
  }

  /** Broker CPU in cores over a window, sampled by the load generator's window hooks. */
  cpuProbe(seconds: number): { onWindowStart: () => void; onWindowEnd: () => void; cores: () => Promise<number> } {
    let a: Promise<Cpu> | undefined;
    let b: Promise<Cpu> | undefined;
    return {
      onWindowStart: () => (a = this.child.request<Cpu>('cpu')),
      onWindowEnd: () => (b = this.child.request<Cpu>('cpu')),
      cores: async () => {
        if (a === undefined || b === undefined) return Number.NaN;
        const [x, y] = await Promise.all([a, b]);
        return (y.cpu.user + y.cpu.system - x.cpu.user - x.cpu.system) / 1e6 / seconds;
      },
    };
  }

  async stop(): Promise<void> {
    const code = await this.child.stop(300_000);
    await rm(this.dataDir, { recursive: true, force: true });
    if (code !== 0) {
      const why = await this.child.next().then(() => '', (e: unknown) => (e instanceof Error ? e.message : String(e)));
      throw new BenchFailure(`broker child exited with code ${String(code)} ${why}`);
    }
  }

  /** Run fn, then stop the child; a failure of fn is not masked by one of stop. */
  async use<T>(fn: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
    await this.stop();
    return result;
  }
}

// ---------------------------------------------------------------------------------------------
// a + b: partitions

interface Shape {
  label: string;
  perRequest: number;
  batch: BenchBatch;
}

interface PartitionRun extends SpreadLoadResult {
  brokerCpu: number;
}

interface PartitionResult {
  partitions: number;
  createMs: number;
  /** Longest ApiVersions round trip on another connection while CreateTopics ran. */
  createStallMs: number;
  fillMs: number;
  /** Fresh broker, no topic, after GC. */
  rssEmpty: Rss;
  /** After creation + one batch per partition + rest, without and with a forced GC. */
  rssIdle: Rss;
  rssIdleAfterGc: Rss;
  /** After the load runs, after GC. */
  rssAfterLoad: Rss;
  runs: Record<string, PartitionRun[]>;
}

async function measurePartitions(ctx: BenchContext, n: number, shapes: readonly Shape[], fill: BenchBatch): Promise<PartitionResult> {
  const o = ctx.options;
  const broker = await BrokerChild.start();
  return broker.use(async () => {
    const client = await WireClient.connect(broker.port);
    const rssEmpty = await broker.settledRss();
    // A second connection sends ApiVersions every 100 ms while CreateTopics runs: the longest wait
    // for an answer shows whether the broker kept serving other clients meanwhile.
    const pinger = await WireClient.connect(broker.port);
    const t0 = performance.now();
    let creating = true;
    let stallMs = 0;
    const pings = (async () => {
      while (creating) {
        const p0 = performance.now();
        await pinger.apiVersions();
        stallMs = Math.max(stallMs, performance.now() - p0);
        await sleep(100);
      }
    })();
    try {
      await client.createTopic(TOPIC, n);
    } finally {
      creating = false;
    }
    const t1 = performance.now();
    await pings;
    pinger.close();
    await client.fillPartitions(TOPIC, n, fill.batch, 1);
    const t2 = performance.now();
    client.close();
    ctx.log(`scale: ${n} partitions created in ${fmt(t1 - t0, 0)} ms (longest ApiVersions wait meanwhile ${fmt(stallMs, 0)} ms), one batch each in ${fmt(t2 - t1, 0)} ms`);
    await sleep(o.smoke ? 300 : 3_000);
    const rssIdle = await broker.rss();
    const rssIdleAfterGc = await broker.settledRss();
    ctx.log(`scale: idle RSS at ${n} partitions: ${fmt(rssIdle.rss / MB, 0)} MB (${fmt(rssIdleAfterGc.rss / MB, 0)} MB after GC; empty broker ${fmt(rssEmpty.rss / MB, 0)} MB)`);
    const runs: Record<string, PartitionRun[]> = {};
    for (let r = 0; r < o.runs; r++) {
      for (const s of shapes) {
        const probe = broker.cpuProbe(o.seconds);
        const res = await runSpreadLoad({
          port: broker.port,
          topic: TOPIC,
          partitions: n,
          perRequest: s.perRequest,
          batch: s.batch.batch,
          recordsPerBatch: s.batch.records,
          acks: 1,
          inflight: INFLIGHT,
          warmupSeconds: o.warmupSeconds,
          seconds: o.seconds,
          onWindowStart: probe.onWindowStart,
          onWindowEnd: probe.onWindowEnd,
        });
        const run: PartitionRun = { ...res, brokerCpu: await probe.cores() };
        (runs[s.label] ??= []).push(run);
        ctx.log(`scale: ${n} partitions, ${s.label}, run ${r + 1}: ${fmt(run.bytesPerSecond / MB)} MB/s, ${fmt(run.recordsPerSecond, 0)} records/s, broker ${fmt(run.brokerCpu, 2)} cores`);
      }
    }
    const rssAfterLoad = await broker.settledRss();
    return { partitions: n, createMs: t1 - t0, createStallMs: stallMs, fillMs: t2 - t1, rssEmpty, rssIdle, rssIdleAfterGc, rssAfterLoad, runs };
  });
}

// ---------------------------------------------------------------------------------------------
// c: idle connections

type LoadRun = ProduceLoadResult & { brokerCpu: number };

interface ConnectionsRound {
  openMs: number;
  rssBefore: Rss;
  rssAfter: Rss;
  bytesPerConnection: number;
  /** ApiVersions on every idle connection at once, after the load run. */
  pingMs: number;
  pingMaxMs: number;
  stillOpen: number;
}

interface ConnectionsResult {
  connections: number;
  rounds: ConnectionsRound[];
  without: LoadRun[];
  with: LoadRun[];
}

/**
 * Runs alternate: a load run without the idle connections, then the helper child opens them (RSS
 * before and after, both after GC), a load run with them, ApiVersions on all of them, and the child
 * closes them; so machine noise hits both sides alike.
 */
async function measureConnections(ctx: BenchContext, count: number, batch: BenchBatch): Promise<ConnectionsResult> {
  const o = ctx.options;
  const broker = await BrokerChild.start();
  return broker.use(async () => {
    const topic = 'scale-connections';
    const client = await WireClient.connect(broker.port);
    await client.createTopic(topic, 1);
    client.close();
    const load = async (): Promise<LoadRun> => {
      const probe = broker.cpuProbe(o.seconds);
      const res = await runProduceLoad({ port: broker.port, topic, acks: 1, batch, inflight: INFLIGHT, warmupSeconds: o.warmupSeconds, seconds: o.seconds, onWindowStart: probe.onWindowStart, onWindowEnd: probe.onWindowEnd });
      return { ...res, brokerCpu: await probe.cores() };
    };
    const rest = (): Promise<void> => sleep(o.smoke ? 200 : 1_000);
    const without: LoadRun[] = [];
    const withConns: LoadRun[] = [];
    const rounds: ConnectionsRound[] = [];
    for (let r = 0; r < o.runs; r++) {
      without.push(await load());
      ctx.log(`scale: produce without idle connections, run ${r + 1}: ${fmt(without.at(-1)!.bytesPerSecond / MB)} MB/s`);
      await rest();
      const rssBefore = await broker.settledRss();
      const conns = new JsonChild('./scale-connections.js', ['--port', String(broker.port), '--count', String(count)]);
      try {
        const opened = await conns.next<{ opened: number; ms: number }>();
        if (opened.opened !== count) throw new BenchFailure(`opened ${opened.opened} of ${count} connections`);
        await rest();
        const rssAfter = await broker.settledRss();
        ctx.log(`scale: ${count} connections open (ApiVersions each) in ${fmt(opened.ms, 0)} ms; broker RSS ${fmt(rssBefore.rss / MB, 1)} → ${fmt(rssAfter.rss / MB, 1)} MB`);
        withConns.push(await load());
        ctx.log(`scale: produce with ${count} idle connections, run ${r + 1}: ${fmt(withConns.at(-1)!.bytesPerSecond / MB)} MB/s`);
        const ping = await conns.request<{ answered?: number; ms?: number; maxMs?: number; error?: string }>('ping');
        if (ping.error !== undefined || ping.answered !== count) throw new BenchFailure(`idle connections: ${ping.error ?? `${String(ping.answered)} of ${count} answered`}`);
        const check = await conns.request<{ open?: number; error?: string }>('check');
        if (check.error !== undefined || check.open !== count) throw new BenchFailure(`idle connections: ${check.error ?? `${String(check.open)} of ${count} still open`}`);
        rounds.push({
          openMs: opened.ms,
          rssBefore,
          rssAfter,
          bytesPerConnection: (rssAfter.rss - rssBefore.rss) / count,
          pingMs: ping.ms!,
          pingMaxMs: ping.maxMs!,
          stillOpen: check.open,
        });
      } finally {
        const code = await conns.stop();
        if (code !== 0) throw new BenchFailure(`connections child exited with code ${String(code)}`);
      }
      await rest();
    }
    return { connections: count, rounds, without, with: withConns };
  });
}

// ---------------------------------------------------------------------------------------------
// d: consumer group

type C = Consumer<Buffer | null, Buffer | null>;

/** A group member polling in the background, as an application does. */
class Member {
  private stopped = false;
  private loop: Promise<void> | null = null;
  readonly errors: unknown[] = [];

  constructor(readonly c: C) {}

  start(topic: string): void {
    this.c.subscribe([topic]);
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.c.poll({ timeoutMs: 100 });
        } catch (err) {
          this.errors.push(err);
          await sleep(50);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.c.close();
  }
}

/** Group timings of the members: heartbeats every 500 ms (members learn of a rebalance from one). */
const MEMBER_OPTIONS = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, autoOffsetReset: 'earliest', fetchMaxWaitMs: 500 } as const;

/** Every member holds a non-empty assignment of one generation above `after`; together they cover 0..partitions-1 once. */
function settled(members: readonly Member[], topic: string, partitions: number, after: number): number | null {
  const seen = new Uint8Array(partitions);
  let gen: number | null = null;
  for (const m of members) {
    const g = m.c.groupMetadata().generationId;
    if (g <= after || (gen !== null && g !== gen)) return null;
    gen = g;
    const a = m.c.assignment();
    if (a.length === 0) return null;
    for (const tp of a) {
      if (tp.topic !== topic || tp.partition < 0 || tp.partition >= partitions || seen[tp.partition] === 1) return null;
      seen[tp.partition] = 1;
    }
  }
  return seen.every((x) => x === 1) ? gen : null;
}

async function waitSettled(members: readonly Member[], topic: string, partitions: number, after: number, what: string, timeoutMs: number): Promise<{ ms: number; generation: number }> {
  const t0 = performance.now();
  for (;;) {
    const g = settled(members, topic, partitions, after);
    if (g !== null) return { ms: performance.now() - t0, generation: g };
    if (performance.now() - t0 > timeoutMs) {
      const errors = members.flatMap((m) => m.errors).slice(0, 3).map(String);
      const gens = [...new Set(members.map((m) => m.c.groupMetadata().generationId))];
      throw new BenchFailure(`consumer group: ${what} did not settle within ${timeoutMs} ms (generations ${gens.join(',')}; errors: ${errors.join(' | ') || 'none'})`);
    }
    await sleep(5);
  }
}

interface GroupResult {
  members: number;
  partitions: number;
  initialDelayMs: number;
  joinMs: number;
  leaveMs: number[];
  newMemberMs: number[];
  generations: number[];
}

/** Initial join of `count` members, then `cycles` times: the longest-standing member leaves, a new one joins. */
async function measureGroup(ctx: BenchContext, count: number, partitions: number, initialDelayMs: number | null, cycles: number): Promise<GroupResult> {
  const config: Record<string, string> = initialDelayMs === null ? {} : { 'group.initial.rebalance.delay.ms': String(initialDelayMs) };
  const broker = await BrokerChild.start(config);
  const bootstrapServers = `127.0.0.1:${broker.port}`;
  const members: Member[] = [];
  const make = (groupId: string): Member => new Member(createConsumer({ bootstrapServers, groupId, ...MEMBER_OPTIONS }));
  return broker.use(async () => {
    try {
      const topic = 'scale-group';
      const client = await WireClient.connect(broker.port);
      await client.createTopic(topic, partitions);
      client.close();
      // Warm-up: one member of another group, so __consumer_offsets exists before the clock starts.
      const warm = make('scale-warmup');
      warm.start(topic);
      await waitSettled([warm], topic, partitions, 0, 'warm-up member', 60_000);
      await warm.close();

      const groupId = 'scale-group';
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const m = make(groupId);
        members.push(m);
        m.start(topic);
      }
      const join = await waitSettled(members, topic, partitions, 0, `initial join of ${count}`, 120_000);
      const joinMs = performance.now() - t0;
      ctx.log(`scale: group of ${count} (initial delay ${initialDelayMs ?? 'default'}): joined in ${fmt(joinMs, 0)} ms, generation ${join.generation}`);
      const generations = [join.generation];
      const leaveMs: number[] = [];
      const newMemberMs: number[] = [];
      let gen = join.generation;
      for (let r = 0; r < cycles; r++) {
        const leaver = members.shift()!;
        await leaver.stop();
        const t1 = performance.now();
        await leaver.c.close();
        const left = await waitSettled(members, topic, partitions, gen, 'rebalance after a member left', 120_000);
        leaveMs.push(performance.now() - t1);
        generations.push((gen = left.generation));
        ctx.log(`scale: group: rebalance after one member left: ${fmt(leaveMs.at(-1)!, 0)} ms, generation ${gen}`);

        const t2 = performance.now();
        const joiner = make(groupId);
        members.push(joiner);
        joiner.start(topic);
        const joined = await waitSettled(members, topic, partitions, gen, 'rebalance after a member joined', 120_000);
        newMemberMs.push(performance.now() - t2);
        generations.push((gen = joined.generation));
        ctx.log(`scale: group: rebalance after one member joined: ${fmt(newMemberMs.at(-1)!, 0)} ms, generation ${gen}`);
      }
      return { members: count, partitions, initialDelayMs: initialDelayMs ?? 3000, joinMs, leaveMs, newMemberMs, generations };
    } finally {
      await Promise.all(members.map((m) => m.close().catch((err: unknown) => ctx.log(`scale: closing a member failed: ${String(err)}`))));
    }
  });
}

// ---------------------------------------------------------------------------------------------

async function run(ctx: BenchContext): Promise<CaseReport> {
  const o = ctx.options;
  const sizes = o.smoke ? [1, 10, 100] : [1, 100, 10_000];
  const connections = o.smoke ? 50 : 1_000;
  const groupMembers = o.smoke ? 5 : 50;
  const groupPartitions = 100;

  const batch16k = await buildBenchBatch(16 * 1024, RECORD_VALUE_BYTES);
  const batch1k = await buildBenchBatch(1024, RECORD_VALUE_BYTES);
  const shapes: Shape[] = [
    { label: `1 × ${batch16k.batch.length} B`, perRequest: 1, batch: batch16k },
    { label: `16 × ${batch1k.batch.length} B`, perRequest: 16, batch: batch1k },
  ];

  const partitionResults: PartitionResult[] = [];
  for (const n of sizes) partitionResults.push(await measurePartitions(ctx, n, shapes, batch1k));
  const conns = await measureConnections(ctx, connections, batch16k);
  const group = await measureGroup(ctx, groupMembers, groupPartitions, 0, o.runs);
  const groupDefault = o.smoke ? null : await measureGroup(ctx, groupMembers, groupPartitions, null, 0);

  const largest = partitionResults.at(-1)!;
  const targets: Target[] = [
    { name: `idle broker RSS at ${largest.partitions.toLocaleString('en-US')} partitions (each with one batch, at rest, no forced GC)`, measured: largest.rssIdle.rss / MB, comparison: '<=', threshold: IDLE_RSS_TARGET_MB, unit: 'MB' },
  ];

  const md: string[] = [];
  md.push(`### Produce spread over partitions (disk, acks=1, one connection, ${INFLIGHT} requests in flight, broker in a child process)`);
  md.push('');
  md.push(
    `Requests go round-robin over the partitions of one topic. "1 × ${batch16k.batch.length} B": one batch of ${batch16k.records} × ${RECORD_VALUE_BYTES}-byte records per request ` +
      `(the produce case's frame, one partition each). "16 × ${batch1k.batch.length} B": one batch of ${batch1k.records} records for each of min(16, N) consecutive partitions ` +
      'per request, as a client batches when each partition gets little traffic. MB/s counts whole request frames (MB = 10^6 bytes); cells are median (min–max) ' +
      `over ${o.runs} run(s) of ${o.seconds} s; broker CPU in cores.`,
  );
  md.push('');
  const rows: string[][] = [];
  for (const p of partitionResults) {
    for (const s of shapes) {
      const rs = p.runs[s.label] ?? [];
      rows.push([
        p.partitions.toLocaleString('en-US'),
        s.label.replace('16 ×', `${Math.min(16, p.partitions)} ×`),
        spread(rs.map((x) => x.bytesPerSecond / MB)),
        spread(rs.map((x) => x.recordsPerSecond), 0),
        spread(rs.map((x) => x.p99Ms), 2),
        fmt(median(rs.map((x) => x.brokerCpu)), 2),
      ]);
    }
  }
  md.push(markdownTable(['partitions', 'request', 'MB/s', 'records/s', 'p99 ms', 'broker CPU'], rows));
  md.push('');
  md.push('### Broker memory with idle partitions');
  md.push('');
  md.push(
    'One CreateTopics request creates all partitions (meanwhile another connection sends ApiVersions every 100 ms and the longest wait for an answer is noted); ' +
      `one ${batch1k.batch.length}-byte batch is appended to each (acks=1); the broker then rests ${o.smoke ? '0.3' : '3'} s. ` +
      `RSS of the broker process (MB = 10^6 bytes); "after GC" after two forced full GCs. Target: ≤ ${IDLE_RSS_TARGET_MB} MB at rest at 10,000 partitions, without forcing a GC.`,
  );
  md.push('');
  md.push(markdownTable(
    ['partitions', 'CreateTopics ms', 'longest ApiVersions wait meanwhile, ms', 'fill ms', 'RSS empty broker (after GC)', 'RSS at rest', 'RSS at rest after GC', 'heapUsed after GC', 'per partition (after GC, vs empty)', 'RSS after the load runs (after GC)'],
    partitionResults.map((p) => [
      p.partitions.toLocaleString('en-US'),
      fmt(p.createMs, 0),
      fmt(p.createStallMs, 0),
      fmt(p.fillMs, 0),
      fmt(p.rssEmpty.rss / MB, 1),
      fmt(p.rssIdle.rss / MB, 1),
      fmt(p.rssIdleAfterGc.rss / MB, 1),
      fmt(p.rssIdleAfterGc.heapUsed / MB, 1),
      p.partitions < 100 ? '-' : `${fmt((p.rssIdleAfterGc.rss - p.rssEmpty.rss) / p.partitions, 0)} B`,
      fmt(p.rssAfterLoad.rss / MB, 1),
    ]),
  ));
  md.push('');
  md.push(`Target idle RSS ≤ ${IDLE_RSS_TARGET_MB} MB at ${largest.partitions.toLocaleString('en-US')} partitions: ${fmt(largest.rssIdle.rss / MB, 0)} MB, ${largest.rssIdle.rss / MB <= IDLE_RSS_TARGET_MB ? 'met' : 'missed'}.`);
  md.push('');
  md.push(`### ${connections.toLocaleString('en-US')} idle connections`);
  md.push('');
  md.push(
    `A helper child process opens ${connections.toLocaleString('en-US')} TCP connections (100 connecting at a time), each sends ApiVersions and waits for the answer, ` +
      `then leaves them idle. Broker RSS after two forced GCs. Produce: one connection, ${INFLIGHT} × ${batch16k.batch.length}-byte batches in flight, one partition, disk, acks=1. ` +
      `${o.runs} round(s), each a run without them, then open them, a run with them, ApiVersions on all of them, close them; cells are median (min–max) over rounds.`,
  );
  md.push('');
  const rd = conns.rounds;
  md.push(markdownTable(
    ['measure', 'value'],
    [
      ['open + ApiVersions on each, ms', `${spread(rd.map((x) => x.openMs), 0)} (${fmt(median(rd.map((x) => x.openMs)) / connections, 2)} ms per connection)`],
      ['broker RSS before / after, MB', `${spread(rd.map((x) => x.rssBefore.rss / MB))} / ${spread(rd.map((x) => x.rssAfter.rss / MB))}`],
      ['RSS per connection, KiB', spread(rd.map((x) => x.bytesPerConnection / 1024))],
      ['heapUsed per connection, KiB', spread(rd.map((x) => (x.rssAfter.heapUsed - x.rssBefore.heapUsed) / connections / 1024))],
      ['produce without them, MB/s', spread(conns.without.map((x) => x.bytesPerSecond / MB))],
      [`produce with ${connections.toLocaleString('en-US')} idle, MB/s`, spread(conns.with.map((x) => x.bytesPerSecond / MB))],
      ['produce p99 without / with, ms', `${spread(conns.without.map((x) => x.p99Ms), 2)} / ${spread(conns.with.map((x) => x.p99Ms), 2)}`],
      ['broker CPU without / with, cores', `${fmt(median(conns.without.map((x) => x.brokerCpu)), 2)} / ${fmt(median(conns.with.map((x) => x.brokerCpu)), 2)}`],
      ['then ApiVersions on every idle connection at once: all answered in, ms', `${spread(rd.map((x) => x.pingMs), 0)} (slowest single answer ${spread(rd.map((x) => x.pingMaxMs), 1)} ms)`],
      ['idle connections still open at the end of each round', rd.map((x) => x.stillOpen).join(', ')],
    ],
  ));
  md.push('');
  md.push(`### Consumer group of ${groupMembers} members`);
  md.push('');
  md.push(
    `${groupMembers} Fjord consumers (createConsumer with one groupId, subscribe, a poll loop each) run in the bench process against a broker child; topic of ` +
      `${groupPartitions} partitions; default assignors (range first, so eager rebalances); heartbeat every ${MEMBER_OPTIONS.heartbeatIntervalMs} ms, session ${MEMBER_OPTIONS.sessionTimeoutMs} ms. ` +
      'A rebalance is done when every member holds a non-empty assignment of the same, newer generation and together they cover every partition exactly once. ' +
      'A warm-up member of another group creates __consumer_offsets first. "Leaves": close() (LeaveGroup) of the longest-standing member; "joins": subscribe of a new one; ' +
      `${o.runs} leave/join cycle(s), median (min–max). With the default delay only the initial join is timed.`,
  );
  md.push('');
  const gRows: string[][] = [
    ['initial join, all members', fmt(group.joinMs, 0), groupDefault === null ? 'not run (smoke)' : fmt(groupDefault.joinMs, 0)],
    ['one member leaves', spread(group.leaveMs, 0), '-'],
    ['one member joins', spread(group.newMemberMs, 0), '-'],
  ];
  md.push(markdownTable(['ms until settled', 'group.initial.rebalance.delay.ms=0', 'broker default (3000)'], gRows));

  return {
    markdown: md.join('\n'),
    json: { shapes: shapes.map((s) => ({ label: s.label, perRequest: s.perRequest, batchBytes: s.batch.batch.length, records: s.batch.records })), partitions: partitionResults, connections: conns, group, groupDefault },
    targets,
  };
}

export const scaleCase: BenchCase = {
  name: 'scale',
  description: 'produce over 1/100/10,000 partitions, idle RSS at 10,000 partitions, 1,000 idle connections, a 50-member consumer group',
  run,
};
