// A memory file system that fails on a chosen step, for the cleaner's crash-at-every-step tests
// (compaction.test.ts, compaction-transactions.test.ts). Not a test file.
import assert from 'node:assert/strict';
import type { CompactionSettings } from '../../src/storage/cleaner/types.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';

/** Throws on the nth rename or unlink once armed, like a process dying at that step. */
export class FailingFileSystem extends MemoryFileSystem {
  failAt = Infinity;
  private ops = 0;
  private step(): void {
    if (++this.ops === this.failAt) throw new Error(`injected failure at step ${this.ops}`);
  }
  override rename(from: string, to: string): void {
    this.step();
    super.rename(from, to);
  }
  override unlink(path: string): void {
    this.step();
    super.unlink(path);
  }
  arm(n: number): void {
    this.ops = 0;
    this.failAt = n;
  }
}

/**
 * Compacts `log` with the nth rename or unlink of `fs` failing, then disarms `fs` and, if
 * `unsyncedCrash`, also loses what was not synced. True if the compaction ran to the end.
 */
export async function compactFailingAt(fs: FailingFileSystem, log: PartitionLog, n: number, settings: CompactionSettings, unsyncedCrash: boolean): Promise<boolean> {
  let finished = false;
  fs.arm(n);
  try {
    await log.compact!(settings);
    finished = true;
  } catch {
    // the injected failure
  }
  fs.arm(Infinity);
  if (unsyncedCrash) fs.crash();
  return finished;
}

/**
 * Calls `attempt(n, unsyncedCrash)` for n = 1, 2, ... below `maxSteps`, each without and then with an
 * unsynced crash, until an attempt without the crash reports that its compaction ran to the end (no
 * step n left to fail); asserts that one did.
 */
export async function crashAtEveryStep(maxSteps: number, attempt: (n: number, unsyncedCrash: boolean) => Promise<boolean>): Promise<void> {
  let completed = false;
  for (let n = 1; n < maxSteps && !completed; n++) {
    for (const unsyncedCrash of [false, true]) {
      if ((await attempt(n, unsyncedCrash)) && !unsyncedCrash) completed = true;
    }
  }
  assert.ok(completed);
}
