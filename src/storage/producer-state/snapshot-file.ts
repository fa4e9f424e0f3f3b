import { crc32c } from '@node-rs/crc32';
import { readInt64, writeInt64 } from '../batch-header.js';
import { NO_SEQUENCE, type BatchMetadata, type ProducerEntry } from './producer-state.js';

/**
 * Producer-state snapshots in Kafka's `.snapshot` layout (version 1): int16 version, uint32 CRC32C of
 * everything after it, int32 entry count, then per entry producer id (int64), epoch (int16), last
 * sequence (int32), last offset (int64), offset delta (int32), timestamp (int64), coordinator epoch
 * (int32) and the open transaction's first offset (int64).
 *
 * Kafka writes one entry per producer (its last batch). To keep deduplicating up to five in-flight
 * retries across a crash we write one entry per remembered batch, oldest first; a reader that keeps
 * the last entry per producer (Kafka's) still gets a correct, smaller state.
 */

export const SNAPSHOT_VERSION = 1;
const HEADER_BYTES = 2 + 4 + 4;
const ENTRY_BYTES = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
/** A snapshot larger than this is not ours (every producer at the per-partition bound fits easily). */
export const SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024;

export function encodeSnapshot(entries: Iterable<ProducerEntry>): Buffer {
  const rows: Array<{ e: ProducerEntry; b: BatchMetadata | null }> = [];
  for (const e of entries) {
    if (e.batches.length === 0) rows.push({ e, b: null });
    for (const b of e.batches) rows.push({ e, b });
  }
  const buf = Buffer.alloc(HEADER_BYTES + rows.length * ENTRY_BYTES);
  buf.writeInt16BE(SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(rows.length, 6);
  let at = HEADER_BYTES;
  for (const { e, b } of rows) {
    writeInt64(buf, at, e.producerId);
    buf.writeInt16BE(e.epoch, at + 8);
    buf.writeInt32BE(b === null ? NO_SEQUENCE : b.lastSeq, at + 10);
    writeInt64(buf, at + 14, b === null ? -1 : b.lastOffset);
    buf.writeInt32BE(b === null ? 0 : b.lastOffset - b.firstOffset, at + 22);
    writeInt64(buf, at + 26, b === null ? e.lastTimestamp : b.timestamp);
    buf.writeInt32BE(e.coordinatorEpoch, at + 34);
    writeInt64(buf, at + 38, e.currentTxnFirstOffset);
    at += ENTRY_BYTES;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(6)) >>> 0, 2);
  return buf;
}

/** The entries of a snapshot, or null when the file is damaged or not a version we write. */
export function decodeSnapshot(buf: Buffer): ProducerEntry[] | null {
  if (buf.length < HEADER_BYTES || buf.length > SNAPSHOT_MAX_BYTES) return null;
  if (buf.readInt16BE(0) !== SNAPSHOT_VERSION) return null;
  if (crc32c(buf.subarray(6)) >>> 0 !== buf.readUInt32BE(2)) return null;
  const count = buf.readInt32BE(6);
  if (count < 0 || HEADER_BYTES + count * ENTRY_BYTES !== buf.length) return null;
  const byId = new Map<number, ProducerEntry>();
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++, at += ENTRY_BYTES) {
    const producerId = readInt64(buf, at);
    const epoch = buf.readInt16BE(at + 8);
    const lastSeq = buf.readInt32BE(at + 10);
    const lastOffset = readInt64(buf, at + 14);
    const offsetDelta = buf.readInt32BE(at + 22);
    const timestamp = readInt64(buf, at + 26);
    const coordinatorEpoch = buf.readInt32BE(at + 34);
    const currentTxnFirstOffset = readInt64(buf, at + 38);
    let entry = byId.get(producerId);
    if (entry === undefined || entry.epoch !== epoch) {
      entry = { producerId, epoch, batches: [], currentTxnFirstOffset, coordinatorEpoch, lastTimestamp: timestamp };
      byId.set(producerId, entry);
    }
    entry.currentTxnFirstOffset = currentTxnFirstOffset;
    entry.coordinatorEpoch = coordinatorEpoch;
    entry.lastTimestamp = Math.max(entry.lastTimestamp, timestamp);
    if (lastSeq !== NO_SEQUENCE && lastOffset >= 0) {
      // Sequences wrap from Int32.MAX to 0 (Kafka's DefaultRecordBatch.decrementSequence).
      const firstSeq = lastSeq - offsetDelta < 0 ? lastSeq - offsetDelta + 0x8000_0000 : lastSeq - offsetDelta;
      entry.batches.push({ firstSeq, lastSeq, firstOffset: lastOffset - offsetDelta, lastOffset, timestamp });
    }
  }
  return [...byId.values()];
}
