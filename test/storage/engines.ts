import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/io/clock.js';
import type { FileSystem } from '../../src/io/file-system.js';
import { nodeFileSystem } from '../../src/io/node-file-system.js';
import { createDiskLogManager, createMemoryLogManager } from '../../src/storage/index.js';
import type { LogManager, LogManagerOptions } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { ManualClock } from './manual-clock.js';

/** One storage engine under test, with storage that survives reopen(). */
export interface Engine {
  manager: LogManager;
  readonly clock: ManualClock;
  /** Close the manager and open a new one over the same storage (the same instance for memory). */
  reopen(): Promise<LogManager>;
  /** .log files of a partition, when the engine has files. */
  segmentFiles?(topic: string, partition: number): string[];
  cleanup(): Promise<void>;
}

export interface EngineHarness {
  readonly name: string;
  start(options?: Partial<LogManagerOptions>): Promise<Engine>;
}

export const memoryEngine: EngineHarness = {
  name: 'memory engine',
  async start(options = {}) {
    const manager = createMemoryLogManager(options);
    await manager.open();
    const engine: Engine = {
      manager,
      clock: new ManualClock(),
      async reopen() {
        await manager.close();
        await manager.open();
        return manager;
      },
      async cleanup() {
        await manager.close();
      },
    };
    return engine;
  },
};

export interface DiskEngineParts {
  readonly fs: FileSystem;
  readonly logDir: string;
  readonly clock: Clock;
  readonly options: Partial<LogManagerOptions>;
}

export async function startDiskEngine(
  fs: FileSystem,
  logDir: string,
  options: Partial<LogManagerOptions>,
  removeDir: () => void,
): Promise<Engine> {
  const clock = new ManualClock();
  const make = (): LogManager => createDiskLogManager({ logDir, fs, clock, options });
  const engine: Engine = {
    manager: make(),
    clock,
    async reopen() {
      await engine.manager.close();
      engine.manager = make();
      await engine.manager.open();
      return engine.manager;
    },
    segmentFiles(topic, partition) {
      return fs
        .readdir(join(logDir, `${topic}-${partition}`))
        .filter((n) => n.endsWith('.log'))
        .sort();
    },
    async cleanup() {
      await engine.manager.close();
      removeDir();
    },
  };
  await engine.manager.open();
  return engine;
}

export function makeTmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'fjord-storage-'));
}

export const nodeDiskEngine: EngineHarness = {
  name: 'disk engine over node fs',
  start(options = {}) {
    const dir = makeTmpDir();
    return startDiskEngine(nodeFileSystem, join(dir, 'logs'), options, () => nodeFileSystem.rmrf(dir));
  },
};

export const memoryFsDiskEngine: EngineHarness = {
  name: 'disk engine over memory fs',
  start(options = {}) {
    const fs = new MemoryFileSystem();
    return startDiskEngine(fs, '/data/logs', options, () => fs.rmrf('/data'));
  },
};

export const ALL_ENGINES: readonly EngineHarness[] = [memoryEngine, nodeDiskEngine, memoryFsDiskEngine];
