// When a compaction pass cleans besides the dirty ratio, on both engines: dirty data older than
// max.compaction.lag.ms (KIP-354), and tombstones past delete.retention.ms when nothing new was written
// (the pass the scheduler asks for with expireTombstones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/records/record-batch-reader.js';
import { createDiskLogManager, createMemoryLogManager } from '../../src/storage/index.js';
import type { CompactionSettings } from '../../src/storage/cleaner/types.js';
import type { LogManager, PartitionLog } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { ManualClock } from './manual-clock.js';

const NOW = 1_000_000_000;
const OLD = NOW - 1000;

function settings(over: Partial<CompactionSettings> = {}): CompactionSettings {
  return { now: NOW, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, deleteRetentionMs: 86_400_000, dedupeBufferBytes: 1 << 20, ...over };
}

async function put(log: PartitionLog, key: string, value: string | null, timestamp = OLD): Promise<number> {
  const batch = await buildRecordBatch({ records: [{ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp }] });
  return log.append(batch).baseOffset;
}

interface Rec {
  offset: number;
  key: string;
  value: string | null;
}

async function readAll(log: PartitionLog): Promise<Rec[]> {
  const r = log.read(log.logStartOffset(), 1 << 24, true);
  const out: Rec[] = [];
  for (const b of await decodeRecordBatches(Buffer.concat(r.chunks), { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
    for (const rec of b.records) out.push({ offset: rec.offset, key: rec.key?.toString() ?? '', value: rec.value?.toString() ?? null });
  }
  return out;
}

async function openMemory(): Promise<{ manager: LogManager; log: PartitionLog }> {
  const manager = createMemoryLogManager();
  await manager.open();
  manager.createTopic('t', 1, {}, '00000000-0000-0000-0000-000000000001');
  return { manager, log: manager.partition('t', 0) as PartitionLog };
}

async function openDisk(): Promise<{ manager: LogManager; log: PartitionLog }> {
  const manager = createDiskLogManager({ logDir: '/data', fs: new MemoryFileSystem(), clock: new ManualClock(), options: { segmentBytes: 300 } });
  await manager.open();
  manager.createTopic('t', 1, {}, '00000000-0000-0000-0000-000000000001');
  return { manager, log: manager.partition('t', 0) as PartitionLog };
}

for (const [name, open] of [
  ['memory', openMemory],
  ['disk', openDisk],
] as const) {
  test(`${name}: dirty data older than max.compaction.lag.ms is cleaned below min.cleanable.dirty.ratio`, async () => {
    const { manager, log } = await open();
    for (let k = 0; k < 30; k++) await put(log, `k${k}`, 'v0');
    assert.equal((await log.compact!(settings())).cleaned, true, 'first pass: everything is dirty');
    // A little dirty data over a large clean part: k0 and k1 rewritten, then filler to push them out
    // of the active part. Every dirty unit's first batch is OLD (or later).
    const k0 = await put(log, 'k0', 'v1', NOW);
    await put(log, 'k1', 'v1', NOW);
    for (let i = 0; i < 8; i++) await put(log, `f${i}`, 'x', NOW);
    const lag = 60_000;

    let r = await log.compact!(settings({ maxCompactionLagMs: lag }));
    assert.equal(r.cleaned, false, 'ratio below 0.5 and no dirty data older than the lag');
    r = await log.compact!(settings({ now: OLD + lag, maxCompactionLagMs: lag }));
    assert.equal(r.cleaned, false, 'exactly max.compaction.lag.ms old is not older than it');
    assert.equal((await readAll(log)).filter((x) => x.key === 'k0').length, 2, 'k0 not yet deduplicated');

    r = await log.compact!(settings({ now: OLD + lag + 1, maxCompactionLagMs: lag }));
    assert.equal(r.cleaned, true);
    assert.equal(r.reason, 'max-compaction-lag');
    assert.ok(r.recordsRemoved >= 2, `removed ${r.recordsRemoved}`);
    const recs = await readAll(log);
    assert.deepEqual(recs.filter((x) => x.key === 'k0'), [{ offset: k0, key: 'k0', value: 'v1' }]);
    assert.deepEqual(recs.filter((x) => x.key === 'k1').map((x) => x.value), ['v1']);

    // Without max.compaction.lag.ms the same old data would have waited for the ratio.
    await put(log, 'k2', 'v1', NOW);
    for (let i = 0; i < 8; i++) await put(log, `g${i}`, 'x', NOW);
    assert.equal((await log.compact!(settings({ now: NOW + 10 * lag }))).cleaned, false);
    await manager.close();
  });

  test(`${name}: a pass for expired tombstones drops them with no new writes, and reports the oldest kept`, async () => {
    const { manager, log } = await open();
    await put(log, 'a', 'a1');
    await put(log, 'b', 'b1');
    const tomb = await put(log, 'a', null);
    for (let i = 0; i < 8; i++) await put(log, 'c', `c${i}`);
    const retention = { deleteRetentionMs: 10_000 };
    const first = await log.compact!(settings(retention));
    assert.equal(first.cleaned, true);
    assert.equal(first.reason, 'dirty-ratio');
    assert.equal(first.oldestTombstoneTimestamp, OLD, 'the tombstone is kept and reported');
    assert.deepEqual((await readAll(log)).find((r) => r.key === 'a'), { offset: tomb, key: 'a', value: null });

    // Long after, with nothing new: an ordinary pass does nothing (Kafka needs dirt for that)...
    assert.equal((await log.compact!(settings({ ...retention, now: NOW + 60_000 }))).cleaned, false);
    // ...a tombstone pass before the deadline rewrites nothing and still reports it...
    const early = await log.compact!(settings({ ...retention, now: OLD + 10_000, expireTombstones: true }));
    assert.equal(early.cleaned, true);
    assert.equal(early.reason, 'tombstones');
    assert.deepEqual([early.recordsRemoved, early.segmentsRewritten, early.oldestTombstoneTimestamp], [0, 0, OLD]);
    assert.equal(early.cleanedUpTo, first.cleanedUpTo, 'the cleaned point never moves back');
    // ...and one after it drops the tombstone.
    const due = await log.compact!(settings({ ...retention, now: OLD + 10_001, expireTombstones: true }));
    assert.equal(due.reason, 'tombstones');
    assert.equal(due.recordsRemoved, 1);
    assert.equal(due.oldestTombstoneTimestamp, -1);
    assert.equal(due.cleanedUpTo, first.cleanedUpTo);
    const recs = await readAll(log);
    assert.equal(recs.find((r) => r.key === 'a'), undefined);
    assert.deepEqual(recs.filter((r) => r.key === 'b').map((r) => r.value), ['b1']);
    assert.equal(recs[recs.length - 1]?.value, 'c7', 'the active part is untouched');
    await manager.close();
  });
}
