// written(): resolves once appended bytes are in the file (not necessarily synced), which is what an
// acks=1 answer waits for; the disk engine otherwise holds appends in memory until the turn ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { startDiskEngine, memoryEngine } from './engines.js';
import { makeBatch } from './make-batch.js';

test('disk engine: written() resolves after the queued appends reach the file, before any sync', async () => {
  const fs = new MemoryFileSystem();
  const engine = await startDiskEngine(fs, '/d', {}, () => {});
  try {
    engine.manager.createTopic('w', 1, {}, '00000000-0000-4000-8000-0000000000aa');
    const log = engine.manager.partition('w', 0)!;
    const path = '/d/w-0/00000000000000000000.log';
    const before = fs.contents(path).length;
    log.append(makeBatch(['a', 'b', 'c']));
    assert.equal(fs.contents(path).length, before, 'still queued in memory');
    const written = log.written();
    let done = false;
    void written.then(() => (done = true));
    await Promise.resolve();
    assert.equal(done, false);
    engine.clock.advance(0); // the end-of-turn write
    await written;
    assert.ok(fs.contents(path).length > before, 'in the file');
    assert.equal(fs.durableContents(path).length, before, 'but not synced');
    // Nothing pending: resolves at once.
    await log.written();
  } finally {
    await engine.cleanup();
  }
});

test('memory engine: written() resolves at once', async () => {
  const engine = await memoryEngine.start();
  try {
    engine.manager.createTopic('w', 1, {}, '00000000-0000-4000-8000-0000000000ab');
    const log = engine.manager.partition('w', 0)!;
    log.append(makeBatch(['a']));
    await log.written();
  } finally {
    await engine.cleanup();
  }
});
