import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FileSystem } from '../../src/io/file-system.js';
import { nodeFileSystem } from '../../src/io/node-file-system.js';
import { DiskLogManager, createDiskLogManager, type LogManagerOptions } from '../../src/storage/index.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { makeTmpDir } from './engines.js';
import { decodeBatches, makeBatch, makeSizedBatch } from './make-batch.js';
import { ManualClock } from './manual-clock.js';

const TOPIC_ID = '0f1e2d3c-4b5a-4968-8776-655443322110';

function open(fs: FileSystem, logDir: string, options: Partial<LogManagerOptions> = {}, clock = new ManualClock()): DiskLogManager {
  return createDiskLogManager({ logDir, fs, clock, options });
}

function segmentLogs(fs: FileSystem, dir: string): string[] {
  return fs
    .readdir(dir)
    .filter((n) => n.endsWith('.log'))
    .sort()
    .map((n) => join(dir, n));
}

function allValues(m: DiskLogManager, topic = 't'): string[] {
  const p = m.partition(topic, 0);
  assert.ok(p);
  return decodeBatches(p.read(p.logStartOffset(), Number.MAX_SAFE_INTEGER, true).chunks).flatMap((b) => b.values);
}

/** Rewrite part of a file through the FileSystem interface. */
function patchFile(fs: FileSystem, path: string, edit: (bytes: Buffer) => Buffer): void {
  const edited = edit(fs.readFile(path));
  const h = fs.open(path, 'r+');
  fs.truncate(h, 0);
  fs.write(h, [edited], 0);
  fs.close(h);
}

interface Fixture {
  readonly fs: FileSystem;
  readonly logDir: string;
  readonly partitionDir: string;
  /** Sizes of the batches appended, in order. */
  readonly sizes: number[];
  cleanup(): void;
}

/** Ten 3-record batches in topic t, cleanly closed; then the clean-shutdown marker is removed. */
async function crashedLog(options: Partial<LogManagerOptions> = {}, configs: Record<string, string> = {}): Promise<Fixture> {
  const root = makeTmpDir();
  const logDir = join(root, 'logs');
  const m = open(nodeFileSystem, logDir, options);
  await m.open();
  m.createTopic('t', 1, configs, TOPIC_ID);
  const p = m.partition('t', 0);
  assert.ok(p);
  const sizes: number[] = [];
  for (let i = 0; i < 10; i++) {
    const b = makeBatch([`b${i}.0`, `b${i}.1`, `b${i}.2`], { baseTimestamp: 5000 + i });
    sizes.push(b.length);
    p.append(b);
  }
  await m.close();
  // What a crash leaves: no marker. (The files themselves are edited by each test.)
  nodeFileSystem.unlink(join(logDir, '.kafka_cleanshutdown'));
  return { fs: nodeFileSystem, logDir, partitionDir: join(logDir, 't-0'), sizes, cleanup: () => nodeFileSystem.rmrf(root) };
}

function expectedValues(batches: number): string[] {
  return Array.from({ length: batches }, (_, i) => [`b${i}.0`, `b${i}.1`, `b${i}.2`]).flat();
}

