// The kill -9 workload for idempotent producers, shared by the interop test and the torture: a CLI
// broker in a child process is SIGKILLed and restarted at random moments while librdkafka
// (confluent-kafka, enable.idempotence=true, acks=all) writes unique values; then everything is read
// back with librdkafka's consumer and the history is judged by the history checker.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { HistoryRecorder, checkHistory, type CheckResult } from '../../src/testing/history-checker.js';
import { PYTHON, pyScript, runPyJson, waitExit, waitListening } from './helpers.js';

/** The real CLI (`bin/fjord start`) in a child process, so it can be killed with SIGKILL. */
export class CliBroker {
  private output = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => this.append(d));
    child.stderr!.on('data', (d: Buffer) => this.append(d));
  }

  private append(d: Buffer): void {
    // Only the tail matters for diagnosis; a long torture must not grow this without bound.
    this.output = (this.output + d.toString('utf8')).slice(-20_000);
  }

  static start(port: number, dataDir: string, timeoutMs = 20_000): Promise<CliBroker> {
    const child = spawn(process.execPath, [path.join(process.cwd(), 'bin/fjord'), 'start', '--port', String(port), '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    const b = new CliBroker(child);
    return waitListening(child, () => b.log(), timeoutMs).then(() => b);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): string {
    return this.output;
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    await waitExit(this.child, 20_000);
  }
}

/** Children started here (brokers, producers): killed at exit should a test forget one. */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveChildren) c.kill('SIGKILL');
});

/** The streamed outcome of confluent_idempotent_produce.py. */
export class IdempotentProducerProcess {
  readonly acked = new Map<number, { partition: number; offset: number }>();
  readonly failed = new Map<number, string>();
  readonly clientErrors: string[] = [];
  summary: ProducerSummary | null = null;
  private stdoutTail = '';
  private stderrTail = '';
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      partial += d.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    });
    child.stderr!.on('data', (d: Buffer) => void (this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-5000)));
    child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => child.once('close', () => {
      if (partial !== '') this.onLine(partial);
      resolve();
    }));
  }

  static start(args: readonly string[]): IdempotentProducerProcess {
    const child = spawn(PYTHON, [pyScript('confluent_idempotent_produce.py'), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    return new IdempotentProducerProcess(child);
  }

  private onLine(line: string): void {
    this.stdoutTail = (this.stdoutTail + line + '\n').slice(-5000);
    const parts = line.split(' ');
    if (parts[0] === 'a') this.acked.set(Number(parts[1]), { partition: Number(parts[2]), offset: Number(parts[3]) });
    else if (parts[0] === 'f') this.failed.set(Number(parts[1]), parts[2] ?? '?');
    else if (parts[0] === 'e') this.clientErrors.push(parts.slice(1).join(' '));
    else if (line.startsWith('{')) this.summary = JSON.parse(line) as ProducerSummary;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stop producing new records (EOF on stdin); the script then flushes and exits. */
  finish(): void {
    this.child.stdin!.end();
  }

  async wait(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`producer did not finish in ${timeoutMs} ms\n${this.diagnostics()}`)), timeoutMs);
    });
    try {
      await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  diagnostics(): string {
    return `--- producer stdout (tail) ---\n${this.stdoutTail}\n--- producer stderr (tail) ---\n${this.stderrTail}`;
  }
}

export interface ProducerSummary {
  attempted: number;
  acked: number;
  failed: number;
  undelivered_in_queue: number;
  fatal: string | null;
  errors: Record<string, number>;
  elapsed_s: number;
}

interface ReadBack {
  records: Record<string, Array<[number, string]>>;
  watermarks: Record<string, [number, number]>;
  complete: boolean;
  errors: string[];
}

export interface KillRunOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly topic: string;
  readonly partitions: number;
  readonly restarts: number;
  readonly seed: number;
  /** Records per second the producer offers. */
  readonly rate: number;
  /** Time between a restart and the next SIGKILL, in ms (uniform). */
  readonly killGapMs: readonly [number, number];
  /** How long the broker stays down, in ms (uniform). */
  readonly downMs: readonly [number, number];
  /** Producer flag for proving the check can fail: no idempotence, same retries. */
  readonly noIdempotence?: boolean;
  readonly log?: (line: string) => void;
}

export interface KillRunResult {
  restarts: number;
  attempted: number;
  acked: number;
  failed: number;
  summary: ProducerSummary;
  clientErrors: string[];
  readBack: { complete: boolean; records: number; errors: string[] };
  /** Acknowledged offsets that do not grow with the send order within a partition. */
  orderViolations: string[];
  check: CheckResult;
}

/**
 * Run the workload on a fresh data directory. The caller owns nothing afterwards: the broker and the
 * producer are stopped in a finally block whatever happens.
 */
