// The pool of large read buffers: reuse, size classes, and the guards that keep a buffer from being
// handed out twice (giving back twice, or memory the pool never lent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { READ_BUFFER_MAX_POOLED_BYTES, READ_BUFFER_MIN_POOLED_BYTES, ReadBufferPool } from '../../src/storage/read-buffer-pool.js';

const MiB = 1024 * 1024;

test('memory given back is lent again for a request of the same size class', () => {
  const pool = new ReadBufferPool(16 * MiB);
  const a = pool.take(MiB - 100);
  assert.equal(a.length, MiB, 'rounded up to a power of two');
  pool.give(a.buffer);
  assert.equal(pool.idleByteCount, MiB);
  const b = pool.take(700 * 1024);
  assert.equal(b.buffer, a.buffer, 'the same memory, no fresh allocation');
  assert.equal(pool.idleByteCount, 0);
  const c = pool.take(700 * 1024);
  assert.notEqual(c.buffer, a.buffer, 'memory still lent out is never lent twice');
});

test('giving back twice, a view, or foreign memory never lends one buffer to two readers', () => {
  const pool = new ReadBufferPool(16 * MiB);
  const a = pool.take(MiB);
  pool.give(a.subarray(10, 20).buffer); // a view's memory is the whole buffer: accepted once
  pool.give(a.buffer); // second time: ignored
  pool.give(Buffer.allocUnsafeSlow(MiB).buffer); // never lent: ignored
  assert.equal(pool.idleByteCount, MiB);
  const b = pool.take(MiB);
  const c = pool.take(MiB);
  assert.equal(b.buffer, a.buffer);
  assert.notEqual(c.buffer, b.buffer);
});

test('small and huge reads are not pooled, and idle memory is bounded', () => {
  const pool = new ReadBufferPool(2 * MiB);
  const small = pool.take(READ_BUFFER_MIN_POOLED_BYTES - 1);
  const huge = pool.take(READ_BUFFER_MAX_POOLED_BYTES + 1);
  assert.equal(pool.isLent(small.buffer), false);
  assert.equal(pool.isLent(huge.buffer), false);
  const lent = [pool.take(MiB), pool.take(MiB), pool.take(MiB)];
  for (const b of lent) pool.give(b.buffer);
  assert.equal(pool.idleByteCount, 2 * MiB, 'the third buffer is dropped, not kept idle');
});
