// The transactional copier workload: an input topic pre-filled with committed (and a few aborted)
// transactions, a librdkafka copier (confluent-kafka: read_committed group consumer + transactional
// producer + send_offsets_to_transaction) copying it to an output topic, while the CLI broker is
// SIGKILLed and restarted and the copier itself is SIGKILLed and restarted, at random points of its
// progress. Then the output is read with read_committed and compared with the input, and the recorded
// history is judged by the transactional history checker.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { HistoryRecorder, checkHistory, mop, type CheckResult, type Mop } from '../../src/testing/history-checker.js';
import { PYTHON, pyScript, runPyJson, waitExit } from '../interop-debian/helpers.js';
import { CliBroker } from '../interop-debian/idempotent-workload.js';

export interface CopierRunOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly records: number;
  readonly partitions: number;
  readonly brokerKills: number;
  readonly copierKills: number;
  readonly seed: number;
  /** Records per copier transaction, at most. */
  readonly batch: number;
  /** Hard limit for the copy phase, in ms. */
  readonly copyTimeoutMs: number;
  readonly log?: (line: string) => void;
  /** Control: the copier commits offsets outside its transaction (at-least-once), so the check must fail. */
  readonly offsetsOutsideTxn?: boolean;
}

export interface PartitionDiff {
  partition: number;
  expected: number;
  actual: number;
  missing: string[];
  duplicated: string[];
  unexpected: string[];
  /** First index at which the output departs from the input order, or -1. */
  firstOrderBreak: number;
}

export interface CopierRunResult {
  brokerKills: number;
  copierKills: number;
  copierExits: number;
  /** Copier transactions by outcome, over all incarnations. */
  txns: { ok: number; fail: number; info: number };
  abortedInputRecords: number;
  outputRecords: number;
  readComplete: boolean;
  diffs: PartitionDiff[];
  check: CheckResult;
  elapsedMs: number;
  copyMs: number;
}

interface FillTxn {
  outcome: 'commit' | 'abort';
  records: Array<[number, number, string]>;
}

type CopierEvent =
  | { e: 'init' | 'exit' }
  | { e: 'assign'; pos: Record<string, number> }
  | { e: 'revoke'; parts: number[] }
  | { e: 'begin'; seq: number; in: Record<string, Array<[number, string]>>; from: Record<string, number | null>; to: Record<string, number> }
  | { e: 'end'; seq: number; outcome: 'ok' | 'fail' | 'info'; out: Record<string, Array<[number, string]>>; error: string | null }
  | { e: 'error'; error: string; fatal: boolean };

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** One incarnation of copier_run.py; its events arrive as JSON lines. */
class CopierProcess {
  readonly events: CopierEvent[] = [];
  private stderrTail = '';
  private readonly child: ChildProcess;
  readonly closed: Promise<void>;

