/**
 * The `startup` case (issue 7, item 6).
 *
 *  1. In-process: `await startBroker()` until it is listening (then close), memory and disk engines,
 *     20 iterations each (smoke: 3); median/min/max against the 50 ms target.
 *  2. A process broker on a data directory holding one topic of 10,000 partitions (smoke: 100), each
 *     with one batch: the directory is prepared by a broker child (one CreateTopics request, then one
 *     batch per partition, acks=1, then a clean close). Then `node bin/fjord start --data-dir DIR
 *     --port 0` is timed from spawn until it has logged its port, accepted a connection and answered
 *     ApiVersions and a Metadata request that lists every partition; its RSS (/proc) is read then.
 *     The same on an empty directory gives the fixed cost (Node, module loading).
 *  3. Crash recovery: a ready `fjord start` gets one more batch per partition (acks=1, not flushed),
 *     is killed with SIGKILL, and the restart is timed the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { JsonChild } from './child.js';
import { BenchFailure, buildBenchBatch } from './produce-load.js';
import { WireClient, processRss } from './scale-wire.js';
import { measureStartup, type StartupResult } from './startup.js';
import { fmt, markdownTable, median, MB } from './stats.js';
import type { BenchCase, BenchContext, CaseReport, Target } from './suite.js';

const TARGET_MS = 50;
const TOPIC = 'startup-scale';
const FJORD_BIN = fileURLToPath(new URL('../../../bin/fjord', import.meta.url));
/** Waiting longer than this for `fjord start` to be ready is a failure, not a measurement. */
const READY_TIMEOUT_MS = 180_000;

export interface ProcessStart {
  /** Spawn until the "listening on" log line. */
  listeningMs: number;
  /** Spawn until ApiVersions and Metadata (all partitions listed) were answered on a new connection. */
  readyMs: number;
  /** The Metadata request alone. */
  metadataMs: number;
  partitions: number;
  /** The process's RSS right after it was ready, bytes. */
  rss: number;
}

