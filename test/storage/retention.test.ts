import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OffsetOutOfRangeError, type PartitionLog } from '../../src/storage/types.js';
import { ALL_ENGINES, type Engine, type EngineHarness } from './engines.js';
import { decodeBatches, makeSizedBatch } from './make-batch.js';

const TOPIC_ID = '6c2e9ca0-af8e-4b20-9d9d-3e4f5a6b7c8d';
/** With 600-byte batches and segment.bytes 700, every batch is its own segment on disk. */
const ONE_BATCH_PER_SEGMENT = { 'segment.bytes': '700' };
const NOW = 100_000;
const UNLIMITED = -1;

async function withLog(harness: EngineHarness, fn: (p: PartitionLog, engine: Engine) => Promise<void> | void): Promise<void> {
  const engine = await harness.start();
  try {
    engine.manager.createTopic('t', 1, ONE_BATCH_PER_SEGMENT, TOPIC_ID);
    const p = engine.manager.partition('t', 0);
    assert.ok(p);
    await fn(p, engine);
  } finally {
    await engine.cleanup();
  }
}

/** Append one two-record batch per timestamp; batch i holds offsets 2i and 2i+1. Returns the batch size. */
function appendBatches(p: PartitionLog, timestamps: readonly number[]): number {
  let size = 0;
  timestamps.forEach((ts, i) => {
    const batch = makeSizedBatch(2, 600, `b${i}`, ts);
    size = batch.length;
    p.append(batch);
  });
  return size;
}

function baseOffsets(p: PartitionLog): number[] {
  return decodeBatches(p.read(p.logStartOffset(), Number.MAX_SAFE_INTEGER, true).chunks).map((b) => b.baseOffset);
}