export async function runIdempotentKillWorkload(o: KillRunOptions): Promise<KillRunResult> {
  const rnd = new SeededRandom(o.seed);
  const bootstrap = `127.0.0.1:${o.port}`;
  const log = o.log ?? ((): void => {});
  let broker = await CliBroker.start(o.port, o.dataDir);
  let producer: IdempotentProducerProcess | null = null;
  let restarts = 0;
  try {
    await runPyJson('confluent_admin.py', [bootstrap, o.topic, String(o.partitions)], { timeoutMs: 60_000 });
    producer = IdempotentProducerProcess.start([
      '--bootstrap', bootstrap, '--topic', o.topic, '--partitions', String(o.partitions),
      '--count', String(Math.ceil(o.rate * 3600)), '--rate', String(o.rate), '--tag', 'v',
      ...(o.noIdempotence === true ? ['--no-idempotence'] : []),
    ]);
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    // Let the producer get going (InitProducerId, first acks) before the first kill.
    const startDeadline = Date.now() + 30_000;
    while (producer.acked.size === 0 && producer.running && Date.now() < startDeadline) await sleep(20);
    if (producer.acked.size === 0) throw new Error(`the producer never got an ack\n${producer.diagnostics()}\n${broker.log()}`);
    for (; restarts < o.restarts && producer.running; restarts++) {
      await sleep(rnd.int(o.killGapMs[0], o.killGapMs[1]));
      const before = producer.acked.size;
      await broker.stop('SIGKILL');
      await sleep(rnd.int(o.downMs[0], o.downMs[1]));
      broker = await CliBroker.start(o.port, o.dataDir);
      log(`restart ${restarts + 1}: ${before} acked before the kill`);
    }
    // Some acks after the last restart, so it is proven that the producer recovered.
    const settle = Date.now() + 2_000;
    const target = producer.acked.size + 50;
    while (producer.acked.size < target && producer.running && Date.now() < settle + 30_000) await sleep(50);
    producer.finish();
    await producer.wait(240_000);
    const summary = producer.summary;
    if (summary === null) throw new Error(`the producer printed no summary\n${producer.diagnostics()}`);

    const read = await runPyJson<ReadBack>('confluent_read_values.py', ['--bootstrap', bootstrap, '--topic', o.topic, '--partitions', String(o.partitions), '--timeout-s', '90'], {
      timeoutMs: 120_000,
    });

    // The history: one process per value (the producer pipelines), then one reader.
    const recorder = new HistoryRecorder();
    for (let i = 0; i < summary.attempted; i++) {
      const key = `${o.topic}-${i % o.partitions}`;
      const v = `v-${i}`;
      recorder.invoke(i, 'send', [['send', key, [null, v]]]);
      const ack = producer.acked.get(i);
      if (ack !== undefined) {
        if (ack.partition !== i % o.partitions) throw new Error(`value ${v} acknowledged on partition ${ack.partition}`);
        recorder.ok(i, [['send', key, [ack.offset, v]]]);
      } else {
        // A failed delivery report says only that the client gave up: the record may be in the log.
        recorder.info(i);
      }
    }
    const reader = summary.attempted;
    recorder.invoke(reader, 'poll', []);
    const polled: Record<string, Array<[number, string]>> = {};
    let records = 0;
    for (const [p, list] of Object.entries(read.records)) {
      polled[`${o.topic}-${p}`] = list;
      records += list.length;
    }
    recorder.ok(reader, [['poll', polled]]);
    const finalOffsets = read.complete ? Object.fromEntries(Object.entries(read.watermarks).map(([p, w]) => [`${o.topic}-${p}`, w[1]])) : undefined;
    const check = checkHistory(recorder.history(), finalOffsets === undefined ? {} : { finalOffsets });

    // librdkafka's idempotent producer keeps the send order per partition: offsets must grow with i.
    const orderViolations: string[] = [];
    const lastByPartition = new Map<number, { i: number; offset: number }>();
    for (const i of [...producer.acked.keys()].sort((a, b) => a - b)) {
      const ack = producer.acked.get(i)!;
      const last = lastByPartition.get(ack.partition);
      if (last !== undefined && ack.offset <= last.offset) orderViolations.push(`p${ack.partition}: v-${i} at ${ack.offset} after v-${last.i} at ${last.offset}`);
      lastByPartition.set(ack.partition, { i, offset: ack.offset });
    }
    return {
      restarts,
      attempted: summary.attempted,
      acked: producer.acked.size,
      failed: producer.failed.size,
      summary,
      clientErrors: producer.clientErrors,
      readBack: { complete: read.complete, records, errors: read.errors },
      orderViolations,
      check,
    };
  } finally {
    producer?.kill();
    await broker.stop('SIGKILL').catch(() => {});
  }
}
