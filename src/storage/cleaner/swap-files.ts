import { join } from 'node:path';
import type { FileSystem } from '../../io/file-system.js';
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, segmentFilePath } from '../disk/log-dir-layout.js';

/**
 * Files of the cleaner's atomic segment swap (Kafka's scheme), in a partition directory:
 *   1. the cleaned copy is written and synced as `<base>.log.cleaned`, and its aborted transaction
 *      index as `<base>.txnindex.cleaned` (always, empty when it has no entries);
 *   2. `<base>.txnindex.cleaned` is renamed to `<base>.txnindex.swap`, then `<base>.log.cleaned` to
 *      `<base>.log.swap`: from here the swap is committed;
 *   3. the old `<base>.log/.index/.timeindex/.txnindex` are deleted;
 *   4. `<base>.txnindex.swap` becomes `<base>.txnindex` (or is deleted when empty), then
 *      `<base>.log.swap` is renamed to `<base>.log` (its indexes are rebuilt when it is opened).
 * On open, leftovers are settled before segments are listed: a segment with a `.log.swap` is rolled
 * forward (its new txnindex taken from `.txnindex.swap` or `.txnindex.cleaned`, both complete, or
 * already in place when neither is left), then every other `.cleaned` or `.swap` file is deleted (roll
 * back). Renames and unlinks are atomic, so every crash point leaves either the old segment with its
 * txnindex or the complete cleaned one with its own.
 */
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
/** Per partition: the offset below which the log has been compacted (Kafka keeps one per log dir). */
export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';

const CLEANER_FILE = /^(\d{20})\.(log|txnindex)\.(cleaned|swap)$/;

export function cleanedPath(dir: string, baseOffset: number, suffix = LOG_SUFFIX): string {
  return segmentFilePath(dir, baseOffset, suffix) + CLEANED_SUFFIX;
}

export function swapPath(dir: string, baseOffset: number, suffix = LOG_SUFFIX): string {
  return segmentFilePath(dir, baseOffset, suffix) + SWAP_SUFFIX;
}

function unlinkIfExists(fs: FileSystem, path: string): void {
  if (fs.exists(path)) fs.unlink(path);
}

/** Delete a segment's three files, indexes first so a stale index never outlives its log. */
export function unlinkSegmentFiles(fs: FileSystem, dir: string, baseOffset: number): void {
  for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX]) unlinkIfExists(fs, segmentFilePath(dir, baseOffset, suffix));
}

/**
 * Step 4 for the txnindex: the staged index (`.txnindex.swap` or `.txnindex.cleaned`) replaces the
 * segment's; an empty one only removes it. No staged index: already in place.
 */
export function settleTxnIndex(fs: FileSystem, dir: string, baseOffset: number): void {
  const target = segmentFilePath(dir, baseOffset, TXN_INDEX_SUFFIX);
  for (const staged of [swapPath(dir, baseOffset, TXN_INDEX_SUFFIX), cleanedPath(dir, baseOffset, TXN_INDEX_SUFFIX)]) {
    if (!fs.exists(staged)) continue;
    unlinkIfExists(fs, target);
    if (fs.readFile(staged).length === 0) fs.unlink(staged);
    else fs.rename(staged, target);
    return;
  }
}

/** Settle a swap interrupted by a crash; returns how many swaps were rolled forward. */
export function completeInterruptedSwaps(fs: FileSystem, dir: string): number {
  let rolledForward = 0;
  const leftovers: Array<{ name: string; base: number; kind: string; stage: string }> = [];
  for (const name of fs.readdir(dir)) {
    const m = CLEANER_FILE.exec(name);
    if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
    const base = Number(m[1]);
    if (Number.isSafeInteger(base)) leftovers.push({ name, base, kind: m[2], stage: m[3] });
  }
  // Committed swaps first: they may take their txnindex from a `.txnindex.cleaned` not yet renamed.
  for (const f of leftovers) {
    if (f.kind !== 'log' || f.stage !== 'swap') continue;
    unlinkSegmentFiles(fs, dir, f.base);
    settleTxnIndex(fs, dir, f.base);
    fs.rename(join(dir, f.name), segmentFilePath(dir, f.base, LOG_SUFFIX));
    rolledForward++;
  }
  for (const f of leftovers) if (f.kind !== 'log' || f.stage !== 'swap') unlinkIfExists(fs, join(dir, f.name));
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