describe('disk engine recovery', () => {
  it('truncates a torn tail (log cut short) to the last whole batch and appends at the right offset', async () => {
    const f = await crashedLog();
    try {
      const [log] = segmentLogs(f.fs, f.partitionDir);
      assert.ok(log);
      patchFile(f.fs, log, (b) => b.subarray(0, b.length - 5));
      const m = open(f.fs, f.logDir);
      await m.open();
      assert.equal(m.lastRecovery()?.hadCleanShutdown, false);
      assert.ok((m.lastRecovery()?.discardedBytes ?? 0) > 0);
      const p = m.partition('t', 0);
      assert.ok(p);
      assert.equal(p.logEndOffset(), 27);
      assert.deepEqual(allValues(m), expectedValues(9));
      // The rebuilt time index answers for what is left.
      assert.deepEqual(p.maxTimestamp(), { offset: 24, timestamp: 5008 });
      assert.deepEqual(p.offsetForTimestamp(5005), { offset: 15, timestamp: 5005 });
      assert.equal(p.offsetForTimestamp(5009), null);
      assert.equal(p.append(makeBatch(['after'])).baseOffset, 27);
      assert.deepEqual(allValues(m).slice(-1), ['after']);
      await m.close();
      assert.equal(f.fs.readFile(log).length, f.sizes.slice(0, 9).reduce((a, b) => a + b, 0) + makeBatch(['after']).length);
    } finally {
      f.cleanup();
    }
  });

  it('drops garbage appended after the last batch', async () => {
    const f = await crashedLog();
    try {
      const [log] = segmentLogs(f.fs, f.partitionDir);
      assert.ok(log);
      const garbage = Buffer.alloc(100, 0xab);
      patchFile(f.fs, log, (b) => Buffer.concat([b, garbage]));
      const m = open(f.fs, f.logDir);
      await m.open();
      assert.equal(m.lastRecovery()?.discardedBytes, 100);
      assert.equal(m.partition('t', 0)?.logEndOffset(), 30);
      assert.deepEqual(allValues(m), expectedValues(10));
      assert.equal(m.partition('t', 0)?.append(makeBatch(['x'])).baseOffset, 30);
      await m.close();
    } finally {
      f.cleanup();
    }
  });

  it('drops the last batch when a payload byte flipped (CRC mismatch)', async () => {
    const f = await crashedLog();
    try {
      const [log] = segmentLogs(f.fs, f.partitionDir);
      assert.ok(log);
      patchFile(f.fs, log, (b) => {
        const copy = Buffer.from(b);
        const at = copy.length - 3; // inside the last record of the last batch
        copy[at] = (copy[at] ?? 0) ^ 0xff;
        return copy;
      });
      const m = open(f.fs, f.logDir);
      await m.open();
      assert.equal(m.partition('t', 0)?.logEndOffset(), 27);
      assert.deepEqual(allValues(m), expectedValues(9));
      assert.equal(m.partition('t', 0)?.append(makeBatch(['x'])).baseOffset, 27);
      await m.close();
    } finally {
      f.cleanup();
    }
  });

  it('trusts the files after a clean shutdown (no recovery scan)', async () => {
    const f = await crashedLog();
    try {
      // Put the marker back: this was a clean shutdown after all.
      f.fs.writeFileAtomic(join(f.logDir, '.kafka_cleanshutdown'), new Uint8Array(0));
      const m = open(f.fs, f.logDir);
      await m.open();
      assert.deepEqual(m.lastRecovery(), { hadCleanShutdown: true, partitions: 1, recoveredSegments: 0, discardedBytes: 0 });
      assert.equal(f.fs.exists(join(f.logDir, '.kafka_cleanshutdown')), false, 'marker removed while running');
      assert.deepEqual(allValues(m), expectedValues(10));
      await m.close();
      assert.equal(f.fs.exists(join(f.logDir, '.kafka_cleanshutdown')), true, 'marker written by close');
    } finally {
      f.cleanup();
    }
  });

  it('cuts at a corrupt middle segment and deletes every later segment', async () => {
    const f = await crashedLog({}, { 'segment.bytes': '300' });
    try {
      const logs = segmentLogs(f.fs, f.partitionDir);
      assert.ok(logs.length >= 4, `${logs.length} segments`);
      // Without a recovery point every segment is scanned.
      f.fs.unlink(join(f.logDir, 'recovery-point-offset-checkpoint'));
      const victim = logs[1];
      assert.ok(victim);
      patchFile(f.fs, victim, (b) => {
        const copy = Buffer.from(b);
        copy[70] = (copy[70] ?? 0) ^ 0x01;
        return copy;
      });
      const m = open(f.fs, f.logDir);
      await m.open();
      const p = m.partition('t', 0);
      assert.ok(p);
      const remaining = segmentLogs(f.fs, f.partitionDir);
      assert.equal(remaining.length, 2, 'segments after the cut are deleted');
      const batchesKept = decodeBatches(p.read(0, Number.MAX_SAFE_INTEGER, true).chunks).length;
      assert.equal(p.logEndOffset(), batchesKept * 3);
      assert.deepEqual(allValues(m), expectedValues(batchesKept));
      assert.ok(batchesKept >= 1 && batchesKept < 10);
      assert.equal(p.append(makeBatch(['next'])).baseOffset, batchesKept * 3);
      await m.close();
    } finally {
      f.cleanup();
    }
  });

  it('rebuilds a deleted .index after a clean shutdown', async () => {
    const root = makeTmpDir();
    const logDir = join(root, 'logs');
    const fs = nodeFileSystem;
    try {
      const m = open(fs, logDir);
      await m.open();
      m.createTopic('t', 1, { 'segment.bytes': '3000', 'index.interval.bytes': '100' }, TOPIC_ID);
      const p = m.partition('t', 0);
      assert.ok(p);
      for (let i = 0; i < 60; i++) p.append(makeSizedBatch(1 + (i % 3), 120, `i${i}`, 100 + i));
      await m.close();
      const dir = join(logDir, 't-0');
      const indexes = fs.readdir(dir).filter((n) => n.endsWith('.index')).sort();
      assert.ok(indexes.length >= 2);
      const first = join(dir, indexes[0] ?? '');
      const last = join(dir, indexes[indexes.length - 1] ?? '');
      const originalFirst = fs.readFile(first);
      assert.ok(originalFirst.length > 0);
      fs.unlink(first);
      // A torn length on another index is also rebuilt.
      patchFile(fs, last, (b) => Buffer.concat([b, Buffer.from([1, 2, 3])]));

      const m2 = open(fs, logDir);
      await m2.open();
      assert.equal(m2.lastRecovery()?.hadCleanShutdown, true);
      assert.deepEqual(fs.readFile(first), originalFirst);
      assert.equal(fs.readFile(last).length % 8, 0);
      const q = m2.partition('t', 0);
      assert.ok(q);
      const bases = decodeBatches(q.read(0, Number.MAX_SAFE_INTEGER, true).chunks).map((b) => b.baseOffset);
      assert.equal(bases.length, 60);
      for (let o = 0, b = 0; o < q.logEndOffset(); o++) {
        while ((bases[b + 1] ?? Infinity) <= o) b++;
        assert.equal(decodeBatches(q.read(o, 1, true).chunks)[0]?.baseOffset, bases[b]);
      }
      await m2.close();
    } finally {
      fs.rmrf(root);
    }
  });
});

