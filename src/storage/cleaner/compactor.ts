import { decodeRecordBatches, type DecodedBatch } from '../../protocol/records/record-batch-reader.js';
import { buildRecordBatch } from '../../protocol/records/record-batch-builder.js';
import type { CompressionCodec } from '../../protocol/records/compression.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD, MAX_TIMESTAMP_AT, NO_TIMESTAMP, batchSizeAt, readInt64 } from '../batch-header.js';
import { DEDUPE_ENTRY_OVERHEAD_BYTES, type CleaningReason, type CompactionSettings } from './types.js';

/**
 * The engine-independent part of log compaction. A "unit" is what gets rewritten as a whole: a
 * non-active segment on disk, a batch in memory. Units are given oldest first, all below the active
 * part and older than min.compaction.lag.ms.
 */
export interface CleanableUnit {
  readonly baseOffset: number;
  /** Exclusive: the base offset of whatever follows the unit. */
  readonly endOffset: number;
  /** The unit's batches, back to back. */
  readonly bytes: Buffer;
}

export interface CleanPlan {
  /** New contents (possibly empty) for the units that changed, by index in the input. */
  readonly rewrites: Map<number, Buffer>;
  /** Every record below this offset was deduplicated by this pass. */
  readonly cleanedUpTo: number;
  readonly recordsRemoved: number;
  readonly reason: CleaningReason;
  /** Max timestamp of the oldest cleanable batch below cleanedUpTo still holding a keyed tombstone; NO_TIMESTAMP when none. */
  readonly oldestTombstoneTimestamp: number;
}

/** Decompressed bytes allowed per batch while cleaning. */
const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

function isCleanable(batch: DecodedBatch): boolean {
  return !batch.isControl && !batch.isTransactional;
}

