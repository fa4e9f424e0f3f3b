import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDiskLogManager, type LogManagerOptions, type PartitionLog } from '../../src/storage/index.js';
import { PENDING_WRITE_BATCHES_MAX, PENDING_WRITE_BYTES_MAX } from '../../src/storage/disk/segment.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { CountingFileSystem } from './counting-file-system.js';
import { decodeBatches, makeBatch, makeSizedBatch } from './make-batch.js';
import { ManualClock } from './manual-clock.js';

/**
 * The disk engine queues appends in memory and writes them with one writev at the end of the
 * event-loop turn (a zero-delay clock timer: ManualClock.advance(0) here), when the queue is full,
 * before every fdatasync, on roll and on close. These tests pin down what that may and may not change.
 */

const TOPIC_ID = '77777777-8888-4999-8aaa-bbbbbbbbbbbb';
const LOG = '/logs/t-0/00000000000000000000.log';

async function start(options: Partial<LogManagerOptions> = {}, configs: Record<string, string> = {}, memFs = new MemoryFileSystem()) {
  const fs = new CountingFileSystem(memFs);
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const m = createDiskLogManager({ logDir: '/logs', fs, clock, options, onBackgroundError: (e) => errors.push(e) });
  await m.open();
  m.createTopic('t', 1, configs, TOPIC_ID);
  const p = m.partition('t', 0) as PartitionLog;
  return { memFs, fs, clock, m, p, errors, reopen: () => reopen(memFs) };
}

async function reopen(memFs: MemoryFileSystem) {
  const m = createDiskLogManager({ logDir: '/logs', fs: memFs, clock: new ManualClock() });
  await m.open();
  const p = m.partition('t', 0) as PartitionLog;
  return { m, p };
}

function values(p: PartitionLog, from = p.logStartOffset(), maxBytes = Number.MAX_SAFE_INTEGER): string[] {
  return decodeBatches(p.read(from, maxBytes, true).chunks).flatMap((b) => b.values);
}

function logWrites(fs: CountingFileSystem, path = LOG): number {
  return fs.writtenPaths.filter((x) => x === path).length;
}