for (const harness of ALL_ENGINES) {
  describe(`retention: ${harness.name}`, () => {
    it('deletes segments whose largest timestamp is older than retention.ms', () =>
      withLog(harness, (p, e) => {
        appendBatches(p, [1000, 2000, 3000, 4000, 5000]);
        if (e.segmentFiles) assert.equal(e.segmentFiles('t', 0).length, 5);
        const r = p.applyRetention({ now: 10_000, retentionMs: 6_500, retentionBytes: UNLIMITED });
        assert.equal(r.deletedSegments, 3);
        assert.ok(r.deletedBytes > 0);
        assert.equal(r.logStartOffset, 6);
        assert.equal(p.logStartOffset(), 6);
        if (e.segmentFiles) assert.equal(e.segmentFiles('t', 0).length, 2);
        assert.throws(() => p.read(4, 1000, true), OffsetOutOfRangeError);
        assert.deepEqual(baseOffsets(p), [6, 8]);
        assert.deepEqual(p.offsetForTimestamp(0), { offset: 6, timestamp: 4000 });
        // Nothing more has expired: a second check changes nothing.
        assert.deepEqual(p.applyRetention({ now: 10_000, retentionMs: 6_500, retentionBytes: UNLIMITED }), {
          deletedSegments: 0,
          deletedBytes: 0,
          logStartOffset: 6,
        });
      }));

    it('stops at the first segment still within retention, like Kafka', () =>
      withLog(harness, (p) => {
        appendBatches(p, [1000, 9000, 1000, 9000]);
        const r = p.applyRetention({ now: 10_000, retentionMs: 5_000, retentionBytes: UNLIMITED });
        assert.equal(r.deletedSegments, 1);
        assert.equal(p.logStartOffset(), 2);
      }));

    it('never deletes the active segment, and appends continue at the log end', () =>
      withLog(harness, (p) => {
        const size = appendBatches(p, [1, 2, 3, 4]);
        const r = p.applyRetention({ now: NOW, retentionMs: 0, retentionBytes: 0 });
        assert.equal(r.deletedSegments, 3);
        assert.equal(r.deletedBytes, 3 * size);
        assert.equal(p.logStartOffset(), 6);
        assert.equal(p.logEndOffset(), 8);
        assert.equal(p.sizeBytes(), size);
        assert.deepEqual(baseOffsets(p), [6]);
        assert.equal(p.append(makeSizedBatch(2, 600, 'n0', NOW)).baseOffset, 8);
        assert.deepEqual(baseOffsets(p), [6, 8]);
      }));

    it('keeps everything when both limits are unlimited', () =>
      withLog(harness, (p) => {
        appendBatches(p, [1, 2, 3]);
        const r = p.applyRetention({ now: NOW, retentionMs: UNLIMITED, retentionBytes: UNLIMITED });
        assert.deepEqual(r, { deletedSegments: 0, deletedBytes: 0, logStartOffset: 0 });
        assert.deepEqual(baseOffsets(p), [0, 2, 4]);
      }));

    it('deletes the oldest segments while the rest still hold retention.bytes', () =>
      withLog(harness, (p) => {
        const size = appendBatches(p, [NOW, NOW, NOW, NOW, NOW]);
        assert.equal(p.sizeBytes(), 5 * size);
        // 2 segments + 1 byte: three must stay (two would be below the limit).
        let r = p.applyRetention({ now: NOW, retentionMs: UNLIMITED, retentionBytes: 2 * size + 1 });
        assert.equal(r.deletedSegments, 2);
        assert.equal(r.deletedBytes, 2 * size);
        assert.equal(p.sizeBytes(), 3 * size);
        assert.equal(p.logStartOffset(), 4);
        // Exactly 2 segments: one more goes.
        r = p.applyRetention({ now: NOW, retentionMs: UNLIMITED, retentionBytes: 2 * size });
        assert.equal(r.deletedSegments, 1);
        assert.equal(p.logStartOffset(), 6);
        assert.deepEqual(baseOffsets(p), [6, 8]);
      }));

    it('applies time, then size, in one check', () =>
      withLog(harness, (p) => {
        const size = appendBatches(p, [1000, 50_000, 60_000, 70_000, 80_000]);
        const r = p.applyRetention({ now: NOW, retentionMs: 90_000, retentionBytes: 2 * size });
        assert.equal(r.deletedSegments, 3); // one by time, two by size
        assert.equal(p.logStartOffset(), 6);
      }));

    it('moves past a DeleteRecords start and never back below it', () =>
      withLog(harness, (p) => {
        appendBatches(p, [1000, 2000, 3000, 4000, 5000]);
        p.advanceLogStartOffset(5); // inside batch 2 (offsets 4..5)
        assert.equal(p.logStartOffset(), 5);
        // Nothing expired: the DeleteRecords start stays.
        assert.equal(p.applyRetention({ now: 3500, retentionMs: 1000, retentionBytes: UNLIMITED }).logStartOffset, 5);
        assert.equal(p.logStartOffset(), 5);
        // Batch 2 (max timestamp 3000) expires: the start moves to the next segment.
        const r = p.applyRetention({ now: 4500, retentionMs: 1000, retentionBytes: UNLIMITED });
        assert.equal(r.deletedSegments, 1);
        assert.equal(r.logStartOffset, 6);
        assert.deepEqual(baseOffsets(p), [6, 8]);
      }));

    it('keeps the new log start across a reopen, and time retention still works after it', async () => {
      const engine = await harness.start();
      try {
        engine.manager.createTopic('t', 1, ONE_BATCH_PER_SEGMENT, TOPIC_ID);
        let p = engine.manager.partition('t', 0);
        assert.ok(p);
        appendBatches(p, [1000, 2000, 3000, 4000, 5000]);
        await p.flush();
        p.applyRetention({ now: 10_000, retentionMs: 8_500, retentionBytes: UNLIMITED });
        assert.equal(p.logStartOffset(), 2);
        const manager = await engine.reopen();
        p = manager.partition('t', 0);
        assert.ok(p);
        assert.equal(p.logStartOffset(), 2);
        assert.equal(p.logEndOffset(), 10);
        assert.throws(() => p?.read(0, 1000, true), OffsetOutOfRangeError);
        if (engine.segmentFiles) assert.equal(engine.segmentFiles('t', 0).length, 4);
        // The reopened segments' largest timestamps come from their time indexes.
        const r = p.applyRetention({ now: 10_000, retentionMs: 6_500, retentionBytes: UNLIMITED });
        assert.equal(r.deletedSegments, 2);
        assert.equal(p.logStartOffset(), 6);
        const again = (await engine.reopen()).partition('t', 0);
        assert.equal(again?.logStartOffset(), 6);
      } finally {
        await engine.cleanup();
      }
    });
  });
}
