// Durability across restarts of the CLI broker (`node bin/fjord start`), driven by confluent-kafka:
// a clean SIGTERM shutdown, then a SIGKILL in the middle of an acks=all produce stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  PYTHON,
  pyScript,
  runPyJson,
  spawnTracked,
  waitExit,
  waitListening,
  freePort,
  type ProduceResult,
  type ConsumeResult,
} from './helpers.js';

const TOPIC = 'durable';
let workDir: string;
let dataDir: string;
let port: number;
let bootstrap: string;
let cli: CliBroker | null = null;

/** A broker run by the real CLI in a child process. */
class CliBroker {
  readonly output: string[] = [];
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => this.output.push(d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString('utf8')));
  }

  static start(): Promise<CliBroker> {
    const child = spawnTracked(process.execPath, [path.join(process.cwd(), 'bin/fjord'), 'start', '--port', String(port), '--data-dir', dataDir]);
    const b = new CliBroker(child);
    return waitListening(child, () => b.log(), 20_000).then(() => b);
  }

  log(): string {
    return this.output.join('');
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return waitExit(this.child, 20_000);
  }
}

type Rec = [partition: number, offset: number, key: string, valueHash: string, seq: number];

function readRecords(file: string): Rec[] {
  return JSON.parse(readFileSync(file, 'utf8')) as Rec[];
}

function produceArgs(extra: string[]): string[] {
  return ['--bootstrap', bootstrap, '--topic', TOPIC, ...extra];
}

async function consumeAll(recordsOut: string): Promise<{ res: ConsumeResult; recs: Rec[] }> {
  const res = await runPyJson<ConsumeResult>('confluent_consume.py', ['--bootstrap', bootstrap, '--topic', TOPIC, '--records-out', recordsOut], {
    timeoutMs: 90_000,
  });
  assert.equal(res.complete, true, 'read up to every high watermark');
  assert.equal(res.contiguous, true, 'offsets contiguous from 0 in every partition');
  assert.deepEqual(res.errors, []);
  return { res, recs: readRecords(recordsOut) };
}

/** Every acknowledged record must be in the log at the offset its delivery report gave. */
function assertAllPresent(acked: Rec[], log: Rec[], what: string): void {
  const at = new Map<string, Rec>();
  for (const r of log) at.set(`${r[0]}/${r[1]}`, r);
  let missing = 0;
  let firstProblem = '';
  for (const a of acked) {
    const got = at.get(`${a[0]}/${a[1]}`);
    if (got === undefined || got[2] !== a[2] || got[3] !== a[3]) {
      missing++;
      firstProblem ||= `acked ${JSON.stringify(a)} but the log has ${JSON.stringify(got ?? null)}`;
    }
  }
  assert.equal(missing, 0, `${what}: ${missing} of ${acked.length} acknowledged records lost or changed; first: ${firstProblem}`);
}

before(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'fjord-restart-'));
  dataDir = path.join(workDir, 'data');
  port = await freePort();
  bootstrap = `127.0.0.1:${port}`;
});

after(async () => {
  if (cli !== null && cli.child.exitCode === null && cli.child.signalCode === null) await cli.stop('SIGKILL').catch(() => {});
  rmSync(workDir, { recursive: true, force: true });
});

const N1 = 5000;
let phase1: Rec[] = [];
let phase1Summary: ProduceResult;

test('CLI broker: acks=all records survive a SIGTERM restart (exit 0), in order', async () => {
  cli = await CliBroker.start();
  const admin = await runPyJson<{ created: boolean }>('confluent_admin.py', [bootstrap, TOPIC, '3'], { timeoutMs: 60_000 });
  assert.equal(admin.created, true);

  const p1File = path.join(workDir, 'p1.json');
  phase1Summary = await runPyJson<ProduceResult>('confluent_produce.py', produceArgs(['--count', String(N1), '--codec', 'zstd', '--tag', 'p1', '--records-out', p1File]), {
    timeoutMs: 90_000,
  });
  phase1 = readRecords(p1File);
  assert.equal(phase1Summary.delivered, N1, `errors: ${phase1Summary.errors.join(',')}`);

  const stopped = await cli.stop('SIGTERM');
  assert.deepEqual(stopped, { code: 0, signal: null }, `clean shutdown; log:\n${cli.log()}`);
  assert.match(cli.log(), /Shut down cleanly/);

  cli = await CliBroker.start();
  const out = path.join(workDir, 'c1.json');
  const { res, recs } = await consumeAll(out);
  assert.equal(res.count, N1);
  assert.deepEqual(res.partitions, phase1Summary.partitions);
  assert.equal(res.digest, phase1Summary.digest, 'same ordered sequence after the restart');
  assertAllPresent(phase1, recs, 'after SIGTERM');
});

