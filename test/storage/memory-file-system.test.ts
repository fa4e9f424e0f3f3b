import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';

describe('MemoryFileSystem', () => {
  it('reads back what was written, with writev semantics and holes', () => {
    const fs = new MemoryFileSystem();
    fs.mkdirp('/a/b');
    const h = fs.open('/a/b/f', 'c+');
    assert.equal(fs.write(h, [Buffer.from('hello'), Buffer.from(' world')], 0), 11);
    fs.write(h, [Buffer.from('!')], 13);
    assert.equal(fs.size(h), 14);
    const buf = Buffer.alloc(20);
    assert.equal(fs.read(h, buf, 0, 20, 0), 14);
    assert.deepEqual(buf.subarray(0, 14), Buffer.from('hello world\0\0!'));
    fs.truncate(h, 5);
    assert.equal(fs.readFile('/a/b/f').toString(), 'hello');
    fs.close(h);
    assert.throws(() => fs.size(h), { code: 'EBADF' });
    assert.deepEqual(fs.readdir('/a'), ['b']);
    assert.deepEqual(fs.readdir('/a/b'), ['f']);
    assert.throws(() => fs.open('/missing/f', 'c+'), { code: 'ENOENT' });
    assert.throws(() => fs.open('/a/b/g', 'r+'), { code: 'ENOENT' });
  });

  it('crash() keeps only fdatasynced bytes', async () => {
    const fs = new MemoryFileSystem();
    const h = fs.open('/f', 'w+');
    fs.write(h, [Buffer.from('durable')], 0);
    await fs.fdatasync(h);
    fs.write(h, [Buffer.from('-lost')], 7);
    fs.truncate(h, 3); // metadata changes are not durable without a sync either
    fs.crash();
    assert.equal(fs.readFile('/f').toString(), 'durable');
    assert.throws(() => fs.size(h), { code: 'EBADF' }, 'handles die with the machine');
  });

  it('crash() can tear the last unsynced write', async () => {
    const fs = new MemoryFileSystem();
    const h = fs.open('/f', 'w+');
    fs.write(h, [Buffer.from('0123')], 0);
    await fs.fdatasync(h);
    fs.write(h, [Buffer.from('ab'), Buffer.from('cdef')], 4);
    fs.crash({ tearLastWriteAt: 3 });
    assert.equal(fs.readFile('/f').toString(), '0123abc');
  });

  it('a sync covers only the writes made before it started', async () => {
    let release = (): void => undefined;
    const fs = new MemoryFileSystem({ syncDelay: () => new Promise<void>((r) => (release = r)) });
    const h = fs.open('/f', 'w+');
    fs.write(h, [Buffer.from('before')], 0);
    const sync = fs.fdatasync(h);
    fs.write(h, [Buffer.from('+after')], 6);
    release();
    await sync;
    assert.equal(fs.durableContents('/f').toString(), 'before');
    fs.crash();
    assert.equal(fs.readFile('/f').toString(), 'before');
  });

  it('a sync still in flight at the crash has no effect', async () => {
    let release = (): void => undefined;
    const fs = new MemoryFileSystem({ syncDelay: () => new Promise<void>((r) => (release = r)) });
    const h = fs.open('/f', 'w+');
    fs.write(h, [Buffer.from('x')], 0);
    const sync = fs.fdatasync(h);
    fs.crash();
    release();
    await sync;
    assert.equal(fs.readFile('/f').length, 0);
  });

  it('writeFileAtomic, rename, unlink and rmrf are durable at once', () => {
    const fs = new MemoryFileSystem();
    fs.mkdirp('/d/e');
    fs.writeFileAtomic('/d/cfg', Buffer.from('v1'));
    fs.rename('/d/cfg', '/d/e/cfg');
    fs.writeFileAtomic('/d/other', Buffer.from('x'));
    fs.unlink('/d/other');
    fs.crash();
    assert.equal(fs.readFile('/d/e/cfg').toString(), 'v1');
    assert.equal(fs.exists('/d/other'), false);
    fs.rmrf('/d');
    assert.equal(fs.exists('/d/e/cfg'), false);
    assert.equal(fs.exists('/d'), false);
    fs.rmrf('/nothing-here');
  });
});