describe('disk engine: appends written at the end of the turn', () => {
  it('appends in one turn go out in one write; reads see them before it', async () => {
    const { memFs, fs, clock, m, p } = await start();
    const sizes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const b = makeBatch([`v${i}`], { baseTimestamp: 1000 + i });
      sizes.push(b.length);
      p.append(b);
    }
    assert.equal(logWrites(fs), 0, 'nothing written during the turn');
    assert.equal(memFs.contents(LOG).length, 0);
    // Everything is readable from the queue: whole log, from the middle, with a byte budget.
    assert.deepEqual(values(p), Array.from({ length: 50 }, (_, i) => `v${i}`));
    assert.deepEqual(values(p, 37), Array.from({ length: 13 }, (_, i) => `v${37 + i}`));
    assert.deepEqual(values(p, 10, (sizes[10] ?? 0) + (sizes[11] ?? 0)), ['v10', 'v11']);
    assert.deepEqual(p.offsetForTimestamp(1020), { offset: 20, timestamp: 1020 });
    assert.deepEqual(p.maxTimestamp(), { offset: 49, timestamp: 1049 });
    assert.equal(p.sizeBytes(), sizes.reduce((a, b) => a + b, 0));

    clock.advance(0);
    assert.equal(logWrites(fs), 1, 'one write for the whole turn');
    assert.equal(memFs.contents(LOG).length, p.sizeBytes());
    assert.deepEqual(values(p), Array.from({ length: 50 }, (_, i) => `v${i}`));
    clock.advance(0);
    assert.equal(logWrites(fs), 1, 'nothing pending, nothing written');
    await m.close();
  });

  it('reads and index lookups that span written and pending bytes', async () => {
    // A small index interval puts offset index entries on pending batches too.
    const { clock, m, p } = await start({}, { 'index.interval.bytes': '100' });
    for (let i = 0; i < 20; i++) p.append(makeSizedBatch(2, 150, `w${i}`, 100 + i));
    clock.advance(0);
    for (let i = 20; i < 40; i++) p.append(makeSizedBatch(2, 150, `w${i}`, 100 + i));
    const all = decodeBatches(p.read(0, Number.MAX_SAFE_INTEGER, true).chunks);
    assert.deepEqual(
      all.map((b) => b.baseOffset),
      Array.from({ length: 40 }, (_, i) => i * 2),
    );
    assert.ok(all.every((b) => b.crcValid));
    // Every offset finds its containing batch, whether written or pending.
    for (let o = 0; o < 80; o++) {
      assert.equal(decodeBatches(p.read(o, 1, true).chunks)[0]?.baseOffset, o - (o % 2), `offset ${o}`);
    }
    // A read that starts in the written part and ends in the pending part.
    const spanning = decodeBatches(p.read(36, 600, false).chunks);
    assert.ok(spanning.length >= 2);
    assert.equal(spanning[0]?.baseOffset, 36);
    assert.ok((spanning.at(-1)?.baseOffset ?? 0) >= 40);
    assert.deepEqual(p.offsetForTimestamp(130), { offset: 60, timestamp: 130 });
    await m.close();
  });

  it('a full queue is written at once, before the batch that would overflow it', async () => {
    const { memFs, fs, m, p } = await start();
    const make = (i: number) => makeSizedBatch(1, 60 * 1024, `q${i}`.padStart(4, '0'));
    const fit = Math.floor(PENDING_WRITE_BYTES_MAX / make(0).length);
    const batches = Array.from({ length: fit + 1 }, (_, i) => make(i));
    const queued = batches.slice(0, fit).reduce((n, b) => n + b.length, 0);
    assert.ok(queued <= PENDING_WRITE_BYTES_MAX && queued + (batches[fit]?.length ?? 0) > PENDING_WRITE_BYTES_MAX);
    for (const b of batches) p.append(b);
    assert.equal(logWrites(fs), 1);
    assert.equal(memFs.contents(LOG).length, queued);
    assert.equal(values(p).length, fit + 1);
    await m.close();
    assert.equal(memFs.contents(LOG).length, queued + (batches[fit]?.length ?? 0));
  });

  it('the queue is also bounded in batches', async () => {
    const { fs, m, p } = await start();
    for (let i = 0; i <= PENDING_WRITE_BATCHES_MAX; i++) p.append(makeBatch([`${i}`]));
    assert.equal(logWrites(fs), 1);
    assert.equal(values(p).length, PENDING_WRITE_BATCHES_MAX + 1);
    await m.close();
  });

  it('flush() writes pending appends before it syncs them', async () => {
    const { memFs, m, p } = await start();
    p.append(makeBatch(['a', 'b']));
    p.append(makeBatch(['c']));
    await p.flush();
    assert.equal(memFs.durableContents(LOG).length, p.sizeBytes());
    memFs.crash();
    void m;
    const r = await reopen(memFs);
    assert.deepEqual(values(r.p), ['a', 'b', 'c']);
    await r.m.close();
  });

  it('a flush queued behind a running sync covers appends made while it waited', async () => {
    const { memFs, m, p } = await start();
    p.append(makeBatch(['first']));
    const first = p.flush();
    p.append(makeBatch(['second']));
    const second = p.flush();
    await Promise.all([first, second]);
    assert.equal(memFs.durableContents(LOG).length, p.sizeBytes());
    memFs.crash();
    void m;
    const r = await reopen(memFs);
    assert.deepEqual(values(r.p), ['first', 'second']);
    await r.m.close();
  });

  it('a crash loses appends never written or flushed, and offsets stay contiguous', async () => {
    const { memFs, clock, m, p } = await start();
    p.append(makeBatch(['kept']));
    await p.flush();
    p.append(makeBatch(['written-not-synced']));
    clock.advance(0);
    p.append(makeBatch(['never-written']));
    memFs.crash();
    void m;
    const r = await reopen(memFs);
    assert.equal(r.p.logEndOffset(), 1);
    assert.deepEqual(values(r.p), ['kept']);
    assert.equal(r.p.append(makeBatch(['next'])).baseOffset, 1);
    await r.m.close();
  });

  it('a segment roll writes the old segment before the new one starts', async () => {
    const { memFs, fs, m, p } = await start({}, { 'segment.bytes': '400' });
    for (let i = 0; i < 6; i++) p.append(makeSizedBatch(2, 150, `r${i}`));
    const logs = memFs.readdir('/logs/t-0').filter((n) => n.endsWith('.log')).sort();
    assert.ok(logs.length >= 3, `${logs.length} segments`);
    // Every segment but the active one is complete on file, without the end of the turn.
    for (const name of logs.slice(0, -1)) {
      const bytes = memFs.contents(`/logs/t-0/${name}`);
      assert.ok(bytes.length > 0, name);
      assert.ok(decodeBatches([bytes]).every((b) => b.crcValid));
    }
    assert.equal(memFs.contents(`/logs/t-0/${logs.at(-1) ?? ''}`).length, 0, 'the active segment is still queued');
    assert.equal(logWrites(fs), 1, 'the first segment was written once, when it rolled');
    assert.equal(values(p).length, 12);
    await m.close();
    const r = await reopen(memFs);
    assert.equal(r.p.logEndOffset(), 12);
    assert.equal(decodeBatches(r.p.read(0, Number.MAX_SAFE_INTEGER, true).chunks).length, 6);
    await r.m.close();
  });

  it('close writes what is pending; the clean reopen trusts it', async () => {
    const { memFs, m, p } = await start();
    for (let i = 0; i < 5; i++) p.append(makeBatch([`c${i}`], { baseTimestamp: 50 + i }));
    await m.close();
    const r = await reopen(memFs);
    assert.equal(r.m.lastRecovery()?.hadCleanShutdown, true);
    assert.deepEqual(values(r.p), ['c0', 'c1', 'c2', 'c3', 'c4']);
    assert.deepEqual(r.p.maxTimestamp(), { offset: 4, timestamp: 54 });
    await r.m.close();
  });

  it('deleting a topic drops its pending appends without writing them', async () => {
    const { memFs, fs, clock, m, p } = await start();
    p.append(makeBatch(['doomed']));
    m.deleteTopic('t');
    clock.advance(0);
    assert.equal(logWrites(fs), 0);
    assert.equal(memFs.exists('/logs/t-0'), false);
    await m.close();
  });

  it('a failed end-of-turn write is reported and abandons the queued batches: offsets are reused, nothing torn is kept', async () => {
    // See DiskPartitionLog: a batch whose write failed is never served nor acknowledged, so the log
    // forgets it (its waiters get KafkaStorageError) rather than writing it later.
    const { memFs, fs, clock, m, p, errors } = await start();
    p.append(makeBatch(['x', 'y']));
    const written = p.written();
    let failures = 1;
    fs.beforeWrite = (path) => {
      if (path === LOG && failures > 0) {
        failures--;
        throw new Error('EIO: simulated');
      }
    };
    clock.advance(0);
    await assert.rejects(written, /EIO/);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /EIO/);
    assert.deepEqual(values(p), []);
    assert.equal(p.logEndOffset(), 0);
    assert.equal(p.append(makeBatch(['z'])).baseOffset, 0);
    await p.flush();
    assert.equal(memFs.durableContents(LOG).length, p.sizeBytes());
    memFs.crash();
    void m;
    const r = await reopen(memFs);
    assert.deepEqual(values(r.p), ['z']);
    await r.m.close();
  });

  it('a failed write of a full queue fails that append, abandons the queue and leaves the log as it was', async () => {
    const { fs, m, p } = await start();
    const big = () => makeSizedBatch(1, PENDING_WRITE_BYTES_MAX / 2 + 1, 'big');
    p.append(big());
    fs.beforeWrite = (path) => {
      if (path === LOG) throw new Error('ENOSPC: simulated');
    };
    assert.throws(() => p.append(big()), /ENOSPC/);
    assert.equal(p.logEndOffset(), 0);
    fs.beforeWrite = null;
    assert.equal(p.append(makeBatch(['after'])).baseOffset, 0);
    assert.deepEqual(
      decodeBatches(p.read(0, Number.MAX_SAFE_INTEGER, true).chunks).map((b) => b.baseOffset),
      [0],
    );
    await m.close();
  });
});
