import { join } from 'node:path';
import type { FileSystem } from '../../io/file-system.js';
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segmentFilePath } from '../disk/log-dir-layout.js';

/**
 * Files of the cleaner's atomic segment swap (Kafka's scheme), in a partition directory:
 *   1. the cleaned copy is written and synced as `<base>.log.cleaned`;
 *   2. it is renamed to `<base>.log.swap`: from here the swap is committed;
 *   3. the old `<base>.log/.index/.timeindex` are deleted;
 *   4. `<base>.log.swap` is renamed to `<base>.log` (its indexes are rebuilt when it is opened).
 * On open, leftovers are settled before segments are listed: a `.cleaned` file is deleted (roll
 * back), a `.swap` file replaces its segment (roll forward). Renames and unlinks are atomic, so every
 * crash point leaves either the old segment or the complete cleaned one.
 */
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
/** Per partition: the offset below which the log has been compacted (Kafka keeps one per log dir). */
export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';

const CLEANER_FILE = /^(\d{20})\.log\.(cleaned|swap)$/;

export function cleanedPath(dir: string, baseOffset: number): string {
  return segmentFilePath(dir, baseOffset, LOG_SUFFIX) + CLEANED_SUFFIX;
}

export function swapPath(dir: string, baseOffset: number): string {
  return segmentFilePath(dir, baseOffset, LOG_SUFFIX) + SWAP_SUFFIX;
}

function unlinkIfExists(fs: FileSystem, path: string): void {
  if (fs.exists(path)) fs.unlink(path);
}

/** Delete a segment's three files, indexes first so a stale index never outlives its log. */
export function unlinkSegmentFiles(fs: FileSystem, dir: string, baseOffset: number): void {
  for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX]) unlinkIfExists(fs, segmentFilePath(dir, baseOffset, suffix));
}

/** Settle a swap interrupted by a crash; returns how many swaps were rolled forward. */
export function completeInterruptedSwaps(fs: FileSystem, dir: string): number {
  let rolledForward = 0;
  for (const name of fs.readdir(dir)) {
    const m = CLEANER_FILE.exec(name);
    if (m === null || m[1] === undefined) continue;
    const base = Number(m[1]);
    if (!Number.isSafeInteger(base)) continue;
    if (m[2] === 'cleaned') {
      fs.unlink(join(dir, name));
    } else {
      unlinkSegmentFiles(fs, dir, base);
      fs.rename(join(dir, name), segmentFilePath(dir, base, LOG_SUFFIX));
      rolledForward++;
    }
  }
  return rolledForward;
}

export function readCleanerCheckpoint(fs: FileSystem, dir: string): number {
  const path = join(dir, CLEANER_CHECKPOINT_FILE);
  if (!fs.exists(path)) return 0;
  const value = Number(fs.readFile(path).toString('utf8').trim());
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

export function writeCleanerCheckpoint(fs: FileSystem, dir: string, offset: number): void {
  fs.writeFileAtomic(join(dir, CLEANER_CHECKPOINT_FILE), Buffer.from(`${offset}\n`, 'utf8'));
}
