import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileHandle, FileSystem, OpenFlags } from '../../src/io/file-system.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/records/record-batch-reader.js';
import type { CompactionSettings } from '../../src/storage/cleaner/types.js';
import { DiskLogManager } from '../../src/storage/disk/disk-log-manager.js';
import { FileHandleCache } from '../../src/storage/disk/file-handle-cache.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { CountingFileSystem } from './counting-file-system.js';
import { ManualClock } from './manual-clock.js';

const BOUND = 8;
const NOW = 1_000_000_000;
const TOPICS = 4;
const PARTITIONS = 6;
/** Small segments: every partition gets several, so three files each are far more than the bound. */
const OPTIONS = { segmentBytes: 300, indexIntervalBytes: 64 };

/**
 * Counts the descriptors open in the file system below the cache, remembers the peak, and records
 * any handle closed while an fdatasync on it is running.
 */
class HandleCountingFileSystem extends CountingFileSystem {
  openCount = 0;
  peak = 0;
  closedUnderSync = 0;
  private readonly syncing = new Map<FileHandle, number>();

  constructor(inner: FileSystem) {
    super(inner);
  }

  override open(path: string, flags: OpenFlags): FileHandle {
    const h = super.open(path, flags);
    this.openCount++;
    this.peak = Math.max(this.peak, this.openCount);
    return h;
  }

  override close(handle: FileHandle): void {
    if ((this.syncing.get(handle) ?? 0) > 0) this.closedUnderSync++;
    this.openCount--;
    super.close(handle);
  }

  override async fdatasync(handle: FileHandle): Promise<void> {
    this.syncing.set(handle, (this.syncing.get(handle) ?? 0) + 1);
    try {
      await super.fdatasync(handle);
    } finally {
      this.syncing.set(handle, (this.syncing.get(handle) ?? 1) - 1);
    }
  }

  /** After a power loss every handle is gone. */
  reset(): void {
    this.openCount = 0;
    this.peak = 0;
  }
}

/** fdatasyncs take a few turns of the event loop, so many are in flight at once. */
function slowSyncs(): MemoryFileSystem {
  return new MemoryFileSystem({ syncDelay: () => new Promise((resolve) => setImmediate(resolve)) });
}

function manager(fs: FileSystem, clock = new ManualClock(NOW)): DiskLogManager {
  return new DiskLogManager({ logDir: '/data', fs, clock, options: OPTIONS, fileHandlesMax: BOUND, onBackgroundError: () => undefined });
}

function topicName(t: number): string {
  return `t${t}`;
}

function allLogs(m: DiskLogManager): PartitionLog[] {
  const logs: PartitionLog[] = [];
  for (let t = 0; t < TOPICS; t++) for (let p = 0; p < PARTITIONS; p++) logs.push(m.partition(topicName(t), p) as PartitionLog);
  return logs;
}

async function put(log: PartitionLog, key: string, value: string): Promise<number> {
  const batch = await buildRecordBatch({ records: [{ key: Buffer.from(key), value: Buffer.from(value), timestamp: NOW - 1000 }] });
  return log.append(batch).baseOffset;
}

