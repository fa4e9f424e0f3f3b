import { decodeRecordBatches, type DecodedBatch, type DecodedRecord } from '../../protocol/records/record-batch-reader.js';
import { buildRecordBatch, writeRecordBatchHeader } from '../../protocol/records/record-batch-builder.js';
import type { CompressionCodec } from '../../protocol/records/compression.js';
import { ControlType } from '../../protocol/records/control-batch.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
  type BatchHeader,
} from '../../protocol/records/batch-header.js';
import type { AbortedTransaction } from '../producer-state/producer-state.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD, MAX_TIMESTAMP_AT, NO_TIMESTAMP, batchSizeAt, readInt64 } from '../batch-header.js';
import { DEDUPE_ENTRY_OVERHEAD_BYTES, NO_TRANSACTIONS, type CleanerTransactions, type CleaningReason, type CompactionSettings } from './types.js';

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
  /**
   * Max timestamp of the oldest cleanable batch below cleanedUpTo still holding a keyed tombstone or a
   * COMMIT marker that a later pass may remove; NO_TIMESTAMP when none.
   */
  readonly oldestTombstoneTimestamp: number;
}

/** Decompressed bytes allowed per batch while cleaning. */
const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/**
 * What a batch is to the cleaner. Transactional data is 'committed' or 'aborted' by the next marker of
 * its producer in the units, or, when that marker lies beyond them, by the aborted transaction list.
 */
type Fate = 'plain' | 'committed' | 'aborted' | 'marker';

interface Classified {
  readonly fate: Fate;
  /** For a COMMIT or ABORT marker: its control type and the data batches of its transaction in the units. */
  readonly controlType?: number;
  readonly transaction?: Array<readonly [number, number]>;
}

/** The control type of a decoded control batch (its record's key: int16 version, int16 type), or null. */
function controlTypeOfBatch(batch: DecodedBatch): number | null {
  const key = batch.records[0]?.key;
  return key === undefined || key === null || key.length < 4 ? null : key.readInt16BE(2);
}

function isListedAborted(byProducer: ReadonlyMap<number, readonly AbortedTransaction[]>, producerId: number, offset: number): boolean {
  for (const a of byProducer.get(producerId) ?? []) if (a.firstOffset <= offset && offset < a.lastOffset) return true;
  return false;
}

/** Sort every batch of the units into plain, committed or aborted data and markers, in one forward scan. */
function classify(decoded: readonly DecodedBatch[][], txns: CleanerTransactions): Classified[][] {
  const out: Classified[][] = decoded.map((batches) => batches.map((): Classified => ({ fate: 'plain' })));
  // Producer id -> its transactional data batches since its last marker.
  const open = new Map<number, Array<readonly [number, number]>>();
  decoded.forEach((batches, i) =>
    batches.forEach((batch, b) => {
      const producerId = batch.header.producerId;
      if (batch.isControl) {
        const controlType = controlTypeOfBatch(batch);
        if (controlType !== ControlType.ABORT && controlType !== ControlType.COMMIT) {
          out[i]![b] = { fate: 'marker' };
          return;
        }
        const transaction = open.get(producerId) ?? [];
        open.delete(producerId);
        const fate: Fate = controlType === ControlType.ABORT ? 'aborted' : 'committed';
        for (const [ti, tb] of transaction) out[ti]![tb] = { fate };
        out[i]![b] = { fate: 'marker', controlType, transaction };
      } else if (batch.isTransactional) {
        let transaction = open.get(producerId);
        if (transaction === undefined) open.set(producerId, (transaction = []));
        transaction.push([i, b]);
      }
    }),
  );
  const byProducer = new Map<number, AbortedTransaction[]>();
  for (const a of txns.aborted) {
    const list = byProducer.get(a.producerId);
    if (list === undefined) byProducer.set(a.producerId, [a]);
    else list.push(a);
  }
  for (const [producerId, transaction] of open) {
    for (const [i, b] of transaction) {
      const base = (decoded[i]![b] as DecodedBatch).header.baseOffset;
      out[i]![b] = { fate: isListedAborted(byProducer, producerId, base) ? 'aborted' : 'committed' };
    }
  }
  return out;
}

/**
 * A batch with no records that keeps the original's offsets and producer fields (Kafka's
 * writeEmptyHeader): what remains of a producer's last batch once all its records are gone.
 */
