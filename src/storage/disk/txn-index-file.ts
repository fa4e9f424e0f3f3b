import type { FileSystem } from '../../io/file-system.js';
import { readInt64, writeInt64 } from '../batch-header.js';
import type { AbortedTransaction } from '../producer-state/producer-state.js';
import { TXN_INDEX_SUFFIX, segmentFilePath } from './log-dir-layout.js';

/**
 * Kafka's `.txnindex`: the aborted transactions whose abort marker lies in a segment, 34 bytes each:
 * int16 version (0), producer id, first offset, last offset (the marker) and last stable offset
 * (int64 each). A read_committed fetch uses them to drop aborted records.
 *
 * Markers are rare (one per transaction and partition), so the file is rewritten whole, atomically
 * and synced, before the marker is appended: a durable abort marker always has its index entry.
 */

const ENTRY_BYTES = 34;
const ENTRY_VERSION = 0;
/** Entries read from one file at most (a segment holds far fewer markers than this). */
export const TXN_INDEX_ENTRIES_MAX = 1_000_000;

export function txnIndexPath(dir: string, baseOffset: number): string {
  return segmentFilePath(dir, baseOffset, TXN_INDEX_SUFFIX);
}

export function encodeTxnIndex(entries: readonly AbortedTransaction[]): Buffer {
  const buf = Buffer.alloc(entries.length * ENTRY_BYTES);
  entries.forEach((e, i) => {
    const at = i * ENTRY_BYTES;
    buf.writeInt16BE(ENTRY_VERSION, at);
    writeInt64(buf, at + 2, e.producerId);
    writeInt64(buf, at + 10, e.firstOffset);
    writeInt64(buf, at + 18, e.lastOffset);
    writeInt64(buf, at + 26, e.lastStableOffset);
  });
  return buf;
}

/** The entries of a txnindex (a torn last entry is ignored); empty when the file does not exist. */
export function readTxnIndex(fs: FileSystem, path: string): AbortedTransaction[] {
  if (!fs.exists(path)) return [];
  const buf = fs.readFile(path);
  const out: AbortedTransaction[] = [];
  const count = Math.min(Math.floor(buf.length / ENTRY_BYTES), TXN_INDEX_ENTRIES_MAX);
  for (let i = 0; i < count; i++) {
    const at = i * ENTRY_BYTES;
    if (buf.readInt16BE(at) !== ENTRY_VERSION) break;
    const e = { producerId: readInt64(buf, at + 2), firstOffset: readInt64(buf, at + 10), lastOffset: readInt64(buf, at + 18), lastStableOffset: readInt64(buf, at + 26) };
    if (e.firstOffset < 0 || e.lastOffset < e.firstOffset) break;
    out.push(e);
  }
  return out;
}

export function writeTxnIndex(fs: FileSystem, path: string, entries: readonly AbortedTransaction[]): void {
  if (entries.length === 0) {
    if (fs.exists(path)) fs.unlink(path);
    return;
  }
  fs.writeFileAtomic(path, encodeTxnIndex(entries));
}