async function values(log: PartitionLog): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let offset = log.logStartOffset();
  while (offset < log.logEndOffset()) {
    const r = log.read(offset, 1 << 20, true);
    if (r.chunks.length === 0) break;
    for (const b of await decodeRecordBatches(Buffer.concat(r.chunks), { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
      for (const rec of b.records) if (rec.offset >= offset) out.set(rec.offset, rec.value?.toString() ?? '');
      offset = b.header.baseOffset + b.header.lastOffsetDelta + 1;
    }
  }
  return out;
}

/** Append `rounds` records to every partition; returns what each holds, by offset. */
async function fill(m: DiskLogManager, rounds: number, tag: string, expected = new Map<PartitionLog, Map<number, string>>()): Promise<Map<PartitionLog, Map<number, string>>> {
  for (let r = 0; r < rounds; r++) {
    for (const log of allLogs(m)) {
      const value = `${tag}-${r}-${'v'.repeat(40)}`;
      const offset = await put(log, `k${r % 3}`, value);
      const map = expected.get(log) ?? new Map<number, string>();
      map.set(offset, value);
      expected.set(log, map);
    }
  }
  return expected;
}

function settings(): CompactionSettings {
  return { now: NOW, minCleanableDirtyRatio: 0, minCompactionLagMs: 0, deleteRetentionMs: 86_400_000, dedupeBufferBytes: 1 << 20 };
}

function createTopics(m: DiskLogManager): void {
  for (let t = 0; t < TOPICS; t++) m.createTopic(topicName(t), PARTITIONS, {}, `00000000-0000-0000-0000-00000000000${t + 1}`);
}

test('appends, reads, flushes, retention and compaction stay within the file-handle bound', async () => {
  const counting = new HandleCountingFileSystem(slowSyncs());
  const m = manager(counting);
  await m.open();
  createTopics(m);
  const expected = await fill(m, 12, 'a');
  // Every partition at once, as acks=all produce to many partitions does: syncs wait for pin slots.
  await Promise.all(allLogs(m).map((log) => log.flush()));
  for (const log of allLogs(m)) assert.deepEqual(await values(log), expected.get(log));
  await fill(m, 6, 'b', expected);
  await Promise.all(allLogs(m).map((log) => log.flush()));

  // Retention on one topic, compaction on another, while the rest is read.
  const retained = allLogs(m).slice(0, PARTITIONS);
  for (const log of retained) {
    const r = log.applyRetention({ now: NOW, retentionMs: -1, retentionBytes: 400 });
    assert.ok(r.deletedSegments > 0);
    const map = expected.get(log) as Map<number, string>;
    for (const offset of [...map.keys()]) if (offset < log.logStartOffset()) map.delete(offset);
  }
  const compacted = allLogs(m).slice(PARTITIONS, 2 * PARTITIONS);
  await Promise.all(compacted.map(async (log) => assert.equal((await log.compact!(settings())).cleaned, true)));
  for (const log of allLogs(m)) {
    const got = await values(log);
    if (compacted.includes(log)) {
      // The latest value per key survives, at its offset.
      const map = expected.get(log) as Map<number, string>;
      const last = [...map.entries()].slice(-3);
      for (const [offset, value] of last) assert.equal(got.get(offset), value);
      assert.ok(got.size < map.size);
    } else {
      assert.deepEqual(got, expected.get(log));
    }
  }
  await m.close();
  assert.ok(counting.peak <= BOUND, `peak ${counting.peak} open handles, bound ${BOUND}`);
  assert.ok(counting.peak >= BOUND - 1, 'the test used the whole bound');
  assert.equal(counting.closedUnderSync, 0);
  assert.equal(counting.openCount, 0, 'close releases every handle');
  const stats = m.fileHandleStats();
  assert.ok(stats.evictions > 0);
  assert.ok(stats.peakOpen <= BOUND);

  // A clean restart reads within the bound too, and finds everything.
  counting.reset();
  const again = manager(counting);
  await again.open();
  for (let i = 0; i < allLogs(again).length; i++) {
    const before = [...expected.values()][i] as Map<number, string>;
    const got = await values(allLogs(again)[i] as PartitionLog);
    if (i >= PARTITIONS && i < 2 * PARTITIONS) continue;
    assert.deepEqual(got, before);
  }
  await again.close();
  assert.ok(counting.peak <= BOUND, `restart: peak ${counting.peak}`);
});

test('a power loss and recovery within the bound lose nothing synced', async () => {
  const mem = slowSyncs();
  const counting = new HandleCountingFileSystem(mem);
  const clock = new ManualClock(NOW);
  const m = manager(counting, clock);
  await m.open();
  createTopics(m);
  const synced = await fill(m, 10, 'synced');
  await Promise.all(allLogs(m).map((log) => log.flush()));
  const snapshot = new Map<number, Map<number, string>>();
  allLogs(m).forEach((log, i) => snapshot.set(i, new Map(synced.get(log))));
  // Written but never synced: may or may not survive.
  await fill(m, 4, 'unsynced');
  const written = allLogs(m).map((log) => log.written());
  clock.advance(0); // the zero-delay write timers
  await Promise.all(written);
  mem.crash();
  counting.reset();

  const recovered = manager(counting);
  await recovered.open();
  assert.equal(recovered.lastRecovery()?.hadCleanShutdown, false);
  const logs = allLogs(recovered);
  for (let i = 0; i < logs.length; i++) {
    const got = await values(logs[i] as PartitionLog);
    for (const [offset, value] of snapshot.get(i) as Map<number, string>) assert.equal(got.get(offset), value, `partition ${i} offset ${offset}`);
  }
  // It keeps working: append, flush, read.
  const more = await fill(recovered, 3, 'after');
  await Promise.all(logs.map((log) => log.flush()));
  for (const log of logs) {
    const got = await values(log);
    for (const [offset, value] of more.get(log) as Map<number, string>) assert.equal(got.get(offset), value);
  }
  await recovered.close();
  assert.ok(counting.peak <= BOUND, `recovery: peak ${counting.peak} open handles, bound ${BOUND}`);
  assert.equal(counting.closedUnderSync, 0);
});

test('FileHandleCache: least recently used handles close first; a handle being synced is never closed', async () => {
  let release: (() => void) | null = null;
  const mem = new MemoryFileSystem({ syncDelay: () => new Promise<void>((resolve) => (release = resolve)) });
  const counting = new HandleCountingFileSystem(mem);
  const cache = new FileHandleCache(counting, 4);
  const files = ['/a', '/b', '/c', '/d', '/e'].map((p) => cache.file(p, 'c+'));
  const [a, b, c, d, e] = files as [ReturnType<typeof cache.file>, ReturnType<typeof cache.file>, ReturnType<typeof cache.file>, ReturnType<typeof cache.file>, ReturnType<typeof cache.file>];
  a.get();
  b.get();
  c.get();
  d.get();
  a.get(); // a is now the most recent; b the least
  const syncB = b.sync(); // pins b (and makes it the most recent)
  e.get(); // must close c, the least recently used unpinned handle
  assert.equal(c.handle, null);
  assert.notEqual(b.handle, null);
  assert.notEqual(a.handle, null);
  assert.equal(cache.stats().open, 4);
  // b released while syncing: closed only once the sync returns.
  b.release();
  assert.notEqual(b.handle, null);
  (release as unknown as () => void)();
  await syncB;
  assert.equal(b.handle, null);
  assert.equal(counting.closedUnderSync, 0);
  assert.throws(() => b.get(), /closed/);
  // Reopened on use, contents kept.
  counting.write(c.get(), [Buffer.from('hello')], 0);
  assert.equal(counting.size(c.get()), 5);
  for (const f of [a, c, d, e]) f.release();
  assert.equal(counting.openCount, 0);
  assert.throws(() => new FileHandleCache(mem, 2), /below/);
});

test('FileHandleCache: syncs beyond the pin slots wait for one to free', async () => {
  const releases: Array<() => void> = [];
  const mem = new MemoryFileSystem({ syncDelay: () => new Promise<void>((resolve) => releases.push(resolve)) });
  const counting = new HandleCountingFileSystem(mem);
  const cache = new FileHandleCache(counting, 4);
  const files = ['/1', '/2', '/3', '/4', '/5'].map((p) => cache.file(p, 'c+'));
  const syncs = files.map((f) => f.sync());
  await new Promise((resolve) => setImmediate(resolve));
  // Two slots stay unpinned (bound 4): two syncs run, three wait.
  assert.equal(releases.length, 2);
  assert.ok(counting.peak <= 4);
  while (releases.length > 0) {
    (releases.shift() as () => void)();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(syncs);
  assert.equal(mem.fdatasyncCount, 5);
  assert.ok(counting.peak <= 4);
  assert.equal(counting.closedUnderSync, 0);
});
