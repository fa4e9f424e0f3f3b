/** In-process start-up time: `await startBroker(...)` until it is listening, then close. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startBroker } from '../../src/index.js';

export interface StartupResult {
  storage: 'memory' | 'disk';
  ms: number[];
}

export async function measureStartup(storage: 'memory' | 'disk', iterations: number): Promise<StartupResult> {
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const dataDir = storage === 'disk' ? await mkdtemp(join(tmpdir(), 'fjord-bench-startup-')) : undefined;
    try {
      const t0 = performance.now();
      const running = await startBroker(dataDir === undefined ? {} : { dataDir });
      ms.push(performance.now() - t0);
      await running.close();
    } finally {
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
    }
  }
  return { storage, ms };
}
