import { join } from 'node:path';
import type { FileSystem } from '../../io/file-system.js';
import { controlTypeOf, ControlType } from '../../protocol/records/control-batch.js';
import { NO_PRODUCER_EPOCH, ProducerStateManager, type AbortedTransaction, type ProducerEntry } from '../producer-state/producer-state.js';
import { isControlInfo, producerBatchOfInfo } from '../producer-state/producer-batch.js';
import { decodeSnapshot, encodeSnapshot } from '../producer-state/snapshot-file.js';
import { LOCATE_READ_BYTES } from './batch-scanner.js';
import { SNAPSHOT_SUFFIX, parseSnapshotFileName, segmentFilePath } from './log-dir-layout.js';
import { segmentIndexFor } from './recovery.js';
import type { LogSegment } from './segment.js';
import { readTxnIndex, txnIndexPath, writeTxnIndex } from './txn-index-file.js';

/**
 * The disk engine's producer state: loaded at start-up from the newest usable snapshot plus a replay
 * of every batch after it, and from the segments' aborted transaction indexes; snapshotted when a
 * segment rolls and at shutdown (Kafka's rule), so a restart replays at most the active segment.
 *
 * Snapshots are written without fsync (a write to a temporary name, then a rename): a snapshot that
 * a power loss damaged fails its CRC and the next older one, or the log itself, is used instead; one
 * that describes offsets the recovered log no longer has is deleted.
 */

/** Snapshots kept per partition: the newest and one before it. */
export const SNAPSHOTS_KEPT = 2;
/** Bytes read at once when a control batch's marker type is needed during replay. */
const CONTROL_READ_BYTES = 256;

export function snapshotPath(dir: string, offset: number): string {
  return segmentFilePath(dir, offset, SNAPSHOT_SUFFIX);
}

export function listSnapshots(fs: FileSystem, dir: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdir(dir)) {
    const offset = parseSnapshotFileName(name);
    if (offset !== null) out.push(offset);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Entries worth keeping: not the placeholders the partition log leaves when it undoes the only append
 * of a producer whose write failed (no epoch, no batches, no transaction), which stand for "unknown".
 */
function* knownProducers(producers: ProducerStateManager): Generator<ProducerEntry> {
  for (const e of producers.entries()) {
    if (e.epoch === NO_PRODUCER_EPOCH && e.batches.length === 0 && e.currentTxnFirstOffset < 0) continue;
    yield e;
  }
}

/** Write the state at `offset` and delete all but the newest SNAPSHOTS_KEPT snapshots. */
export function writeSnapshot(fs: FileSystem, dir: string, offset: number, producers: ProducerStateManager): void {
  const path = snapshotPath(dir, offset);
  const tmp = `${path}.tmp`;
  const handle = fs.open(tmp, 'w+');
  try {
    fs.write(handle, [encodeSnapshot(knownProducers(producers))], 0);
  } catch (err) {
    fs.close(handle);
    // Disk full or failing: leave no partial temporary file behind (it would hold space).
    try {
      fs.unlink(tmp);
    } catch {
      // Removed at the next successful snapshot's rename or never read: only `.snapshot` names are.
    }
    throw err;
  }
  fs.close(handle);
  fs.rename(tmp, path);
  const all = listSnapshots(fs, dir);
  for (const old of all.slice(0, Math.max(0, all.length - SNAPSHOTS_KEPT))) fs.unlink(snapshotPath(dir, old));
}

export interface LoadedProducerState {
  readonly producers: ProducerStateManager;
  /** Whether a usable snapshot was found (without one the whole log was replayed). */
  readonly fromSnapshot: boolean;
  /** Batches replayed after the snapshot. */
  readonly replayedBatches: number;
}

export function loadProducerState(
  fs: FileSystem,
  dir: string,
  name: string,
  segments: readonly LogSegment[],
  logStartOffset: number,
  logEndOffset: number,
): LoadedProducerState {
  const producers = new ProducerStateManager(name);
  for (const tmp of fs.readdir(dir)) if (tmp.endsWith(`${SNAPSHOT_SUFFIX}.tmp`)) fs.unlink(join(dir, tmp));

  // Aborted transactions from the segment indexes, less any whose marker the recovery cut off.
  for (const segment of segments) {
    const path = txnIndexPath(dir, segment.baseOffset);
    const entries = readTxnIndex(fs, path);
    const kept = entries.filter((e) => e.lastOffset < logEndOffset && e.lastOffset >= segment.baseOffset);
    if (kept.length !== entries.length) writeTxnIndex(fs, path, kept);
    for (const e of kept) if (e.lastOffset >= logStartOffset) producers.addAborted(e);
  }

  // The newest snapshot the log still reaches.
  let from = segments[0]?.baseOffset ?? logStartOffset;
  let fromSnapshot = false;
  for (const offset of listSnapshots(fs, dir).reverse()) {
    const path = snapshotPath(dir, offset);
    if (offset > logEndOffset) {
      fs.unlink(path);
      continue;
    }
    if (fromSnapshot) continue;
    const entries = decodeSnapshot(fs.readFile(path));
    if (entries === null) {
      fs.unlink(path);
      continue;
    }
    for (const e of entries) producers.restore(e);
    from = offset;
    fromSnapshot = true;
  }
  if (!fromSnapshot) from = Math.max(from, 0);

  const replayedBatches = replay(fs, dir, producers, segments, from, logEndOffset);
  return { producers, fromSnapshot, replayedBatches };
}

/** Apply every batch in [from, logEnd) to the state; abort markers missing from an index are added to it. */
function replay(fs: FileSystem, dir: string, producers: ProducerStateManager, segments: readonly LogSegment[], from: number, logEnd: number): number {
  if (from >= logEnd || segments.length === 0) return 0;
  let replayed = 0;
  const controlBuf = Buffer.allocUnsafe(CONTROL_READ_BYTES);
  let i = segmentIndexFor(segments, from);
  let position = (segments[i] as LogSegment).locate(from);
  for (; i < segments.length; i++, position = 0) {
    if (position === null) continue;
    const segment = segments[i] as LogSegment;
    const added: AbortedTransaction[] = [];
    const scan = segment.scanner(position, LOCATE_READ_BYTES * 4, false);
    for (;;) {
      const step = scan.next();
      if (step.kind !== 'batch') break;
      const info = step.info;
      if (info.lastOffset < from) continue;
      replayed++;
      if (!isControlInfo(info)) {
        producers.onAppend(producerBatchOfInfo(info), info.baseOffset);
        continue;
      }
      const length = Math.min(info.size, CONTROL_READ_BYTES);
      segment.readAt(controlBuf, 0, length, step.position);
      const type = controlTypeOf(controlBuf, 0, length);
      if (type !== ControlType.ABORT && type !== ControlType.COMMIT) continue;
      const coordinatorEpoch = -1;
      const aborted = producers.onMarker(info.producerId, info.producerEpoch, type === ControlType.COMMIT, coordinatorEpoch, info.baseOffset, info.maxTimestamp, info.lastOffset + 1);
      if (aborted !== null) added.push(aborted);
    }
    if (added.length > 0) {
      const path = txnIndexPath(dir, segment.baseOffset);
      const existing = readTxnIndex(fs, path);
      const known = new Set(existing.map((e) => e.lastOffset));
      const missing = added.filter((e) => !known.has(e.lastOffset));
      if (missing.length > 0) writeTxnIndex(fs, path, [...existing, ...missing].sort((a, b) => a.lastOffset - b.lastOffset));
    }
  }
  return replayed;
}