/** Split a unit's bytes into whole batches. */
function splitBatches(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + LOG_OVERHEAD <= bytes.length) {
    const size = batchSizeAt(bytes, pos);
    if (pos + size > bytes.length) break;
    out.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

/**
 * Whether a pass should clean, and why (Kafka's LogCleanerManager.grabFilthiestCompactedLog): the
 * dirty ratio reaches min.cleanable.dirty.ratio; or some dirty data is older than
 * max.compaction.lag.ms (KIP-354: the first batch timestamp of each dirty unit, timestamps <= 0
 * ignored); or the caller knows tombstones are due to expire. Null when none applies.
 */
export function cleaningReason(units: readonly CleanableUnit[], firstDirty: number, settings: CompactionSettings): CleaningReason | null {
  let totalBytes = 0;
  let dirtyBytes = 0;
  let earliestDirtyTimestamp = Number.POSITIVE_INFINITY;
  for (const u of units) {
    totalBytes += u.bytes.length;
    if (u.endOffset <= firstDirty) continue;
    dirtyBytes += u.bytes.length;
    if (u.bytes.length >= BATCH_HEADER_BYTES) {
      const first = readInt64(u.bytes, MAX_TIMESTAMP_AT);
      if (first > 0 && first < earliestDirtyTimestamp) earliestDirtyTimestamp = first;
    }
  }
  if (totalBytes === 0) return null;
  if (dirtyBytes > 0 && dirtyBytes / totalBytes >= settings.minCleanableDirtyRatio) return 'dirty-ratio';
  const maxLag = settings.maxCompactionLagMs;
  if (dirtyBytes > 0 && maxLag !== undefined && earliestDirtyTimestamp < settings.now - Math.max(maxLag, 0)) return 'max-compaction-lag';
  if (settings.expireTombstones === true) return 'tombstones';
  return null;
}

/**
 * Decide whether to clean and compute the rewritten units. `firstDirty` is where the last pass
 * stopped: records below it were already deduplicated among themselves, so the offset map covers
 * [firstDirty, cleanedUpTo) only, as in Kafka. Null when there is nothing to do. A pass run only for
 * tombstones may have nothing dirty: it then rewrites the clean part alone and cleanedUpTo stays at
 * firstDirty (never lower, since recovery trusts the cleaner checkpoint).
 */
export async function planCleaning(units: readonly CleanableUnit[], firstDirty: number, settings: CompactionSettings): Promise<CleanPlan | null> {
  if (units.length === 0) return null;
  const reason = cleaningReason(units, firstDirty, settings);
  if (reason === null) return null;

  const decoded: DecodedBatch[][] = [];
  const raw: Buffer[][] = [];
  for (const u of units) {
    const batches = splitBatches(u.bytes);
    raw.push(batches);
    decoded.push(await decodeRecordBatches(u.bytes, { verifyCrc: false, maxDecompressedBytes: MAX_DECOMPRESSED_BYTES }));
  }

  // The offset map, bounded by the dedupe buffer: when full, clean only up to where it got.
  const latest = new Map<string, number>();
  let used = 0;
  let cleanedUpTo = (units[units.length - 1] as CleanableUnit).endOffset;
  scan: for (const batches of decoded) {
    for (const batch of batches) {
      if (!isCleanable(batch)) continue;
      for (const r of batch.records) {
        if (r.offset < firstDirty || r.key === null) continue;
        const k = r.key.toString('latin1');
        if (!latest.has(k)) {
          const cost = r.key.length + DEDUPE_ENTRY_OVERHEAD_BYTES;
          if (used + cost > settings.dedupeBufferBytes) {
            cleanedUpTo = r.offset;
            break scan;
          }
          used += cost;
        }
        latest.set(k, r.offset);
      }
    }
  }
  if (reason === 'tombstones') cleanedUpTo = Math.max(cleanedUpTo, firstDirty);
  else if (cleanedUpTo <= firstDirty) return null;

  const tombstoneCutoff = settings.now - settings.deleteRetentionMs;
  const rewrites = new Map<number, Buffer>();
  let recordsRemoved = 0;
  let oldestTombstoneTimestamp = Number.POSITIVE_INFINITY;
  for (let i = 0; i < units.length; i++) {
    const unit = units[i] as CleanableUnit;
    if (unit.baseOffset >= cleanedUpTo) break;
    const batches = decoded[i] as DecodedBatch[];
    const rawBatches = raw[i] as Buffer[];
    const out: Buffer[] = [];
    let changed = false;
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b] as DecodedBatch;
      const bytes = rawBatches[b] as Buffer;
      if (!isCleanable(batch)) {
        out.push(bytes);
        continue;
      }
      const kept = batch.records.filter((r) => {
        if (r.offset >= cleanedUpTo || r.key === null) return true;
        const newest = latest.get(r.key.toString('latin1'));
        if (newest !== undefined && newest > r.offset) return false;
        // The newest record of its key (or in the clean part, already the only one): a tombstone
        // goes once delete.retention.ms has passed since its batch's max timestamp.
        if (r.value === null) {
          if (batch.header.maxTimestamp < tombstoneCutoff) return false;
          oldestTombstoneTimestamp = Math.min(oldestTombstoneTimestamp, batch.header.maxTimestamp);
        }
        return true;
      });
      recordsRemoved += batch.records.length - kept.length;
      if (kept.length === batch.records.length) {
        out.push(bytes);
        continue;
      }
      changed = true;
      const first = kept[0];
      if (first === undefined) continue;
      const h = batch.header;
      out.push(
        await buildRecordBatch({
          baseOffset: first.offset,
          records: kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offset - first.offset })),
          compression: batch.compression as CompressionCodec,
          producerId: h.producerId,
          producerEpoch: h.producerEpoch,
          baseSequence: h.baseSequence,
          partitionLeaderEpoch: h.partitionLeaderEpoch,
          timestampType: batch.timestampType,
        }),
      );
    }
    if (changed) rewrites.set(i, Buffer.concat(out));
  }
  return {
    rewrites,
    cleanedUpTo,
    recordsRemoved,
    reason,
    oldestTombstoneTimestamp: Number.isFinite(oldestTombstoneTimestamp) ? oldestTombstoneTimestamp : NO_TIMESTAMP,
  };
}