  constructor(readonly run: string, args: readonly string[], onEvent: (ev: CopierEvent) => void) {
    this.child = spawn(PYTHON, [pyScript('copier_run.py'), ...args, '--run', run], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    children.add(this.child);
    let partial = '';
    const onLine = (line: string): void => {
      if (line.trim() === '') return;
      let ev: CopierEvent;
      try {
        ev = JSON.parse(line) as CopierEvent;
      } catch {
        // SIGKILL can cut the last line short; anything else would be a script bug worth seeing.
        this.stderrTail += `\n[unparsed stdout] ${line.slice(0, 200)}`;
        return;
      }
      this.events.push(ev);
      onEvent(ev);
    };
    this.child.stdout!.on('data', (d: Buffer) => {
      partial += d.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    this.child.stderr!.on('data', (d: Buffer) => void (this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000)));
    this.child.stdin!.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.child.once('close', () => {
        children.delete(this.child);
        if (partial !== '') onLine(partial);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get exitCode(): number | null {
    return this.child.exitCode;
  }

  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.closed;
  }

  /** EOF on stdin: the copier finishes its transaction, closes its consumer and exits. */
  async finish(timeoutMs: number): Promise<void> {
    this.child.stdin!.end();
    await waitExit(this.child, timeoutMs).catch(() => this.kill());
    await this.closed;
  }

  diagnostics(): string {
    return `--- copier ${this.run} stderr (tail) ---\n${this.stderrTail}`;
  }
}

interface ReadBack {
  records: Record<string, Array<[number, string, string | null]>>;
  ends: Record<string, number>;
  complete: boolean;
  errors: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const IN = 'copier-in';
const OUT = 'copier-out';
const GROUP = 'copier';
const inKey = (p: number | string): string => `${IN}-${p}`;
const outKey = (p: number | string): string => `${OUT}-${p}`;

export async function runTxnCopierWorkload(o: CopierRunOptions): Promise<CopierRunResult> {
  const t0 = Date.now();
  const rnd = new SeededRandom(o.seed);
  const bootstrap = `127.0.0.1:${o.port}`;
  const log = o.log ?? ((): void => {});
  let broker = await CliBroker.start(o.port, o.dataDir);
  let copier: CopierProcess | null = null;
  try {
    await runPyJson('confluent_admin.py', [bootstrap, IN, String(o.partitions)], { timeoutMs: 60_000 });
    await runPyJson('confluent_admin.py', [bootstrap, OUT, String(o.partitions)], { timeoutMs: 60_000 });
    const fillFile = join(o.dataDir, '..', `copier-fill-${o.port}.json`);
    const filled = await runPyJson<{ committed: number; aborted: number; elapsed_s: number }>(
      'copier_fill.py',
      ['--bootstrap', bootstrap, '--topic', IN, '--partitions', String(o.partitions), '--count', String(o.records), '--out', fillFile],
      { timeoutMs: 300_000 },
    );
    log(`filled ${filled.committed} committed + ${filled.aborted} aborted input records in ${filled.elapsed_s} s`);
    const fill = (JSON.parse(readFileSync(fillFile, 'utf8')) as { txns: FillTxn[] }).txns;

    // What the copy must produce: per partition, the committed inputs in offset order.
    const expected = new Map<number, Array<[number, string]>>();
    for (let p = 0; p < o.partitions; p++) expected.set(p, []);
    for (const t of fill) if (t.outcome === 'commit') for (const [p, off, v] of t.records) expected.get(p)!.push([off, v]);
    for (const list of expected.values()) list.sort((x, y) => x[0] - y[0]);
    const target = new Map<number, number>();
    for (const [p, list] of expected) target.set(p, list.length === 0 ? 0 : list[list.length - 1]![0] + 1);

    // Copier progress as the copier sees it: committed positions per input partition.
    const committed = new Map<number, number>();
    const progress = (): number => {
      let done = 0;
      for (const [p, list] of expected) done += countBelow(list, committed.get(p) ?? 0);
      return done;
    };
    const finished = (): boolean => [...target].every(([p, end]) => (committed.get(p) ?? 0) >= end);
    const onEvent = (ev: CopierEvent): void => {
      if (ev.e === 'assign') for (const [p, pos] of Object.entries(ev.pos)) committed.set(Number(p), Math.max(committed.get(Number(p)) ?? 0, pos));
      if (ev.e === 'end' && ev.outcome === 'ok') {
        const begin = lastBegin.get(ev.seq);
        if (begin !== undefined) for (const [p, pos] of Object.entries(begin.to)) committed.set(Number(p), Math.max(committed.get(Number(p)) ?? 0, pos));
      }
      if (ev.e === 'begin') lastBegin.set(ev.seq, ev);
    };
    const lastBegin = new Map<number, Extract<CopierEvent, { e: 'begin' }>>();

    const copiers: CopierProcess[] = [];
    const startCopier = (): CopierProcess => {
      lastBegin.clear();
      const c = new CopierProcess(`r${copiers.length}`, [
        '--bootstrap', bootstrap, '--input', IN, '--output', OUT, '--group', GROUP,
        '--transactional-id', 'copier-txn', '--batch', String(o.batch),
        ...(o.offsetsOutsideTxn === true ? ['--offsets-outside-txn'] : []),
      ], onEvent);
      copiers.push(c);
      return c;
    };

    // Kill points at random fractions of the copy, each with a random short delay so kills land inside
    // transactions as well as between them.
    const plan: Array<{ at: number; what: 'broker' | 'copier'; delayMs: number }> = [];
    for (let i = 0; i < o.brokerKills; i++) plan.push({ at: rnd.int(2, 92) / 100, what: 'broker', delayMs: rnd.int(0, 60) });
    for (let i = 0; i < o.copierKills; i++) plan.push({ at: rnd.int(2, 92) / 100, what: 'copier', delayMs: rnd.int(0, 60) });
    plan.sort((x, y) => x.at - y.at);

    const tCopy = Date.now();
    const deadline = tCopy + o.copyTimeoutMs;
    copier = startCopier();
    let brokerKills = 0;
    let copierKills = 0;
    let copierExits = 0;
    const total = o.records;
    const ensureCopier = async (): Promise<void> => {
      if (copier !== null && !copier.running) {
        await copier.closed;
        copierExits++;
        log(`copier ${copier.run} exited (${copier.exitCode}); restarting`);
        copier = startCopier();
      }
    };
    for (const step of plan) {
      while (progress() < step.at * total && !finished() && Date.now() < deadline) {
        await ensureCopier();
        await sleep(5);
      }
      if (finished() || Date.now() >= deadline) break;
      await sleep(step.delayMs);
      if (step.what === 'broker') {
        await broker.stop('SIGKILL');
        await sleep(rnd.int(100, 800));
        broker = await CliBroker.start(o.port, o.dataDir);
        brokerKills++;
        log(`broker kill ${brokerKills} at ${progress()}/${total}`);
      } else {
        await copier.kill();
        copierKills++;
        log(`copier kill ${copierKills} (${copier.run}) at ${progress()}/${total}`);
        copier = startCopier();
      }
    }
    while (!finished() && Date.now() < deadline) {
      await ensureCopier();
      await sleep(20);
    }
    const copyMs = Date.now() - tCopy;
    if (!finished()) {
      throw new Error(
        `the copy did not finish in ${o.copyTimeoutMs} ms: positions ${JSON.stringify([...committed])}, targets ${JSON.stringify([...target])}\n` +
          `${copier.diagnostics()}\n--- broker (tail) ---\n${broker.log().slice(-4000)}`,
      );
    }
    await copier.finish(60_000);

    const read = await runPyJson<ReadBack>('copier_read.py', ['--bootstrap', bootstrap, '--topic', OUT, '--partitions', String(o.partitions), '--timeout-s', '120'], {
      timeoutMs: 150_000,
    });

    // Compare the output with the input, per partition.
    const diffs: PartitionDiff[] = [];
    let outputRecords = 0;
    for (let p = 0; p < o.partitions; p++) {
      const want = expected.get(p)!.map(([, v]) => `${v}-copied`);
      const got = (read.records[String(p)] ?? []).map(([, v]) => v);
      outputRecords += got.length;
      const wantSet = new Set(want);
      const counts = new Map<string, number>();
      for (const v of got) counts.set(v, (counts.get(v) ?? 0) + 1);
      const missing = want.filter((v) => !counts.has(v));
      const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
      const unexpected = got.filter((v) => !wantSet.has(v));
      let firstOrderBreak = -1;
      for (let i = 0; i < Math.max(want.length, got.length); i++) {
        if (want[i] !== got[i]) {
          firstOrderBreak = i;
          break;
        }
      }
      if (missing.length + duplicated.length + unexpected.length > 0 || firstOrderBreak !== -1) {
        diffs.push({ partition: p, expected: want.length, actual: got.length, missing: missing.slice(0, 20), duplicated: duplicated.slice(0, 20), unexpected: unexpected.slice(0, 20), firstOrderBreak });
      }
    }

    // The history: the filler is process 0, each copier incarnation a process, the final reader last.
    const rec = new HistoryRecorder();
    for (const t of fill) {
      const sends = t.records.map(([p, off, v]): Mop => mop.send(inKey(p), v, off));
      rec.invoke(0, 'txn', sends);
      if (t.outcome === 'commit') rec.ok(0);
      else rec.fail(0);
    }
    const txns = { ok: 0, fail: 0, info: 0 };
    const keys = Array.from({ length: o.partitions }, (_, p) => inKey(p));
    copiers.forEach((c, i) => {
      const proc = i + 1;
      rec.invoke(proc, 'subscribe', keys);
      rec.ok(proc);
      let begin: Extract<CopierEvent, { e: 'begin' }> | undefined;
      let mops: Mop[] = [];
      for (const ev of c.events) {
        if (ev.e === 'assign') {
          if (rec.pending(proc) !== undefined) rec.info(proc);
          rec.invoke(proc, 'subscribe', Object.keys(ev.pos).map(inKey));
          rec.ok(proc);
        } else if (ev.e === 'begin') {
          begin = ev;
          const header = `${c.run}.${ev.seq}`;
          const reads: Record<string, Array<[number, string]>> = {};
          const sends: Mop[] = [];
          const offsets: Record<string, [number | null, number]> = {};
          for (const [p, list] of Object.entries(ev.in)) {
            reads[inKey(p)] = list;
            for (const [, v] of list) sends.push(mop.send(outKey(p), `${v}-copied@${header}`));
            offsets[inKey(p)] = [ev.from[p] ?? null, ev.to[p]!];
          }
          mops = [mop.poll(reads), ...sends, mop.offsets(GROUP, offsets)];
          rec.invoke(proc, 'txn', mops);
        } else if (ev.e === 'end' && begin !== undefined && ev.seq === begin.seq) {
          const header = `${c.run}.${ev.seq}`;
          const offsetOf = new Map<string, number>();
          for (const [p, list] of Object.entries(ev.out)) for (const [off, v] of list) offsetOf.set(`${outKey(p)}\u0000${v}@${header}`, off);
          const done = mops.map((m): Mop => (m[0] === 'send' ? mop.send(m[1], m[2][1], offsetOf.get(`${m[1]}\u0000${String(m[2][1])}`) ?? null) : m));
          rec.complete(proc, ev.outcome, done);
          txns[ev.outcome]++;
          begin = undefined;
        }
      }
      if (rec.pending(proc) !== undefined) {
        rec.info(proc);
        txns.info++;
      }
    });
    const reader = copiers.length + 1;
    const polled: Record<string, Array<[number, string]>> = {};
    for (const [p, list] of Object.entries(read.records)) polled[outKey(p)] = list.map(([off, v, h]) => [off, `${v}@${h ?? 'none'}`]);
    rec.invoke(reader, 'poll', []);
    rec.ok(reader, [mop.poll(polled)]);
    const finalOffsets = read.complete ? Object.fromEntries(Object.entries(read.ends).map(([p, e]) => [outKey(p), e])) : undefined;
    const check = checkHistory(rec.history(), {
      transactional: true,
      subscription: true,
      exactlyOnce: true,
      ...(finalOffsets === undefined ? {} : { finalOffsets }),
    });
    return {
      brokerKills,
      copierKills,
      copierExits,
      txns,
      abortedInputRecords: filled.aborted,
      outputRecords,
      readComplete: read.complete,
      diffs,
      check,
      elapsedMs: Date.now() - t0,
      copyMs,
    };
  } finally {
    await copier?.kill().catch(() => {});
    for (const c of children) c.kill('SIGKILL');
    await broker.stop('SIGKILL').catch(() => {});
  }
}

/** Entries of an offset-sorted list below `pos`. */
function countBelow(list: ReadonlyArray<readonly [number, string]>, pos: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]![0] < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
