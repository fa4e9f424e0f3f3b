import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OffsetOutOfRangeError, type LogManagerOptions, type PartitionLog } from '../../src/storage/types.js';
import type { Engine, EngineHarness } from './engines.js';
import { decodeBatches, makeBatch, makeSizedBatch } from './make-batch.js';

const TOPIC_ID_A = '4a0c7a8e-8d6c-4f0e-9b7b-1c2d3e4f5a6b';
const TOPIC_ID_B = '5b1d8b9f-9e7d-4a1f-8c8c-2d3e4f5a6b7c';

async function withEngine(
  harness: EngineHarness,
  options: Partial<LogManagerOptions>,
  fn: (engine: Engine) => Promise<void> | void,
): Promise<void> {
  const engine = await harness.start(options);
  try {
    await fn(engine);
  } finally {
    await engine.cleanup();
  }
}

function log(engine: Engine, topic = 't', partition = 0): PartitionLog {
  const p = engine.manager.partition(topic, partition);
  assert.ok(p, `partition ${topic}-${partition} exists`);
  return p;
}

function readAll(p: PartitionLog, from = p.logStartOffset()) {
  return decodeBatches(p.read(from, Number.MAX_SAFE_INTEGER, true).chunks);
}

/**
 * The behaviour every storage engine must share. Each case starts from empty storage.
 */
