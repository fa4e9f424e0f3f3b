import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileSystem } from '../../src/io/file-system.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { createDiskLogManager, createMemoryLogManager } from '../../src/storage/index.js';
import type { CompactionSettings } from '../../src/storage/cleaner/types.js';
import type { LogManager, PartitionLog } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { forEachStoredBatch } from './stored-batches.js';
import { FailingFileSystem, compactFailingAt, crashAtEveryStep } from './failing-file-system.js';
import { ManualClock } from './manual-clock.js';

const NOW = 1_000_000_000;

function settings(over: Partial<CompactionSettings> = {}): CompactionSettings {
  return { now: NOW, minCleanableDirtyRatio: 0, minCompactionLagMs: 0, deleteRetentionMs: 86_400_000, dedupeBufferBytes: 1 << 20, ...over };
}

async function put(log: PartitionLog, key: string | null, value: string | null, timestamp = NOW - 1000): Promise<number> {
  const batch = await buildRecordBatch({ records: [{ key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp }] });
  return log.append(batch).baseOffset;
}

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
}

async function readAll(log: PartitionLog): Promise<Rec[]> {
  const out: Rec[] = [];
  await forEachStoredBatch(log, (b, offset) => {
    for (const rec of b.records) {
      if (rec.offset < offset) continue;
      assert.ok(out.length === 0 || rec.offset > (out[out.length - 1] as Rec).offset, 'offsets increase');
      out.push({ offset: rec.offset, key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? null });
    }
  });
  return out;
}

/** Latest value per key (and its offset) among records written. */
function latest(recs: readonly Rec[]): Map<string, Rec> {
  const m = new Map<string, Rec>();
  for (const r of recs) if (r.key !== null) m.set(r.key, r);
  return m;
}

async function fill(log: PartitionLog): Promise<Rec[]> {
  const written: Rec[] = [];
  for (let round = 0; round < 6; round++) {
    for (const k of ['a', 'b', 'c']) {
      const value = `${k}${round}`;
      written.push({ offset: await put(log, k, value), key: k, value });
    }
  }
  written.push({ offset: await put(log, null, 'nokey'), key: null, value: 'nokey' });
  return written;
}

type Opened = { manager: LogManager; log: PartitionLog; fs?: MemoryFileSystem };

async function openMemory(): Promise<Opened> {
  const manager = createMemoryLogManager();
  await manager.open();
  manager.createTopic('t', 1, {}, '00000000-0000-0000-0000-000000000001');
  return { manager, log: manager.partition('t', 0) as PartitionLog };
}

function diskManager(fs: FileSystem): LogManager {
  return createDiskLogManager({ logDir: '/data', fs, clock: new ManualClock(), options: { segmentBytes: 300 } });
}

async function openDisk(fs = new MemoryFileSystem()): Promise<Opened> {
  const manager = diskManager(fs);
  await manager.open();
  manager.createTopic('t', 1, {}, '00000000-0000-0000-0000-000000000001');
  return { manager, log: manager.partition('t', 0) as PartitionLog, fs };
}