describe('disk engine over the memory fs: power loss', () => {
  async function setup(options: Partial<LogManagerOptions> = {}, configs: Record<string, string> = {}) {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock();
    const m = open(fs, '/logs', options, clock);
    await m.open();
    m.createTopic('t', 1, configs, TOPIC_ID);
    const p = m.partition('t', 0);
    assert.ok(p);
    return { fs, clock, m, p };
  }

  it('crash() drops unflushed appends and keeps everything before a resolved flush()', async () => {
    const { fs, p } = await setup();
    p.append(makeBatch(['a0', 'a1']));
    p.append(makeBatch(['b0']));
    await p.flush();
    p.append(makeBatch(['c0', 'c1', 'c2']));
    p.append(makeBatch(['d0']));
    fs.crash();

    const m = open(fs, '/logs');
    await m.open();
    assert.equal(m.lastRecovery()?.hadCleanShutdown, false);
    const q = m.partition('t', 0);
    assert.ok(q);
    assert.equal(q.logEndOffset(), 3);
    assert.deepEqual(allValues(m), ['a0', 'a1', 'b0']);
    assert.equal(q.append(makeBatch(['e0'])).baseOffset, 3);
    await q.flush();
    fs.crash();
    const m2 = open(fs, '/logs');
    await m2.open();
    assert.deepEqual(allValues(m2), ['a0', 'a1', 'b0', 'e0']);
    await m2.close();
  });

  it('a torn last write is cut off', async () => {
    const { fs, clock, p } = await setup();
    p.append(makeBatch(['a0']));
    await p.flush();
    const durableBefore = fs.durableContents('/logs/t-0/00000000000000000000.log').length;
    p.append(makeBatch(['torn-record-with-some-length'.repeat(4)]));
    clock.advance(0); // the end of the turn: the pending append is written (not synced)
    fs.crash({ tearLastWriteAt: 70 });
    assert.equal(fs.durableContents('/logs/t-0/00000000000000000000.log').length, durableBefore + 70);

    const m = open(fs, '/logs');
    await m.open();
    assert.equal(m.lastRecovery()?.discardedBytes, 70);
    assert.equal(m.partition('t', 0)?.logEndOffset(), 1);
    assert.deepEqual(allValues(m), ['a0']);
    assert.equal(m.partition('t', 0)?.append(makeBatch(['b0'])).baseOffset, 1);
    assert.deepEqual(allValues(m), ['a0', 'b0']);
    await m.close();
  });

  it('segments rolled after the last flush are discarded, and offsets stay contiguous', async () => {
    const { fs, m, p } = await setup({}, { 'segment.bytes': '400' });
    for (let i = 0; i < 6; i++) p.append(makeSizedBatch(2, 150, `s${i}`));
    await p.flush();
    const flushedEnd = p.logEndOffset();
    for (let i = 6; i < 20; i++) p.append(makeSizedBatch(2, 150, `s${i}`));
    assert.ok(fs.readdir('/logs/t-0').filter((n) => n.endsWith('.log')).length > 5);
    void m; // the crashed manager is abandoned, as a dead process would be
    fs.crash();

    const m2 = open(fs, '/logs');
    await m2.open();
    const q = m2.partition('t', 0);
    assert.ok(q);
    assert.equal(q.logEndOffset(), flushedEnd);
    const batches = decodeBatches(q.read(0, Number.MAX_SAFE_INTEGER, true).chunks);
    assert.deepEqual(batches.map((b) => b.baseOffset), batches.map((_, i) => i * 2));
    assert.equal(q.append(makeBatch(['after'])).baseOffset, flushedEnd);
    await m2.close();
  });

  it('a crash right after a clean reopen still recovers (the marker is gone while running)', async () => {
    const { fs, m, p } = await setup();
    p.append(makeBatch(['a']));
    await m.close();
    const clock = new ManualClock();
    const m2 = open(fs, '/logs', {}, clock);
    await m2.open();
    m2.partition('t', 0)?.append(makeBatch(['lost']));
    clock.advance(0); // written at the end of the turn, torn by the crash
    fs.crash({ tearLastWriteAt: 20 });
    const m3 = open(fs, '/logs');
    await m3.open();
    assert.equal(m3.lastRecovery()?.hadCleanShutdown, false);
    assert.deepEqual(allValues(m3), ['a']);
    await m3.close();
  });
});
