import { join } from 'node:path';
import type { FileSystem } from '../../io/file-system.js';
import type { LogConfig } from '../log-config.js';
import { LOCATE_READ_BYTES, RECOVERY_READ_BYTES } from './batch-scanner.js';
import { LOG_SUFFIX, parseSegmentFileName } from './log-dir-layout.js';
import { LogSegment } from './segment.js';
import { completeInterruptedSwaps, readCleanerCheckpoint } from '../cleaner/swap-files.js';

/**
 * Loading a partition directory at startup. After a clean shutdown the files are trusted (only the
 * active segment's tail past its last index entry is read, to find the log end). After a crash every
 * segment from the one holding the recovery point is read back in full and each batch checked (sane
 * length within the file, magic 2, CRC32C, offsets contiguous); the log is cut at the first bad
 * batch, later segments are deleted, and the scanned segments' indexes are rebuilt.
 */

export interface LoadPartitionParams {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly nowMs: number;
  readonly config: LogConfig;
  readonly hadCleanShutdown: boolean;
  /** From the recovery-point checkpoint: every byte below it was fsynced. Absent: scan everything. */
  readonly recoveryPoint: number | undefined;
  /** From the log-start checkpoint. */
  readonly logStartOffset: number | undefined;
}

export interface LoadedPartition {
  readonly segments: LogSegment[];
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly recoveryPoint: number;
  /** Segments read back in full and validated. */
  readonly recoveredSegments: number;
  /** Bytes cut off (torn or corrupt tail) plus bytes in segments deleted after the cut. */
  readonly discardedBytes: number;
}

interface SegmentEnd {
  readonly nextOffset: number;
  readonly discardedBytes: number;
}

export function loadPartition(params: LoadPartitionParams): LoadedPartition {
  const { fs, dir, nowMs, config } = params;
  fs.mkdirp(dir);
  // A compaction swap cut short by a crash: roll back (.cleaned) or forward (.swap) first.
  completeInterruptedSwaps(fs, dir);
  const cleanedUpTo = readCleanerCheckpoint(fs, dir);
  const bases: number[] = [];
  const strayIndexes: string[] = [];
  for (const name of fs.readdir(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed === null) continue;
    if (parsed.suffix === LOG_SUFFIX) bases.push(parsed.baseOffset);
    else strayIndexes.push(name);
  }
  // Index files without a .log (a crash in the middle of deleting a segment) would otherwise be
  // adopted by a future segment with the same base offset.
  const baseSet = new Set(bases);
  for (const name of strayIndexes) {
    const parsed = parseSegmentFileName(name);
    if (parsed !== null && !baseSet.has(parsed.baseOffset)) fs.unlink(join(dir, name));
  }
  bases.sort((a, b) => a - b);

  if (bases.length === 0) {
    const base = params.logStartOffset ?? 0;
    return {
      segments: [LogSegment.create(fs, dir, base, nowMs)],
      logStartOffset: base,
      logEndOffset: base,
      recoveryPoint: base,
      recoveredSegments: 0,
      discardedBytes: 0,
    };
  }

  const segments = bases.map((base) => LogSegment.open(fs, dir, base, nowMs));
  const recoverFrom = params.hadCleanShutdown ? segments.length : segmentIndexFor(segments, params.recoveryPoint ?? 0);
  let logEndOffset = 0;
  let recoveredSegments = 0;
  let discardedBytes = 0;

  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as LogSegment;
    const next = segments[i + 1];
    const limit = next === undefined ? Number.MAX_SAFE_INTEGER : next.baseOffset;
    let end: SegmentEnd | null = null;
    if (i >= recoverFrom || !segment.loadIndexes()) {
      end = recoverSegment(segment, config.indexIntervalBytes, limit, cleanedUpTo);
      recoveredSegments++;
    } else if (next === undefined) {
      end = loadActiveTail(segment, config.indexIntervalBytes);
      if (end === null) {
        end = recoverSegment(segment, config.indexIntervalBytes, limit, cleanedUpTo);
        recoveredSegments++;
      }
    }
    if (end === null) continue;
    discardedBytes += end.discardedBytes;
    // A cut, or a segment ending short of where the next begins (its tail never reached the disk),
    // makes everything after it unreachable: offsets must stay contiguous with what we kept.
    // Below the cleaner checkpoint a segment may end short of the next one (compaction removed its tail).
    const shortIsGap = next !== undefined && next.baseOffset <= cleanedUpTo && end.nextOffset < next.baseOffset;
    if (next !== undefined && (end.discardedBytes > 0 || (end.nextOffset !== next.baseOffset && !shortIsGap))) {
      for (const later of segments.splice(i + 1)) {
        discardedBytes += later.fileSize();
        later.delete();
      }
    }
    if (i === segments.length - 1) logEndOffset = end.nextOffset;
  }

  const first = segments[0] as LogSegment;
  const logStartOffset = Math.min(Math.max(params.logStartOffset ?? 0, first.baseOffset), logEndOffset);
  // After a clean shutdown close() synced everything; after a crash only the checkpoint is proven.
  const recoveryPoint = params.hadCleanShutdown ? logEndOffset : Math.min(params.recoveryPoint ?? 0, logEndOffset);
  return { segments, logStartOffset, logEndOffset, recoveryPoint, recoveredSegments, discardedBytes };
}

