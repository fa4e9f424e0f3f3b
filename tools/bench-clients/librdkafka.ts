/**
 * librdkafka (confluent-kafka for Python) as a load child: the Node load child starts
 * librdkafka_load.py with /usr/bin/python3 and relays its JSON lines (the window events at once, so
 * the orchestrator samples the broker's CPU at the right moments), then returns its result. The
 * Python process measures its own CPU (librdkafka's threads included) and windows the same way as
 * the Node drivers (window.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FJORD_OUTSTANDING_BYTES, librdkafkaConfig, type LoadResult, type LoadSpec } from './settings.js';

export const PYTHON = '/usr/bin/python3';

/** The script sits next to this file in tools/ (tsc does not copy it into dist/). */
function scriptPath(): string {
  for (const rel of ['./librdkafka_load.py', '../../../tools/bench-clients/librdkafka_load.py']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('librdkafka_load.py not found next to tools/bench-clients');
}

export async function runLibrdkafka(spec: LoadSpec, print: (msg: unknown) => void): Promise<LoadResult> {
  if (spec.mode === 'prefill') throw new Error('librdkafka does not pre-fill');
  const pySpec =
    spec.mode === 'produce'
      ? { ...spec, outstandingBytes: FJORD_OUTSTANDING_BYTES, config: librdkafkaConfig('produce', spec.port) }
      : { ...spec, config: librdkafkaConfig('consume', spec.port, spec.partitionFetchBytes) };
  const child = spawn(PYTHON, [scriptPath(), JSON.stringify(pySpec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  let result: LoadResult | undefined;
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const msg = JSON.parse(line) as { event?: string; result?: LoadResult };
    if (msg.result !== undefined) result = msg.result;
    else print(msg);
  }
  const code = await exited;
  if (code !== 0 || result === undefined) throw new Error(`librdkafka load child exited with code ${String(code)}`);
  return result;
}
