// Shared helpers for the Debian-client interop tests: run a child process with a hard timeout,
// locate the Python scripts, and inspect what the broker actually stored.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import type { RunningBroker } from '../../src/index.js';

/** The Debian packages are only importable by the system interpreter. */
export const PYTHON = '/usr/bin/python3';
export const KCAT = 'kcat';

/** Python scripts are not compiled: resolve them from the repository root (tests run from there). */
export function pyScript(name: string): string {
  return path.join(process.cwd(), 'test/interop-debian/py', name);
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** Hard limit: the child is SIGKILLed after this many milliseconds. */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** No __pycache__ next to the scripts in the source tree. */
function childEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  return { ...(env ?? process.env), PYTHONDONTWRITEBYTECODE: '1' };
}

/** Every child started here, so a failing test can never leave one running. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Run a command to completion (or to its timeout, then SIGKILL). Never rejects on exit status. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv(opts.env) });
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.stdin!.on('error', () => {});
    child.on('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** Run and require exit status 0; the message carries the child's output for diagnosis. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} ${r.timedOut ? 'timed out' : `exited ${r.code ?? r.signal}`}\n` +
        `--- stdout (tail) ---\n${r.stdout.slice(-3000)}\n--- stderr (tail) ---\n${r.stderr.slice(-3000)}`,
    );
  }
  return r;
}

/** Run a Python script that prints one JSON document as its last stdout line. */
export async function runPyJson<T>(script: string, args: readonly string[], opts: RunOptions = {}): Promise<T> {
  const r = await runOk(PYTHON, [pyScript(script), ...args], opts);
  const lines = r.stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${script}: no JSON on the last stdout line\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  }
}

/** Spawn a long-lived child (not awaited); it is killed at process exit if a test forgets it. */
export function spawnTracked(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(opts.env), cwd: opts.cwd ?? process.cwd() });
  live.add(child);
  child.on('close', () => live.delete(child));
  return child;
}

/**
 * Resolve once a CLI broker child's output (`log()`, both streams) says it is listening; reject if it
 * exits first, or SIGKILL it and reject after `timeoutMs`.
 */
export function waitListening(child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI broker not listening after ${timeoutMs} ms:\n${log()}`));
    }, timeoutMs);
    const onData = (): void => {
      if (/listening on/.test(log())) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      reject(new Error(`CLI broker exited (${code ?? signal}) before listening:\n${log()}`));
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Resolve with the exit code/signal of a child, or SIGKILL it and reject after `timeoutMs`. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** A port that was free a moment ago (for the CLI broker, which must keep its port across restarts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Kafka's record-batch compression codecs (attributes bits 0-2). */
export const CODEC_IDS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/**
 * The compression codecs of the batches the broker stored for a topic (the log keeps batches byte
 * for byte), so a test can prove the client really compressed instead of falling back to none.
 */
export function storedCodecs(running: RunningBroker, topic: string): Map<number, number> {
  const counts = new Map<number, number>();
  const meta = running.broker.logs.getTopic(topic);
  if (meta === undefined) throw new Error(`topic ${topic} does not exist`);
  for (let p = 0; p < meta.partitions; p++) {
    const log = running.broker.logs.partition(topic, p);
    if (log === undefined) continue;
    let offset = log.logStartOffset();
    const end = log.logEndOffset();
    while (offset < end) {
      const { chunks } = log.read(offset, 1 << 20, true);
      if (chunks.length === 0) break;
      let next = offset;
      for (const chunk of chunks) {
        let pos = 0;
        while (pos + 61 <= chunk.length) {
          const base = Number(chunk.readBigInt64BE(pos));
          const batchLength = chunk.readInt32BE(pos + 8);
          const attributes = chunk.readInt16BE(pos + 21);
          const lastOffsetDelta = chunk.readInt32BE(pos + 23);
          const codec = attributes & 0x07;
          counts.set(codec, (counts.get(codec) ?? 0) + 1);
          next = Math.max(next, base + lastOffsetDelta + 1);
          pos += 12 + batchLength;
        }
      }
      if (next <= offset) break;
      offset = next;
    }
  }
  return counts;
}


/** A compressible ~1 KB value, unique per (tag, i). */
export function compressibleValue(tag: string, i: number, size = 1024): string {
  const head = `${tag}-${i.toString().padStart(8, '0')}|`;
  const filler = 'the quick brown fjord jumps over the lazy broker; ';
  let s = head;
  while (s.length < size) s += filler;
  return s.slice(0, size);
}

/** What py/confluent_produce.py and py/confluent_consume.py print. */
export interface PartitionSummary {
  count: number;
  first_offset: number;
  last_offset: number;
  first_key: string;
  last_key: string;
}

export interface Summary {
  count: number;
  partitions: Record<string, PartitionSummary>;
  digest: string;
}

export interface ProduceResult extends Summary {
  delivered: number;
  failed: number;
  errors: string[];
  undelivered_in_queue: number;
  send_order_preserved: boolean;
  timestamps_ok: boolean;
  expected_offsets_for_times: Record<string, number> | null;
  client_error: string | null;
  attempted: number;
}

export interface ConsumeResult extends Summary {
  complete: boolean;
  contiguous: boolean;
  errors: string[];
  watermarks: Record<string, [number, number]>;
  offsets_for_times: Record<string, number> | null;
  offsets_for_times_future: Record<string, number> | null;
}
