/**
 * Child process for the scale case's idle-connection test, so the bench process spends neither
 * descriptors nor event-loop time on them:
 *   node scale-connections.js --port P --count N
 * Opens N TCP connections to the broker (at most 100 connecting at once), sends ApiVersions on each
 * and waits for every answer, then prints {"opened", "ms"} and leaves them idle. Commands on stdin:
 *   ping  → ApiVersions again on every connection: {"answered", "ms", "maxMs"} (all at once)
 *   check → {"open"}: connections not closed by the broker
 *   close → destroys them all, prints {"closed": true} and exits 0
 * A connection closed by the broker, or an error, is reported as {"error"} on the next command.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { apiVersionsFrame, openSocket } from './scale-wire.js';

function arg(name: string): number {
  const i = process.argv.indexOf(name);
  const v = Number(i >= 0 ? process.argv[i + 1] : Number.NaN);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
  return v;
}

const port = arg('--port');
const count = arg('--count');
const CONCURRENT_CONNECTS = 100;
const TIMEOUT_MS = 30_000;

interface Conn {
  socket: Socket;
  waiting: ((ok: boolean) => void) | null;
  correlation: number;
}

const conns: Conn[] = [];
let closedByBroker = 0;
let firstError: string | null = null;
let closing = false;

function print(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** One ApiVersions round trip on a connection; resolves with its latency. */
function roundTrip(c: Conn): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ApiVersions answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    c.waiting = (ok) => {
      clearTimeout(timer);
      if (ok) resolve(performance.now() - t);
      else reject(new Error('connection closed while waiting for ApiVersions'));
    };
    c.socket.write(apiVersionsFrame(++c.correlation));
  });
}

async function openOne(): Promise<void> {
  const socket = await openSocket(port);
  const c: Conn = { socket, waiting: null, correlation: 0 };
  const reader = new FrameReader(1024 * 1024);
  socket.on('data', (chunk: Buffer) =>
    reader.push(chunk, (resp) => {
      if (resp.readInt32BE(0) !== c.correlation || resp.readInt16BE(4) !== 0) firstError ??= `bad ApiVersions answer (error code ${resp.readInt16BE(4)})`;
      const w = c.waiting;
      c.waiting = null;
      w?.(true);
    }),
  );
  socket.on('error', (err) => (firstError ??= err.message));
  socket.on('close', () => {
    if (closing) return;
    closedByBroker++;
    const w = c.waiting;
    c.waiting = null;
    w?.(false);
  });
  conns.push(c);
  await roundTrip(c);
}

const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(CONCURRENT_CONNECTS, count) }, async () => {
    while (next < count) {
      next++;
      await openOne();
    }
  }),
);
print({ opened: conns.length, ms: performance.now() - t0 });

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const cmd = line.trim();
  if (firstError !== null && cmd !== 'close') {
    print({ error: firstError });
    return;
  }
  if (cmd === 'check') print({ open: conns.length - closedByBroker });
  else if (cmd === 'ping') {
    const t = performance.now();
    Promise.all(conns.map(roundTrip)).then(
      (lat) => print({ answered: lat.length, ms: performance.now() - t, maxMs: Math.max(...lat) }),
      (err: unknown) => print({ error: err instanceof Error ? err.message : String(err) }),
    );
  } else if (cmd === 'close') shutdown();
});
input.on('close', shutdown);

function shutdown(): void {
  if (closing) return;
  closing = true;
  for (const c of conns) c.socket.destroy();
  print({ closed: true });
  process.exit(0);
}
