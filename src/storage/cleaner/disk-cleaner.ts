import type { FileSystem } from '../../io/file-system.js';
import { NO_TIMESTAMP } from '../batch-header.js';
import { recoverSegment } from '../disk/recovery.js';
import { LogSegment } from '../disk/segment.js';
import { encodeTxnIndex } from '../disk/txn-index-file.js';
import type { ProducerStateManager } from '../producer-state/producer-state.js';
import { planCleaning, type CleanableUnit } from './compactor.js';
import { cleanedPath, readCleanerCheckpoint, settleTxnIndex, swapPath, unlinkSegmentFiles, writeCleanerCheckpoint } from './swap-files.js';
import { cleanerTransactionsOf } from './transactions.js';
import { LOG_SUFFIX, TXN_INDEX_SUFFIX, segmentFilePath } from '../disk/log-dir-layout.js';
import type { CompactionResult, CompactionSettings } from './types.js';

/** What the disk cleaner needs from a DiskPartitionLog. */
export interface DiskCleanerHost {
  readonly fs: FileSystem;
  readonly dir: string;
  /** The live segment list, oldest first; the last one is active. */
  segments(): readonly LogSegment[];
  logStartOffset(): number;
  isClosed(): boolean;
  indexIntervalBytes(): number;
  nowMs(): number;
  /** Nothing at or past it is cleaned: the oldest open transaction's first offset, or the log end. */
  lastStableOffset(): number;
  /** Aborted transactions (for the cleaner and the cleaned segments' .txnindex) and producers' last batches. */
  producerState(): ProducerStateManager;
  /** Put `cleaned` where `old` was (old's files, .txnindex included, are already replaced) and note the directory changed. */
  replaceSegment(old: LogSegment, cleaned: LogSegment): void;
  /** Sync the partition directory (after renames). */
  syncDir(): Promise<void>;
}

function largestTimestamp(segment: LogSegment): number {
  return segment.maxTimestamp === NO_TIMESTAMP ? segment.createdAtMs : segment.maxTimestamp;
}

const NOTHING = (cleanedUpTo: number): CompactionResult => ({
  cleaned: false,
  cleanedUpTo,
  segmentsRewritten: 0,
  recordsRemoved: 0,
  bytesBefore: 0,
  bytesAfter: 0,
});

/**
 * One compaction pass over a disk partition. Reading and rewriting happen on a snapshot of the
 * non-active segments (appends go to the active one meanwhile); each swap then runs without awaiting,
 * after checking that its segment is still in the log (retention may have deleted it).
 */
export async function compactDiskLog(host: DiskCleanerHost, settings: CompactionSettings): Promise<CompactionResult> {
  const { fs, dir } = host;
  const firstDirty = Math.max(readCleanerCheckpoint(fs, dir), host.logStartOffset());
  const all = host.segments();
  const candidates: LogSegment[] = [];
  const lagCutoff = settings.now - settings.minCompactionLagMs;
  const lastStable = host.lastStableOffset();
  // Never the active segment; stop at the first segment with records newer than the compaction lag,
  // or reaching the last stable offset (Kafka's first uncleanable offset).
  for (let i = 0; i < all.length - 1; i++) {
    const s = all[i] as LogSegment;
    if (largestTimestamp(s) > lagCutoff || (all[i + 1] as LogSegment).baseOffset > lastStable) break;
    candidates.push(s);
  }
  const units: CleanableUnit[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const s = candidates[i] as LogSegment;
    s.finalizeTimeIndex();
    const bytes = Buffer.allocUnsafe(s.size);
    const got = s.readAt(bytes, 0, s.size, 0);
    const next = all[i + 1] as LogSegment;
    units.push({ baseOffset: s.baseOffset, endOffset: next.baseOffset, bytes: bytes.subarray(0, got) });
  }
  const last = units[units.length - 1];
  const txns = last === undefined ? undefined : cleanerTransactionsOf(host.producerState(), (units[0] as CleanableUnit).baseOffset, last.endOffset);
  const plan = await planCleaning(units, firstDirty, settings, txns);
  if (plan === null || host.isClosed()) return NOTHING(firstDirty);

  // Write and sync every cleaned copy, with its aborted transaction index, before any swap commits.
  // Abort markers are never removed, so a segment keeps the entries whose markers it holds.
  const aborted = host.producerState().allAborted();
  const staged: Array<{ segment: LogSegment; bytes: Buffer }> = [];
  for (const [i, bytes] of plan.rewrites) {
    const segment = candidates[i] as LogSegment;
    const { baseOffset } = segment;
    const end = (units[i] as CleanableUnit).endOffset;
    const index = encodeTxnIndex(aborted.filter((a) => a.lastOffset >= baseOffset && a.lastOffset < end));
    for (const [path, content] of [
      [cleanedPath(dir, baseOffset, TXN_INDEX_SUFFIX), index],
      [cleanedPath(dir, baseOffset), bytes],
    ] as const) {
      const handle = fs.open(path, 'w+');
      try {
        if (content.length > 0) fs.write(handle, [content], 0);
        await fs.fdatasync(handle);
      } finally {
        fs.close(handle);
      }
    }
    staged.push({ segment, bytes });
  }
  await host.syncDir();
  // Recovery accepts the gaps of cleaned segments only below this point, so it goes first.
  writeCleanerCheckpoint(fs, dir, plan.cleanedUpTo);

  let segmentsRewritten = 0;
  let bytesBefore = 0;
  let bytesAfter = 0;
  const live = host.segments();
  for (const { segment, bytes } of staged) {
    const at = live.indexOf(segment);
    const next = live[at + 1];
    if (host.isClosed() || at < 0 || next === undefined) {
      // Deleted by retention (or the log closed) while we cleaned: drop the copy.
      for (const path of [cleanedPath(dir, segment.baseOffset), cleanedPath(dir, segment.baseOffset, TXN_INDEX_SUFFIX)]) if (fs.exists(path)) fs.unlink(path);
      continue;
    }
    const base = segment.baseOffset;
    bytesBefore += segment.size;
    fs.rename(cleanedPath(dir, base, TXN_INDEX_SUFFIX), swapPath(dir, base, TXN_INDEX_SUFFIX));
    fs.rename(cleanedPath(dir, base), swapPath(dir, base));
    segment.delete();
    unlinkSegmentFiles(fs, dir, base);
    settleTxnIndex(fs, dir, base);
    fs.rename(swapPath(dir, base), segmentFilePath(dir, base, LOG_SUFFIX));
    const cleaned = LogSegment.open(fs, dir, base, host.nowMs());
    recoverSegment(cleaned, host.indexIntervalBytes(), next.baseOffset);
    cleaned.finalizeTimeIndex();
    host.replaceSegment(segment, cleaned);
    bytesAfter += bytes.length;
    segmentsRewritten++;
  }
  await host.syncDir();
  return {
    cleaned: true,
    cleanedUpTo: plan.cleanedUpTo,
    segmentsRewritten,
    recordsRemoved: plan.recordsRemoved,
    bytesBefore,
    bytesAfter,
    reason: plan.reason,
    oldestTombstoneTimestamp: plan.oldestTombstoneTimestamp,
  };
}