export function runLogContract(harness: EngineHarness): void {
  describe(`log contract: ${harness.name}`, () => {
    it('round-trips appended batches and writes the base offset into the given buffer', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, {}, TOPIC_ID_A);
        const p = log(e);
        const first = makeBatch(['a', 'b', 'c'], { baseOffset: 999 });
        p.append(first);
        assert.equal(first.readBigInt64BE(0), 0n);
        p.append(makeBatch(['d']));
        const read = p.read(0, 1 << 20, false);
        assert.equal(read.bytes, read.chunks.reduce((n, c) => n + c.length, 0));
        const batches = decodeBatches(read.chunks);
        assert.deepEqual(
          batches.map((b) => [b.baseOffset, b.lastOffset, b.values, b.crcValid]),
          [
            [0, 2, ['a', 'b', 'c'], true],
            [3, 3, ['d'], true],
          ],
        );
      }));

    it('assigns offsets in order', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, {}, TOPIC_ID_A);
        const p = log(e);
        assert.equal(p.logEndOffset(), 0);
        assert.deepEqual(p.append(makeBatch(['1', '2', '3', '4', '5'])), { baseOffset: 0, lastOffset: 4, logEndOffset: 5 });
        assert.deepEqual(p.append(makeBatch(['6'])), { baseOffset: 5, lastOffset: 5, logEndOffset: 6 });
        assert.deepEqual(p.append(makeBatch(['7', '8', '9'])), { baseOffset: 6, lastOffset: 8, logEndOffset: 9 });
        assert.equal(p.logEndOffset(), 9);
        assert.equal(p.logStartOffset(), 0);
      }));

    it('reading from the middle of a batch returns the containing batch', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, {}, TOPIC_ID_A);
        const p = log(e);
        p.append(makeBatch(['a', 'b', 'c', 'd']));
        p.append(makeBatch(['e', 'f']));
        assert.deepEqual(
          readAll(p, 2).map((b) => b.baseOffset),
          [0, 4],
        );
        assert.deepEqual(
          readAll(p, 5).map((b) => b.baseOffset),
          [4],
        );
      }));

    it('honours maxBytes and returns one whole batch when minOneBatch', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, {}, TOPIC_ID_A);
        const p = log(e);
        const sizes: number[] = [];
        for (let i = 0; i < 5; i++) {
          const b = makeSizedBatch(2, 300, `b${i}`);
          sizes.push(b.length);
          p.append(b);
        }
        const [s0 = 0, s1 = 0, s2 = 0] = sizes;
        assert.equal(p.read(0, s0 + s1 + s2 - 1, false).chunks.length > 0, true);
        assert.deepEqual(decodeBatches(p.read(0, s0 + s1 + s2 - 1, false).chunks).map((b) => b.baseOffset), [0, 2]);
        assert.equal(p.read(0, s0 + s1 + s2 - 1, false).bytes, s0 + s1);
        assert.deepEqual(decodeBatches(p.read(0, s0 + s1 + s2, false).chunks).map((b) => b.baseOffset), [0, 2, 4]);
        assert.deepEqual(decodeBatches(p.read(0, s0, false).chunks).map((b) => b.baseOffset), [0]);
        // Too small for any batch: nothing, unless minOneBatch, which returns exactly the first.
        assert.deepEqual(p.read(0, 10, false), { chunks: [], bytes: 0 });
        assert.deepEqual(p.read(0, 0, false), { chunks: [], bytes: 0 });
        const forced = p.read(3, 10, true);
        assert.equal(forced.bytes, s1);
        assert.deepEqual(decodeBatches(forced.chunks).map((b) => b.baseOffset), [2]);
        assert.deepEqual(decodeBatches(p.read(0, 0, true).chunks).map((b) => b.baseOffset), [0]);
      }));

    it('throws OffsetOutOfRange outside [logStart, logEnd] and returns nothing at logEnd', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, {}, TOPIC_ID_A);
        const p = log(e);
        assert.deepEqual(p.read(0, 100, true), { chunks: [], bytes: 0 });
        assert.throws(() => p.read(1, 100, true), OffsetOutOfRangeError);
        p.append(makeBatch(['a', 'b']));
        assert.deepEqual(p.read(2, 100, true), { chunks: [], bytes: 0 });
        assert.throws(
          () => p.read(3, 100, true),
          (err: unknown) =>
            err instanceof OffsetOutOfRangeError && err.offset === 3 && err.logStartOffset === 0 && err.logEndOffset === 2,
        );
        assert.throws(() => p.read(-1, 100, true), OffsetOutOfRangeError);
      }));

    it('rolls segments at a small segment.bytes and reads across them', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, { 'segment.bytes': '1024' }, TOPIC_ID_A);
        const p = log(e);
        const expected: string[][] = [];
        let total = 0;
        for (let i = 0; i < 40; i++) {
          const values = [`v${i}-a`.padEnd(90, '.'), `v${i}-b`.padEnd(90, '.')];
          const batch = makeBatch(values, { baseTimestamp: 1000 + i });
          total += batch.length;
          expected.push(values);
          p.append(batch);
        }
        if (e.segmentFiles) assert.ok(e.segmentFiles('t', 0).length >= 8, 'rolled into several segments');
        assert.equal(p.sizeBytes(), total);
        const all = readAll(p);
        assert.deepEqual(all.map((b) => b.values), expected);
        assert.deepEqual(all.map((b) => b.baseOffset), expected.map((_, i) => i * 2));
        // Every offset finds its batch, wherever the segment boundary falls.
        for (let o = 0; o < 80; o++) {
          const got = decodeBatches(p.read(o, 1, true).chunks);
          assert.equal(got.length, 1);
          assert.equal(got[0]?.baseOffset, o - (o % 2));
        }
        // A budget spanning a segment boundary returns whole batches from both segments.
        const mid = p.read(10, 1500, false);
        const midBatches = decodeBatches(mid.chunks);
        assert.ok(midBatches.length >= 5);
        assert.deepEqual(midBatches.map((b) => b.baseOffset), midBatches.map((_, i) => 10 + i * 2));
        assert.ok(mid.bytes <= 1500);
      }));

    it('finds every offset through the indexes across many segments', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, { 'segment.bytes': '4000', 'index.interval.bytes': '150' }, TOPIC_ID_A);
        const p = log(e);
        const bases: number[] = [];
        for (let i = 0; i < 300; i++) {
          const count = 1 + (i % 4);
          bases.push(p.append(makeBatch(Array.from({ length: count }, (_, j) => `r${i}.${j}`))).baseOffset);
        }
        if (e.segmentFiles) assert.ok(e.segmentFiles('t', 0).length >= 5);
        const end = p.logEndOffset();
        let b = 0;
        for (let o = 0; o < end; o++) {
          while ((bases[b + 1] ?? Infinity) <= o) b++;
          const got = decodeBatches(p.read(o, 1, true).chunks);
          assert.equal(got[0]?.baseOffset, bases[b], `offset ${o}`);
        }
      }));

    it('answers offsetForTimestamp and maxTimestamp', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, { 'segment.bytes': '600', 'index.interval.bytes': '1' }, TOPIC_ID_A);
        const p = log(e);
        assert.equal(p.offsetForTimestamp(0), null);
        assert.equal(p.maxTimestamp(), null);
        // Out of order on purpose: the max timestamp is not in the last batch.
        const stamps = [1000, 3000, 2000, 5000, 4000, 4500];
        const bases = stamps.map((ts, i) => p.append(makeSizedBatch(2, 250, `t${i}`, ts)).baseOffset);
        if (e.segmentFiles) assert.ok(e.segmentFiles('t', 0).length >= 3);
        assert.deepEqual(p.offsetForTimestamp(0), { offset: bases[0], timestamp: 1000 });
        assert.deepEqual(p.offsetForTimestamp(1000), { offset: bases[0], timestamp: 1000 });
        assert.deepEqual(p.offsetForTimestamp(1001), { offset: bases[1], timestamp: 3000 });
        assert.deepEqual(p.offsetForTimestamp(2500), { offset: bases[1], timestamp: 3000 });
        assert.deepEqual(p.offsetForTimestamp(3001), { offset: bases[3], timestamp: 5000 });
        assert.deepEqual(p.offsetForTimestamp(5000), { offset: bases[3], timestamp: 5000 });
        assert.equal(p.offsetForTimestamp(5001), null);
        assert.deepEqual(p.maxTimestamp(), { offset: bases[3], timestamp: 5000 });
        // Record timestamps inside a batch: the batch max counts.
        p.append(makeBatch(['x', 'y'], { baseTimestamp: 6000, timestampDeltas: [0, 7] }));
        assert.deepEqual(p.maxTimestamp(), { offset: 12, timestamp: 6007 });
        assert.deepEqual(p.offsetForTimestamp(6003), { offset: 12, timestamp: 6007 });
      }));

    it('advanceLogStartOffset drops old data and moves the start', () =>
      withEngine(harness, {}, (e) => {
        e.manager.createTopic('t', 1, { 'segment.bytes': '700' }, TOPIC_ID_A);
        const p = log(e);
        for (let i = 0; i < 30; i++) p.append(makeSizedBatch(3, 200, `d${i}`, 100 + i));
        const before = p.sizeBytes();
        const segmentsBefore = e.segmentFiles?.('t', 0).length ?? 0;
        p.advanceLogStartOffset(31); // inside batch 10 (offsets 30..32)
        assert.equal(p.logStartOffset(), 31);
        assert.ok(p.sizeBytes() < before, 'space reclaimed');
        if (e.segmentFiles) assert.ok(e.segmentFiles('t', 0).length < segmentsBefore);
        assert.throws(() => p.read(30, 100, true), OffsetOutOfRangeError);
        assert.deepEqual(decodeBatches(p.read(31, 1, true).chunks).map((b) => b.baseOffset), [30]);
        assert.equal(readAll(p, 31).length, 20);
        // Timestamp lookups never answer below the log start.
        assert.deepEqual(p.offsetForTimestamp(0), { offset: 31, timestamp: 110 });
        p.advanceLogStartOffset(5); // backwards is a no-op
        assert.equal(p.logStartOffset(), 31);
        assert.throws(() => p.advanceLogStartOffset(91), OffsetOutOfRangeError);
        p.advanceLogStartOffset(90);
        assert.equal(p.logStartOffset(), 90);
        assert.deepEqual(p.read(90, 100, true), { chunks: [], bytes: 0 });
        assert.equal(p.offsetForTimestamp(0), null);
        assert.equal(p.maxTimestamp(), null);
        assert.equal(p.append(makeBatch(['next'])).baseOffset, 90);
      }));

    it('creates, grows, reconfigures and deletes topics', () =>
      withEngine(harness, {}, (e) => {
        const m = e.manager;
        const meta = m.createTopic('orders', 2, { 'segment.bytes': '2048' }, TOPIC_ID_A);
        assert.deepEqual(meta, { name: 'orders', topicId: TOPIC_ID_A, partitions: 2, configs: { 'segment.bytes': '2048' } });
        assert.throws(() => m.createTopic('orders', 1, {}, TOPIC_ID_B));
        assert.throws(() => m.createTopic('other', 1, {}, TOPIC_ID_A));
        assert.throws(() => m.createTopic('../escape', 1, {}, TOPIC_ID_B));
        assert.deepEqual(m.getTopic('orders'), meta);
        assert.deepEqual(m.getTopicById(TOPIC_ID_A), meta);
        assert.equal(m.getTopic('nope'), undefined);
        assert.equal(m.partition('orders', 2), undefined);
        assert.equal(m.partition('nope', 0), undefined);
        log(e, 'orders', 1).append(makeBatch(['p1']));

        const grown = m.addPartitions('orders', 4);
        assert.equal(grown.partitions, 4);
        assert.throws(() => m.addPartitions('orders', 4));
        assert.equal(log(e, 'orders', 3).append(makeBatch(['p3'])).baseOffset, 0);
        assert.equal(log(e, 'orders', 1).logEndOffset(), 1);

        const reconfigured = m.setTopicConfigs('orders', { 'segment.ms': '1000' });
        assert.deepEqual(reconfigured.configs, { 'segment.ms': '1000' });
        assert.deepEqual(m.getTopic('orders')?.configs, { 'segment.ms': '1000' });

        m.createTopic('logs.app-1', 1, {}, TOPIC_ID_B);
        assert.deepEqual(m.listTopics().map((t) => t.name).sort(), ['logs.app-1', 'orders']);
        m.deleteTopic('orders');
        assert.equal(m.getTopic('orders'), undefined);
        assert.equal(m.getTopicById(TOPIC_ID_A), undefined);
        assert.equal(m.partition('orders', 0), undefined);
        assert.throws(() => m.deleteTopic('orders'));
        assert.deepEqual(m.listTopics().map((t) => t.name), ['logs.app-1']);

        // The name is free again, and the new topic starts empty.
        m.createTopic('orders', 1, {}, TOPIC_ID_A);
        assert.equal(log(e, 'orders', 0).logEndOffset(), 0);
        assert.equal(log(e, 'orders', 0).sizeBytes(), 0);
      }));

    it('flush resolves for every caller', () =>
      withEngine(harness, {}, async (e) => {
        e.manager.createTopic('t', 1, {}, TOPIC_ID_A);
        const p = log(e);
        await p.flush();
        p.append(makeBatch(['a']));
        await Promise.all([p.flush(), p.flush(), p.flush()]);
        p.append(makeBatch(['b']));
        await p.flush();
        assert.equal(p.logEndOffset(), 2);
      }));

    it('keeps everything across close and reopen', () =>
      withEngine(harness, {}, async (e) => {
        e.manager.createTopic('t', 2, { 'segment.bytes': '800', 'index.interval.bytes': '100' }, TOPIC_ID_A);
        e.manager.createTopic('u', 1, { 'retention.ms': '5' }, TOPIC_ID_B);
        const p = log(e);
        for (let i = 0; i < 25; i++) p.append(makeSizedBatch(2, 150, `k${i}`, 2000 + i));
        log(e, 't', 1).append(makeBatch(['one']));
        p.advanceLogStartOffset(13);
        const before = {
          topics: e.manager.listTopics(),
          start: p.logStartOffset(),
          end: p.logEndOffset(),
          size: p.sizeBytes(),
          data: readAll(p),
          ts: p.offsetForTimestamp(2010),
          max: p.maxTimestamp(),
        };
        const m = await e.reopen();
        const q = m.partition('t', 0);
        assert.ok(q);
        assert.deepEqual(m.listTopics(), before.topics);
        assert.deepEqual(m.getTopicById(TOPIC_ID_B)?.configs, { 'retention.ms': '5' });
        assert.equal(q.logStartOffset(), before.start);
        assert.equal(q.logEndOffset(), before.end);
        assert.equal(q.sizeBytes(), before.size);
        assert.deepEqual(readAll(q), before.data);
        assert.deepEqual(q.offsetForTimestamp(2010), before.ts);
        assert.deepEqual(q.maxTimestamp(), before.max);
        assert.equal(m.partition('t', 1)?.logEndOffset(), 1);
        assert.equal(q.append(makeBatch(['after'])).baseOffset, before.end);
        assert.deepEqual(readAll(q, before.end)[0]?.values, ['after']);
        // And once more, so the reopened state itself survives a reopen.
        const again = await e.reopen();
        assert.equal(again.partition('t', 0)?.logEndOffset(), before.end + 1);
      }));
  });
}
