import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEEP_BATCH_MAX_BACKING_RATIO, MemoryPartitionLog } from '../../src/storage/memory/memory-partition-log.js';
import { decodeBatches, makeBatch, makeSizedBatch } from './make-batch.js';

/** `batches` laid out back to back in one fresh buffer (like frames in one socket read), as views. */
function viewsOfOneChunk(batches: readonly Buffer[], extraBytes = 0): Buffer[] {
  const total = batches.reduce((n, b) => n + b.length, 0) + extraBytes;
  const chunk = Buffer.allocUnsafeSlow(total);
  const views: Buffer[] = [];
  let at = 0;
  for (const b of batches) {
    b.copy(chunk, at);
    views.push(chunk.subarray(at, at + b.length));
    at += b.length;
  }
  return views;
}

function ownBuffer(batch: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(batch.length);
  batch.copy(own);
  return own;
}

describe('memory engine: keeping the caller buffers', () => {
  it('keeps batches that are views of a chunk they fill, without copying', () => {
    const log = new MemoryPartitionLog('t', 0);
    const views = viewsOfOneChunk([makeSizedBatch(4, 4000, 'a'), makeSizedBatch(4, 4000, 'b'), makeSizedBatch(4, 4000, 'c')]);
    for (const v of views) log.append(v);
    const read = log.read(0, Number.MAX_SAFE_INTEGER, true);
    assert.equal(read.chunks.length, 3);
    read.chunks.forEach((c, i) => assert.equal(c.buffer, views[i]?.buffer, `batch ${i} is the caller's memory`));
    assert.deepEqual(
      decodeBatches(read.chunks).map((b) => [b.baseOffset, b.crcValid]),
      [
        [0, true],
        [4, true],
        [8, true],
      ],
    );
  });

  it('copies a small batch that would pin a much larger buffer', () => {
    const log = new MemoryPartitionLog('t', 0);
    const batch = makeBatch(['tiny']);
    const [view] = viewsOfOneChunk([batch], batch.length * KEEP_BATCH_MAX_BACKING_RATIO * 2);
    assert.ok(view);
    log.append(view);
    const [stored] = log.read(0, Number.MAX_SAFE_INTEGER, true).chunks;
    assert.ok(stored);
    assert.notEqual(stored.buffer, view.buffer);
    assert.deepEqual(stored, view, 'same bytes, base offset included');
    // The copy no longer follows the caller's buffer.
    view.fill(0);
    assert.deepEqual(decodeBatches([stored]).map((b) => b.values), [['tiny']]);
  });

  it('bounds the memory kept alive, counting a shared chunk once', () => {
    const one = makeSizedBatch(2, 1000, 'x');
    // Each chunk: two batches plus as many bytes again of something else (other requests' bytes).
    const chunkBytes = 4 * one.length;
    const log = new MemoryPartitionLog('t', 0, 3 * chunkBytes);
    for (let i = 0; i < 10; i++) for (const v of viewsOfOneChunk([makeSizedBatch(2, 1000, `c${i}a`), makeSizedBatch(2, 1000, `c${i}b`)], 2 * one.length)) log.append(v);
    // Three chunks fit the bound. A chunk is charged to its first batch, so the second batch of the
    // oldest chunk outlives the charge (the bound is exact to within one chunk).
    assert.equal(log.logEndOffset(), 40);
    assert.equal(log.logStartOffset(), 26);
    assert.equal(log.sizeBytes(), 7 * one.length, 'sizeBytes reports the batches, not their chunks');
    assert.equal(decodeBatches(log.read(26, Number.MAX_SAFE_INTEGER, true).chunks).length, 7);
  });

  it('batches in buffers of their own are counted at their size', () => {
    const one = makeSizedBatch(1, 500, 'y');
    const log = new MemoryPartitionLog('t', 0, 5 * one.length);
    for (let i = 0; i < 12; i++) log.append(ownBuffer(makeSizedBatch(1, 500, 'y')));
    assert.equal(log.logEndOffset(), 12);
    assert.equal(log.logStartOffset(), 7);
    assert.equal(log.sizeBytes(), 5 * one.length);
  });
});
