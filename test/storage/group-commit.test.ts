import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FileSystem } from '../../src/io/file-system.js';
import { nodeFileSystem } from '../../src/io/node-file-system.js';
import { createDiskLogManager, type LogManagerOptions, type PartitionLog } from '../../src/storage/index.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { CountingFileSystem } from './counting-file-system.js';
import { makeTmpDir } from './engines.js';
import { makeBatch } from './make-batch.js';
import { ManualClock } from './manual-clock.js';
import { SyncGate } from './sync-gate.js';

const TOPIC_ID = '11111111-2222-4333-8444-555555555555';
const LOG_FILE = '/logs/t-0/00000000000000000000.log';

async function start(inner: FileSystem, logDir: string, options: Partial<LogManagerOptions> = {}, configs: Record<string, string> = {}) {
  const fs = new CountingFileSystem(inner);
  const clock = new ManualClock();
  const m = createDiskLogManager({ logDir, fs, clock, options });
  await m.open();
  m.createTopic('t', 1, configs, TOPIC_ID);
  const p = m.partition('t', 0) as PartitionLog;
  fs.fdatasyncs = 0;
  return { fs, clock, m, p };
}

/** Let queued promise callbacks run (the memory fs completes syncs in microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('group commit', () => {
  for (const [name, make] of [
    ['memory fs', () => ({ inner: new MemoryFileSystem() as FileSystem, logDir: '/logs', done: () => undefined })],
    [
      'node fs',
      () => {
        const root = makeTmpDir();
        return { inner: nodeFileSystem, logDir: join(root, 'logs'), done: () => nodeFileSystem.rmrf(root) };
      },
    ],
  ] as const) {
    it(`100 concurrent append+flush calls share a few fdatasyncs (${name})`, async () => {
      const env = make();
      try {
        const { fs, m, p } = await start(env.inner, env.logDir);
        const flushes: Promise<void>[] = [];
        for (let i = 0; i < 100; i++) {
          p.append(makeBatch([`m${i}`]));
          flushes.push(p.flush());
        }
        await Promise.all(flushes);
        assert.ok(fs.fdatasyncs > 0);
        assert.ok(fs.fdatasyncs <= 6, `${fs.fdatasyncs} fdatasyncs for 100 flushes`);
        assert.equal(p.logEndOffset(), 100);
        await m.close();
      } finally {
        env.done();
      }
    });
  }

  it('a flush arriving during a sync waits for the next sync, which covers its bytes', async () => {
    // Held inside the memory fs, so each sync snapshots the file when it is issued, as a disk would.
    const gate = new SyncGate();
    const memFs = new MemoryFileSystem({ syncDelay: () => gate.wait() });
    const { fs, m, p } = await start(memFs, '/logs');
    gate.hold();
    p.append(makeBatch(['first']));
    const first = p.flush();
    await settle();
    assert.equal(gate.heldCount(), 1, 'first sync in flight');
    const sizeAfterFirst = memFs.contents(LOG_FILE).length;
    p.append(makeBatch(['second']));
    let secondDone = false;
    const second = p.flush().then(() => (secondDone = true));
    const third = p.flush();
    gate.release();
    gate.hold();
    await first;
    await settle();
    assert.equal(secondDone, false, 'the in-flight sync does not vouch for later bytes');
    assert.equal(memFs.durableContents(LOG_FILE).length, sizeAfterFirst);
    assert.equal(gate.heldCount(), 1, 'exactly one follow-up sync for both waiting callers');
    gate.release();
    await Promise.all([second, third]);
    assert.equal(memFs.durableContents(LOG_FILE).length, memFs.contents(LOG_FILE).length);
    assert.equal(fs.syncedPaths.filter((path) => path === LOG_FILE).length, 2);
    await m.close();
  });

  it('a flush with nothing new to sync issues no fdatasync', async () => {
    const { fs, m, p } = await start(new MemoryFileSystem(), '/logs');
    p.append(makeBatch(['a']));
    await p.flush();
    const after = fs.fdatasyncs;
    await p.flush();
    await p.flush();
    assert.equal(fs.fdatasyncs, after);
    await m.close();
  });
});

describe('flush policy', () => {
  it('flush.messages forces a sync once that many records are unflushed', async () => {
    const { fs, m, p } = await start(new MemoryFileSystem(), '/logs', {}, { 'flush.messages': '3' });
    p.append(makeBatch(['1']));
    p.append(makeBatch(['2']));
    await settle();
    assert.equal(fs.fdatasyncs, 0);
    p.append(makeBatch(['3']));
    await settle();
    assert.ok(fs.fdatasyncs > 0);
    await m.close();
  });

  it('broker-wide flushMessages applies when the topic has no override', async () => {
    const { fs, m, p } = await start(new MemoryFileSystem(), '/logs', { flushMessages: 1 });
    p.append(makeBatch(['1']));
    await settle();
    assert.ok(fs.fdatasyncs > 0);
    await m.close();
  });

  it('never forces a sync by default (flush.messages = Long.MAX_VALUE)', async () => {
    const { fs, m, p } = await start(new MemoryFileSystem(), '/logs');
    for (let i = 0; i < 50; i++) p.append(makeBatch([`${i}`]));
    await settle();
    assert.equal(fs.fdatasyncs, 0);
    await m.close();
  });

  it('flush.ms syncs on a clock timer', async () => {
    const { fs, clock, m, p } = await start(new MemoryFileSystem(), '/logs', {}, { 'flush.ms': '1000' });
    p.append(makeBatch(['1']));
    clock.advance(999);
    await settle();
    assert.equal(fs.fdatasyncs, 0);
    clock.advance(1);
    await settle();
    assert.ok(fs.fdatasyncs > 0);
    const after = fs.fdatasyncs;
    clock.advance(5000); // nothing new: no more syncs
    await settle();
    assert.equal(fs.fdatasyncs, after);
    await m.close();
    assert.equal(clock.pendingTimers(), 0, 'close cancels every timer');
  });

  it('segment.ms rolls a segment by age', async () => {
    const memFs = new MemoryFileSystem();
    const { clock, m, p } = await start(memFs, '/logs', {}, { 'segment.ms': '1000' });
    p.append(makeBatch(['old']));
    clock.advance(1001);
    p.append(makeBatch(['new']));
    assert.deepEqual(
      memFs.readdir('/logs/t-0').filter((n) => n.endsWith('.log')),
      ['00000000000000000000.log', '00000000000000000001.log'],
    );
    await m.close();
  });

  it('setTopicConfigs changes segment.bytes for live partitions', async () => {
    const memFs = new MemoryFileSystem();
    const { m, p } = await start(memFs, '/logs');
    p.append(makeBatch(['a'.repeat(200)]));
    p.append(makeBatch(['b'.repeat(200)]));
    assert.equal(memFs.readdir('/logs/t-0').filter((n) => n.endsWith('.log')).length, 1);
    m.setTopicConfigs('t', { 'segment.bytes': '300' });
    p.append(makeBatch(['c'.repeat(200)]));
    assert.equal(memFs.readdir('/logs/t-0').filter((n) => n.endsWith('.log')).length, 2);
    await m.close();
  });
});
