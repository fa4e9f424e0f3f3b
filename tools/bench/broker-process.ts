/**
 * Child process that runs one Fjord broker, so the broker and the load generator each get a core.
 *   node broker-process.js --storage memory|disk [--data-dir DIR] [--config key=value]...
 * Prints {"port"} when ready. Commands on stdin, one per line, each answered with one JSON line:
 *   cpu   → {"cpu": {"user", "system"}} (microseconds, process.cpuUsage())
 *   rss   → {"rss", "heapUsed", "external", "arrayBuffers"} (bytes, process.memoryUsage())
 *   gc    → two full GCs if the child runs with --expose-gc, then {"gc": true|false}
 *   close → closes the broker (flush, clean-shutdown marker), prints {"closed": true} and exits 0
 * If stdin ends (the parent died), it closes and exits too.
 */
import { createInterface } from 'node:readline';
import { startBroker } from '../../src/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const storage = arg('--storage') === 'disk' ? 'disk' : 'memory';
const dataDir = arg('--data-dir');
/** Broker configuration keys, `--config key=value`, repeatable. */
const config: Record<string, string> = {};
for (let i = 0; i < process.argv.length; i++) {
  if (process.argv[i] !== '--config') continue;
  const kv = process.argv[i + 1] ?? '';
  const eq = kv.indexOf('=');
  if (eq <= 0) throw new Error(`--config expects key=value, got "${kv}"`);
  config[kv.slice(0, eq)] = kv.slice(eq + 1);
}
const running = await startBroker({
  port: 0,
  storage,
  ...(dataDir !== undefined ? { dataDir } : {}),
  config,
  logger: {
    info: () => undefined,
    warn: (m: string) => process.stderr.write(`[broker] WARN ${m}\n`),
    error: (m: string) => process.stderr.write(`[broker] ERROR ${m}\n`),
  },
});
process.stdout.write(`${JSON.stringify({ port: running.port, storage })}\n`);

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await running.close();
  process.stdout.write(`${JSON.stringify({ closed: true })}\n`);
  // process.exit still writes a --cpu-prof profile.
  process.exit(0);
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'cpu') process.stdout.write(`${JSON.stringify({ cpu: process.cpuUsage() })}\n`);
  else if (cmd === 'rss') {
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  } else if (cmd === 'gc') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    process.stdout.write(`${JSON.stringify({ gc: gc !== undefined })}\n`);
  } else if (cmd === 'close') void shutdown();
});
input.on('close', () => void shutdown());