function emptyBatch(h: BatchHeader): Buffer {
  return writeRecordBatchHeader(Buffer.alloc(RECORD_BATCH_HEADER_SIZE), {
    baseOffset: h.baseOffset,
    count: 0,
    lastOffsetDelta: h.lastOffsetDelta,
    baseTimestamp: h.maxTimestamp,
    maxTimestamp: h.maxTimestamp,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    isTransactional: (h.attributes & TRANSACTIONAL_MASK) !== 0,
    timestampType: (h.attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 1 : 0,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
  });
}

/**
 * The batch with only `kept` (non-empty) of its records. As in Kafka, the base offset, the last offset
 * delta (so baseSequence + lastOffsetDelta is still the batch's last sequence), the producer fields and
 * the transactional attribute are the original's.
 */
async function rebuiltBatch(batch: DecodedBatch, kept: readonly DecodedRecord[]): Promise<Buffer> {
  const h = batch.header;
  const out = await buildRecordBatch({
    baseOffset: h.baseOffset,
    records: kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offset - h.baseOffset })),
    compression: batch.compression as CompressionCodec,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    isTransactional: batch.isTransactional,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    timestampType: batch.timestampType,
  });
  out.writeInt32BE(h.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return out;
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
 *
 * Transactions follow Kafka's cleaner (LogCleaner / CleanedTransactionMetadata); the caller ends the
 * units at the last stable offset, so every transaction with data here has its marker written:
 * - records of aborted transactions neither enter the offset map (they shadow nothing) nor survive;
 * - committed transactional records are compacted like any others; rewritten batches keep their
 *   offsets, producer fields and transactional attribute;
 * - a marker is never a compaction key. An ABORT marker stays (its aborted-transaction entry, which
 *   read_committed fetches rely on, stays with it). A COMMIT marker stays while this pass met any batch
 *   of its transaction, so it outlives its data by at least one pass (Kafka's two passes), and goes
 *   once none is left and it is older than delete.retention.ms, unless it is its producer's last entry;
 * - a producer's last data batch is kept, emptied of its records if need be;
 * - a whole batch goes only below cleanedUpTo (recovery accepts offset gaps only there); a batch
 *   reaching past it that would go is kept empty instead.
 */
export async function planCleaning(
  units: readonly CleanableUnit[],
  firstDirty: number,
  settings: CompactionSettings,
  txns: CleanerTransactions = NO_TRANSACTIONS,
): Promise<CleanPlan | null> {
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
  const classified = classify(decoded, txns);

  // The offset map, bounded by the dedupe buffer: when full, clean only up to where it got.
  const latest = new Map<string, number>();
  let used = 0;
  let cleanedUpTo = (units[units.length - 1] as CleanableUnit).endOffset;
  scan: for (let i = 0; i < decoded.length; i++) {
    const batches = decoded[i] as DecodedBatch[];
    for (let b = 0; b < batches.length; b++) {
      const fate = (classified[i]![b] as Classified).fate;
      if (fate === 'marker' || fate === 'aborted') continue;
      for (const r of (batches[b] as DecodedBatch).records) {
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

  const removableAt = settings.now - settings.deleteRetentionMs;
  const isProducersLastBatch = (h: BatchHeader): boolean => h.producerId >= 0 && txns.lastRecords.get(h.producerId)?.lastDataOffset === h.baseOffset + h.lastOffsetDelta;
  const isProducersLastMarker = (h: BatchHeader): boolean => {
    const last = txns.lastRecords.get(h.producerId);
    return last !== undefined && last.lastDataOffset === null && last.epoch === h.producerEpoch;
  };
  // Batches this pass removes whole, as "unit:batch".
  const dropped = new Set<string>();
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
      const h = batch.header;
      const lastOffset = h.baseOffset + h.lastOffsetDelta;
      const c = classified[i]![b] as Classified;
      if (c.fate === 'marker') {
        if (c.controlType !== ControlType.COMMIT) {
          out.push(bytes);
          continue;
        }
        // Kafka's onControlBatchRead: met data of its transaction keeps the marker for this pass.
        const transaction = c.transaction ?? [];
        if (isProducersLastMarker(h)) {
          out.push(bytes);
        } else if (transaction.length > 0) {
          out.push(bytes);
          if (transaction.every(([ti, tb]) => dropped.has(`${ti}:${tb}`))) oldestTombstoneTimestamp = Math.min(oldestTombstoneTimestamp, h.maxTimestamp);
        } else if (h.maxTimestamp < removableAt && lastOffset < cleanedUpTo) {
          changed = true;
          recordsRemoved += batch.records.length;
        } else {
          out.push(bytes);
          oldestTombstoneTimestamp = Math.min(oldestTombstoneTimestamp, h.maxTimestamp);
        }
        continue;
      }
      const kept =
        c.fate === 'aborted'
          ? []
          : batch.records.filter((r) => {
              if (r.offset >= cleanedUpTo || r.key === null) return true;
              const newest = latest.get(r.key.toString('latin1'));
              if (newest !== undefined && newest > r.offset) return false;
              // The newest record of its key (or in the clean part, already the only one): a tombstone
              // goes once delete.retention.ms has passed since its batch's max timestamp.
              if (r.value === null) {
                if (h.maxTimestamp < removableAt) return false;
                oldestTombstoneTimestamp = Math.min(oldestTombstoneTimestamp, h.maxTimestamp);
              }
              return true;
            });
      recordsRemoved += batch.records.length - kept.length;
      if (kept.length > 0 && kept.length === batch.records.length) {
        out.push(bytes);
        continue;
      }
      if (kept.length > 0) {
        changed = true;
        out.push(await rebuiltBatch(batch, kept));
        continue;
      }
      // Nothing left: the producer's last batch stays (empty), and so does a batch reaching past cleanedUpTo.
      if (isProducersLastBatch(h) || lastOffset >= cleanedUpTo) {
        if (batch.records.length === 0) {
          out.push(bytes);
        } else {
          changed = true;
          out.push(emptyBatch(h));
        }
        continue;
      }
      changed = true;
      dropped.add(`${i}:${b}`);
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