test('CLI broker: after SIGKILL mid-stream, every record acknowledged with acks=all is still there, in order', async (t) => {
  assert.ok(cli !== null, 'the previous test left a running broker');
  const broker = cli;
  const start = 1_000_000;
  const p2File = path.join(workDir, 'p2.json');
  // A steady stream (about 50 records per 5 ms) reporting its acknowledgements; the broker is
  // killed under it, with produce requests in flight.
  const producer = spawnTracked(PYTHON, [
    pyScript('confluent_produce.py'),
    ...produceArgs(['--count', '200000', '--start', String(start), '--tag', 'p2', '--pace', '50', '--progress', '250', '--message-timeout-ms', '3000', '--stop-on-error', '--records-out', p2File]),
  ]);
  let stdout = '';
  let stderr = '';
  let killed: Promise<unknown> | null = null;
  producer.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  producer.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
    const m = /acked (\d+)\n(?![\s\S]*acked)/.exec(stdout);
    if (killed === null && m !== null && Number(m[1]) >= 3000) killed = broker.stop('SIGKILL');
  });
  const exit = await waitExit(producer, 90_000);
  assert.ok(killed !== null, `the broker was killed mid-stream (producer stdout tail: ${stdout.slice(-300)} stderr: ${stderr.slice(-500)})`);
  const brokerExit = (await killed) as { code: number | null; signal: NodeJS.Signals | null };
  assert.equal(brokerExit.signal, 'SIGKILL');
  assert.equal(exit.code, 0, `producer exit; stderr:\n${stderr.slice(-2000)}`);
  const lines = stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]!) as ProduceResult;
  const phase2 = readRecords(p2File);
  assert.ok(summary.delivered >= 3000, `acknowledged before the kill: ${summary.delivered}`);
  assert.ok(summary.delivered < 200_000, 'the kill interrupted the stream');
  assert.equal(phase2.length, summary.delivered);

  cli = await CliBroker.start();
  const out = path.join(workDir, 'c2.json');
  const { res, recs } = await consumeAll(out);
  assertAllPresent(phase1, recs, 'phase 1 after SIGKILL');
  assertAllPresent(phase2, recs, 'phase 2 after SIGKILL');

  // Beyond the acknowledged records the log may hold a few that were written but not yet
  // acknowledged; they must be whole records we sent, in send order.
  const acked = new Set([...phase1, ...phase2].map((r) => `${r[0]}/${r[1]}`));
  const lastSeq = new Map<number, number>();
  let extra = 0;
  for (const r of recs) {
    if (!acked.has(`${r[0]}/${r[1]}`)) {
      extra++;
      assert.ok(r[4] >= start && r[4] < start + 200_000, `unexpected record ${JSON.stringify(r)}`);
    }
    assert.equal(r[2], `key-${r[4] % 97}`, `key matches value in ${JSON.stringify(r)}`);
    assert.ok(r[4] > (lastSeq.get(r[0]) ?? -1), `send order kept in partition ${r[0]} at offset ${r[1]}`);
    lastSeq.set(r[0], r[4]);
  }
  assert.equal(res.count, phase1.length + phase2.length + extra);
  t.diagnostic(`phase 2: ${summary.delivered} acknowledged, ${summary.failed} failed (client error ${summary.client_error ?? 'none'}) (${summary.errors.join(',')}), ${extra} written but unacknowledged records kept`);

  // The recovered log takes new appends right after its end.
  const more = await runPyJson<ProduceResult>('confluent_produce.py', produceArgs(['--count', '300', '--start', String(start + 500_000), '--tag', 'p3']), {
    timeoutMs: 60_000,
  });
  assert.equal(more.delivered, 300);
  for (const [p, s] of Object.entries(more.partitions)) {
    assert.equal(s.first_offset, res.watermarks[p]![1], `partition ${p} continues at its recovered end`);
  }
  const final = await consumeAll(out);
  assert.equal(final.res.count, res.count + 300);

  const stopped = await cli.stop('SIGTERM');
  assert.deepEqual(stopped, { code: 0, signal: null }, `clean shutdown; log:\n${cli.log()}`);
});