/** Index of the last segment whose base offset is <= `offset` (0 if none). */
export function segmentIndexFor(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((segments[mid] as LogSegment).baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Read a whole segment back, checking every batch; cut it at the first bad one and rebuild both
 * indexes. `offsetLimit` is the next segment's base: a batch reaching it overlaps that segment.
 */
export function recoverSegment(segment: LogSegment, indexIntervalBytes: number, offsetLimit: number, gapsBelow = Number.POSITIVE_INFINITY): SegmentEnd {
  segment.resetIndexes();
  const fileSize = segment.fileSize();
  const scan = segment.scanner(0, RECOVERY_READ_BYTES, true, fileSize);
  let nextOffset = segment.baseOffset;
  let validBytes = 0;
  for (;;) {
    const step = scan.next();
    if (step.kind !== 'batch') break;
    const info = step.info;
    // Compaction leaves offset gaps, so in the cleaned part of the log (below the cleaner checkpoint) a
    // batch may start past where the last one ended. Elsewhere a gap is damage: the CRC does not cover
    // the base offset, and one flipped bit there must not move the log end. Overlaps are always damage.
    if (info.baseOffset < nextOffset || info.lastOffset >= offsetLimit) break;
    if (info.baseOffset > nextOffset && info.baseOffset >= gapsBelow) break;
    segment.track(info, step.position, indexIntervalBytes);
    nextOffset = info.lastOffset + 1;
    validBytes = step.position + info.size;
  }
  if (validBytes < fileSize) segment.truncateLog(validBytes);
  segment.persistIndexes();
  // What we read may exist only in the page cache (the process died, the machine did not).
  segment.markUnsynced();
  return { nextOffset, discardedBytes: fileSize - validBytes };
}

/**
 * After a clean shutdown: find the active segment's end by reading only past its last index entry,
 * resuming the index cadence where it stopped. Null when that tail is not sound (recover instead).
 */
function loadActiveTail(segment: LogSegment, indexIntervalBytes: number): SegmentEnd | null {
  const from = segment.offsetIndex.lastPosition();
  const scan = segment.scanner(from, LOCATE_READ_BYTES, false);
  let indexedBatchPending = segment.offsetIndex.entries > 0;
  let nextOffset = segment.baseOffset;
  for (;;) {
    const step = scan.next();
    if (step.kind === 'invalid') return null;
    if (step.kind === 'end') break;
    if (indexedBatchPending) {
      segment.trackIndexed(step.info);
      indexedBatchPending = false;
    } else {
      segment.track(step.info, step.position, indexIntervalBytes);
    }
    nextOffset = step.info.lastOffset + 1;
  }
  if (segment.fileSize() !== segment.size) return null;
  segment.persistIndexes();
  return { nextOffset, discardedBytes: 0 };
}