for (const [name, open] of [
  ['memory', openMemory],
  ['disk', openDisk],
] as const) {
  test(`${name}: compaction keeps the latest value per key at its original offset`, async () => {
    const { manager, log } = await open();
    const written = await fill(log);
    const end = log.logEndOffset();
    const before = await readAll(log);
    const lastRec = before[before.length - 1] as Rec;
    const result = await log.compact!(settings());
    assert.equal(result.cleaned, true);
    assert.ok(result.recordsRemoved > 0);
    const after = await readAll(log);
    assert.equal(log.logEndOffset(), end);
    for (const [k, r] of latest(written)) assert.deepEqual(after.find((x) => x.key === k && x.offset === r.offset), r, `latest of ${k}`);
    // Every non-active record superseded in the cleaned range is gone; the null-key record stays.
    assert.ok(after.some((r) => r.key === null));
    assert.ok(after.length < before.length);
    assert.deepEqual(after[after.length - 1], lastRec, 'active part untouched');
    const keysSeen = after.filter((r) => r.offset < result.cleanedUpTo && r.key !== null).map((r) => r.key);
    assert.equal(new Set(keysSeen).size, keysSeen.length, 'one record per key below the cleaned point');
    // A second pass finds nothing dirty.
    assert.equal((await log.compact!(settings({ minCleanableDirtyRatio: 0.5 }))).cleaned, false);
    await manager.close();
  });

  test(`${name}: tombstones are kept, then dropped after delete.retention.ms`, async () => {
    const { manager, log } = await open();
    await put(log, 'a', 'a1');
    await put(log, 'b', 'b1');
    const tomb = await put(log, 'a', null);
    for (let i = 0; i < 6; i++) await put(log, 'c', `c${i}`);
    await log.compact!(settings({ deleteRetentionMs: 10_000 }));
    let recs = await readAll(log);
    assert.deepEqual(recs.find((r) => r.key === 'a'), { offset: tomb, key: 'a', value: null });
    // The next pass needs new dirty data, as in Kafka.
    for (let i = 0; i < 6; i++) await put(log, 'd', `d${i}`);
    await log.compact!(settings({ now: NOW + 20_000, deleteRetentionMs: 10_000 }));
    recs = await readAll(log);
    assert.equal(recs.find((r) => r.key === 'a'), undefined);
    assert.ok(recs.some((r) => r.key === 'b' && r.value === 'b1'));
    await manager.close();
  });

  test(`${name}: min.compaction.lag.ms keeps recent records uncompacted`, async () => {
    const { manager, log } = await open();
    await fill(log);
    const before = await readAll(log);
    assert.equal((await log.compact!(settings({ minCompactionLagMs: 10_000 }))).cleaned, false);
    assert.deepEqual(await readAll(log), before);
    assert.equal((await log.compact!(settings({ minCleanableDirtyRatio: 1.1 }))).cleaned, false, 'dirty ratio honoured');
    assert.equal((await log.compact!(settings({ minCompactionLagMs: 500 }))).cleaned, true);
    await manager.close();
  });

  test(`${name}: a small dedupe buffer cleans only up to where the map got`, async () => {
    const { manager, log } = await open();
    for (let round = 0; round < 3; round++) for (let k = 0; k < 10; k++) await put(log, `key${k}`, `v${round}`);
    const result = await log.compact!(settings({ dedupeBufferBytes: 5 * 28 }));
    assert.equal(result.cleaned, true);
    assert.equal(result.cleanedUpTo, 5);
    const recs = await readAll(log);
    for (let k = 0; k < 10; k++) assert.ok(recs.some((r) => r.key === `key${k}` && r.value === 'v2'));
    await manager.close();
  });
}

test('disk: compacted log survives a clean reopen with its gaps', async () => {
  const fs = new MemoryFileSystem();
  const { manager, log } = await openDisk(fs);
  await fill(log);
  await log.compact!(settings());
  const after = await readAll(log);
  await manager.close();
  const again = diskManager(fs);
  await again.open();
  assert.deepEqual(await readAll(again.partition('t', 0) as PartitionLog), after);
  await again.close();
});

test('disk: a crash at every step of the swap leaves a valid log with every latest-per-key record', async () => {
  await crashAtEveryStep(200, async (n, unsyncedCrash) => {
    const fs = new FailingFileSystem();
    const { log } = await openDisk(fs);
    const written = await fill(log);
    await log.flush();
    const finished = await compactFailingAt(fs, log, n, settings(), unsyncedCrash);
    const reopened = diskManager(fs);
    await reopened.open();
    const recs = await readAll(reopened.partition('t', 0) as PartitionLog);
    for (const [k, r] of latest(written)) assert.deepEqual(recs.find((x) => x.key === k && x.offset === r.offset), r, `step ${n}: latest of ${k}`);
    assert.ok(recs.some((r) => r.key === null), `step ${n}: null-key record`);
    assert.equal(fs.readdir('/data/t-0').filter((f) => f.endsWith('.cleaned') || f.endsWith('.swap')).length, 0);
    await reopened.close();
    return finished;
  });
});

test('compact,delete: retention still deletes old segments of a compacted log', async () => {
  const { manager, log } = await openDisk();
  await fill(log);
  await log.compact!(settings());
  const r = log.applyRetention({ now: NOW, retentionMs: -1, retentionBytes: 0 });
  assert.ok(r.deletedSegments > 0);
  const recs = await readAll(log);
  assert.ok(recs.length > 0);
  assert.equal(log.logStartOffset(), r.logStartOffset);
  await manager.close();
});