/** A `fjord start` process; `ready` resolves once it answered ApiVersions + Metadata. */
class FjordProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly t0: number;
  private readonly portLine: Promise<{ port: number; at: number }>;
  private readonly log: string[] = [];

  constructor(dataDir: string) {
    this.t0 = performance.now();
    this.proc = spawn(process.execPath, [FJORD_BIN, 'start', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    this.portLine = new Promise((resolve, reject) => {
      const lines = createInterface({ input: this.proc.stderr! });
      lines.on('line', (line) => {
        const at = performance.now();
        this.log.push(line);
        if (this.log.length > 50) this.log.shift();
        if (/ (WARN|ERROR) /.test(line)) process.stderr.write(`[fjord start] ${line}\n`);
        const m = / listening on [^ ]*:(\d+) /.exec(line);
        if (m !== null) resolve({ port: Number(m[1]), at });
      });
      void this.exited.then(({ code, signal }) => reject(new BenchFailure(`fjord start exited before listening (code ${String(code)}, signal ${String(signal)}): ${this.log.join(' | ')}`)));
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async ready(topic: string, partitions: number): Promise<{ start: ProcessStart; client: WireClient }> {
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), READY_TIMEOUT_MS);
    try {
      const { port, at } = await this.portLine;
      const client = await WireClient.connect(port);
      await client.apiVersions();
      const m0 = performance.now();
      const count = partitions === 0 ? (await client.metadata(null), 0) : await client.partitionCount(topic);
      const done = performance.now();
      if (count !== partitions) throw new BenchFailure(`fjord start listed ${count} partitions of ${topic}, expected ${partitions}`);
      return { start: { listeningMs: at - this.t0, readyMs: done - this.t0, metadataMs: done - m0, partitions, rss: await processRss(this.pid) }, client };
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM: the broker flushes and exits 0. Returns the shutdown time. */
  async stop(): Promise<number> {
    const t = performance.now();
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 120_000);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new BenchFailure(`fjord start exited with code ${String(code)} (signal ${String(signal)}) after SIGTERM: ${this.log.join(' | ')}`);
    return performance.now() - t;
  }

  async kill9(): Promise<void> {
    this.proc.kill('SIGKILL');
    const { signal } = await this.exited;
    if (signal !== 'SIGKILL') throw new BenchFailure(`fjord start ended with ${String(signal)} instead of SIGKILL`);
  }
}

/** Start, measure, stop cleanly. */
async function timedStart(dataDir: string, partitions: number): Promise<ProcessStart & { shutdownMs: number }> {
  const p = new FjordProcess(dataDir);
  try {
    const { start, client } = await p.ready(TOPIC, partitions);
    client.close();
    return { ...start, shutdownMs: await p.stop() };
  } catch (err) {
    p.proc.kill('SIGKILL');
    throw err;
  }
}

export interface PrepareResult {
  createMs: number;
  fillMs: number;
  closeMs: number;
  batchBytes: number;
}

/** A broker child writes one topic of `partitions` partitions with one batch each, then closes cleanly. */
export async function preparePartitions(dataDir: string, topic: string, partitions: number, log: (m: string) => void): Promise<PrepareResult> {
  const child = new JsonChild('./broker-process.js', ['--storage', 'disk', '--data-dir', dataDir]);
  let closed = false;
  try {
    const { port } = await child.next<{ port: number }>();
    const client = await WireClient.connect(port);
    const t0 = performance.now();
    await client.createTopic(topic, partitions);
    const t1 = performance.now();
    log(`startup: created ${topic} with ${partitions} partitions in ${fmt(t1 - t0, 0)} ms`);
    const batch = await buildBenchBatch(1024, 100);
    await client.fillPartitions(topic, partitions, batch.batch, 1);
    const t2 = performance.now();
    log(`startup: appended a ${batch.batch.length}-byte batch to each partition in ${fmt(t2 - t1, 0)} ms`);
    client.close();
    const code = await child.stop(300_000);
    closed = true;
    if (code !== 0) throw new BenchFailure(`broker child exited with code ${String(code)}`);
    return { createMs: t1 - t0, fillMs: t2 - t1, closeMs: performance.now() - t2, batchBytes: batch.batch.length };
  } finally {
    if (!closed) await child.stop();
  }
}

async function run(ctx: BenchContext): Promise<CaseReport> {
  const smoke = ctx.options.smoke;
  const iterations = smoke ? 3 : 20;
  const partitions = smoke ? 100 : 10_000;
  const restarts = smoke ? 1 : Math.max(1, ctx.options.runs);

  // 1. In-process.
  const inProcess: StartupResult[] = [];
  for (const storage of ['memory', 'disk'] as const) {
    inProcess.push(await measureStartup(storage, iterations));
    ctx.log(`startup ${storage}: median ${fmt(median(inProcess.at(-1)!.ms), 2)} ms`);
  }

  // 2-3. Process broker.
  const emptyDir = await mkdtemp(join(tmpdir(), 'fjord-bench-start-empty-'));
  const dataDir = await mkdtemp(join(tmpdir(), 'fjord-bench-start-'));
  const empty: ProcessStart[] = [];
  const clean: Array<ProcessStart & { shutdownMs: number }> = [];
  const crash: ProcessStart[] = [];
  /** Per crash: partitions whose two batches (one flushed by the clean close, one only acknowledged) both survived. */
  const recovered: Array<{ partitions: number; complete: number; records: number; expectedRecords: number }> = [];
  let prepare: PrepareResult;
  try {
    for (let r = 0; r < restarts; r++) {
      empty.push(await timedStart(emptyDir, 0));
      ctx.log(`startup: fjord start, empty data dir: ready in ${fmt(empty.at(-1)!.readyMs, 0)} ms`);
    }
    prepare = await preparePartitions(dataDir, TOPIC, partitions, ctx.log);
    for (let r = 0; r < restarts; r++) {
      clean.push(await timedStart(dataDir, partitions));
      ctx.log(`startup: fjord start, ${partitions} partitions, clean: ready in ${fmt(clean.at(-1)!.readyMs, 0)} ms, RSS ${fmt(clean.at(-1)!.rss / MB, 0)} MB`);
    }
    // Crash: a running broker takes one more batch per partition, then SIGKILL.
    const crashes = restarts;
    const crashBatch = await buildBenchBatch(1024, 100);
    /** Every partition's log end offset, in records: the preparation's batch so far. */
    let end = crashBatch.records;
    for (let r = 0; r < crashes; r++) {
      const victim = new FjordProcess(dataDir);
      try {
        const { client } = await victim.ready(TOPIC, partitions);
        const before = await client.fillPartitions(TOPIC, partitions, crashBatch.batch, 1);
        const lost = before.findIndex((o) => o !== end);
        if (lost >= 0) throw new BenchFailure(`after a clean restart partition ${lost} ended at offset ${before[lost]}, expected ${end}`);
        client.close();
        await victim.kill9();
      } catch (err) {
        victim.proc.kill('SIGKILL');
        throw err;
      }
      const p = new FjordProcess(dataDir);
      try {
        const { start, client } = await p.ready(TOPIC, partitions);
        // One more batch everywhere: its base offset is the log end offset the recovery left.
        const ends = await client.fillPartitions(TOPIC, partitions, crashBatch.batch, 1);
        client.close();
        const expected = end + crashBatch.records;
        recovered.push({ partitions, complete: ends.filter((o) => o === expected).length, records: ends.reduce((a, b) => a + b, 0), expectedRecords: partitions * expected });
        if (ends.some((o) => o > expected || o < end)) throw new BenchFailure(`after SIGKILL a partition ends at an offset outside [${end}, ${expected}]`);
        crash.push(start);
        ctx.log(`startup: fjord start, ${partitions} partitions, after SIGKILL: ready in ${fmt(start.readyMs, 0)} ms, RSS ${fmt(start.rss / MB, 0)} MB`);
        await p.stop();
        // The next cycle needs a uniform end offset: after a loss (reported above) stop here.
        if (ends.some((o) => o !== expected)) {
          ctx.log('startup: acknowledged (acks=1) batches were lost across SIGKILL; no further crash cycles');
          break;
        }
        end = expected + crashBatch.records;
      } catch (err) {
        p.proc.kill('SIGKILL');
        throw err;
      }
    }
  } finally {
    await rm(emptyDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }

  const targets: Target[] = inProcess.map((s) => ({
    name: `in-process startBroker() to listening, ${s.storage}, median`,
    measured: median(s.ms),
    comparison: '<=',
    threshold: TARGET_MS,
    unit: 'ms',
  }));

  const cells = (xs: readonly number[], digits = 0): string => (xs.length === 0 ? 'n/a' : xs.length === 1 ? fmt(xs[0]!, digits) : `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`);
  const procRow = (label: string, xs: readonly ProcessStart[]): string[] => [
    label,
    String(xs.length),
    cells(xs.map((x) => x.listeningMs)),
    cells(xs.map((x) => x.readyMs)),
    cells(xs.map((x) => x.metadataMs), 1),
    cells(xs.map((x) => x.rss / MB)),
  ];
  const md: string[] = [];
  md.push(`### In-process start-up (\`await startBroker()\` to listening, then close; ${iterations} iterations)`);
  md.push('');
  md.push(markdownTable(
    ['storage', 'median ms', 'min ms', 'max ms', `<= ${TARGET_MS} ms`],
    inProcess.map((s) => [s.storage, fmt(median(s.ms), 2), fmt(Math.min(...s.ms), 2), fmt(Math.max(...s.ms), 2), median(s.ms) <= TARGET_MS ? 'met' : 'missed']),
  ));
  md.push('');
  md.push(`### Process start-up with ${partitions.toLocaleString('en-US')} partitions (\`node bin/fjord start --data-dir DIR --port 0\`)`);
  md.push('');
  md.push(
    `Prepared by a broker child: one CreateTopics of ${partitions.toLocaleString('en-US')} partitions (${fmt(prepare.createMs, 0)} ms), one ${prepare.batchBytes}-byte batch ` +
      `appended to each partition, acks=1 (${fmt(prepare.fillMs, 0)} ms), clean close (${fmt(prepare.closeMs, 0)} ms). "ready" is spawn → ApiVersions and Metadata ` +
      `(every partition listed) answered on a new connection; RSS is the process's VmRSS then. After SIGKILL: the running broker first took one more batch ` +
      'per partition (acks=1, not flushed), so the restart recovers every partition. Cells are median (min–max). MB = 10^6 bytes.',
  );
  md.push('');
  md.push(markdownTable(
    ['data dir', 'starts', 'spawn → listening ms', 'spawn → ready ms', 'Metadata ms', 'RSS when ready MB'],
    [procRow('empty', empty), procRow(`${partitions.toLocaleString('en-US')} partitions, after clean shutdown`, clean), procRow(`${partitions.toLocaleString('en-US')} partitions, after SIGKILL`, crash)],
  ));
  md.push('');
  md.push(`Clean shutdown (SIGTERM → exit 0) of the ${partitions.toLocaleString('en-US')}-partition broker: ${cells(clean.map((c) => c.shutdownMs))} ms.`);
  if (recovered.length > 0) {
    md.push(
      `After each SIGKILL, partitions that kept every batch (the last, acks=1 one included): ${recovered.map((r) => `${r.complete.toLocaleString('en-US')} of ${r.partitions.toLocaleString('en-US')}`).join('; ')}; ` +
        `records found by recovery: ${recovered.map((r) => `${r.records.toLocaleString('en-US')} of ${r.expectedRecords.toLocaleString('en-US')}`).join('; ')} ` +
        '(read from the base offsets of one more batch per partition).',
    );
  }
  return {
    markdown: md.join('\n'),
    json: { iterations, inProcess, partitions, prepare, empty, clean, crash, recovered },
    targets,
  };
}

export const startupCase: BenchCase = {
  name: 'startup',
  description: 'start-up time: in-process startBroker() (memory, disk) and `fjord start` on 10,000 partitions (clean and after SIGKILL)',
  run,
};
