// FrameReader's read-into mode (net.Socket `onread`): the socket reads into the buffer the reader
// names, the rest of a large frame or a reusable scratch buffer. Frames must come out whole, in
// order, and must never be views of the scratch buffer (the next read overwrites it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, FrameTooLargeError } from '../../src/protocol/frame-reader.js';

function frame(size: number, seed: number): Buffer {
  const body = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) body[i] = (seed * 31 + i * 7) & 0xff;
  const out = Buffer.allocUnsafe(4 + size);
  out.writeInt32BE(size, 0);
  body.copy(out, 4);
  return out;
}

/** A deterministic stand-in for the kernel: each read copies up to `limit(i)` bytes into the target. */
function feedReadInto(reader: FrameReader, stream: Buffer, limit: (i: number) => number, onFrame: (f: Buffer) => void): number {
  let pos = 0;
  let reads = 0;
  while (pos < stream.length) {
    const target = reader.readTarget();
    assert.ok(target.length > 0, 'a read target is never empty');
    const n = Math.min(target.length, limit(reads++), stream.length - pos);
    stream.copy(target, 0, pos, pos + n);
    pos += n;
    reader.wrote(n, onFrame);
  }
  return reads;
}

const SIZES = [0, 3, 100, 4, 9_000, 70_000, 16_380, 16_400, 1 << 20, 5, 300_000, 0, 12];

test('read-into mode yields the same frames as push, whole and in order, for any read sizes', () => {
  const frames = SIZES.map((s, i) => frame(s, i));
  const stream = Buffer.concat(frames);
  const expected = frames.map((f) => f.subarray(4));
  for (const limit of [(): number => 1, (): number => 7, (): number => 65_536, (): number => 1 << 22, (i: number): number => [3, 5_000, 100_000, 17, 1 << 20][i % 5]!]) {
    const got: Buffer[] = [];
    feedReadInto(new FrameReader(1 << 24), stream, limit, (f) => got.push(f));
    // Compared only after the whole stream went through: no frame was overwritten by a later read.
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) assert.ok(got[i]!.equals(expected[i]!), `frame ${i} (${SIZES[i]} bytes)`);
  }
  const pushed: Buffer[] = [];
  const pusher = new FrameReader(1 << 24);
  for (let pos = 0; pos < stream.length; pos += 65_536) pusher.push(stream.subarray(pos, pos + 65_536), (f) => pushed.push(Buffer.from(f)));
  assert.deepEqual(pushed, expected);
});

test('a large frame is read straight into its own buffer: the bytes are not copied', () => {
  const big = frame(1 << 20, 9);
  const reader = new FrameReader(1 << 24);
  let got: Buffer | null = null;
  // First read: the size and the start of the frame land in the scratch buffer.
  const first = reader.readTarget();
  big.copy(first, 0, 0, first.length);
  reader.wrote(first.length, (f) => (got = f));
  assert.equal(reader.partial, true);
  // Every later target is the unfilled rest of the frame itself.
  const second = reader.readTarget();
  assert.equal(second.length, big.length - first.length);
  big.copy(second, 0, first.length);
  reader.wrote(second.length, (f) => (got = f));
  assert.ok(got !== null);
  const frameBuf = got as Buffer;
  assert.equal(frameBuf.buffer, second.buffer, 'the frame is the buffer the socket read into');
  assert.ok(frameBuf.equals(big.subarray(4)));
  assert.equal(reader.partial, false);
});

test('read-into mode checks frame sizes like push', () => {
  const reader = new FrameReader(1000);
  const target = reader.readTarget();
  target.writeInt32BE(1001, 0);
  assert.throws(() => reader.wrote(4, () => undefined), FrameTooLargeError);
  const negative = new FrameReader(1000);
  negative.readTarget().writeInt32BE(-1, 0);
  assert.throws(() => negative.wrote(4, () => undefined), FrameTooLargeError);
});

test('a consumer over TCP (read-into transport): large and small responses, every value intact after later reads', async () => {
  const { startBroker } = await import('../../src/index.js');
  const { createProducer } = await import('../../src/client/producer/index.js');
  const { createConsumer } = await import('../../src/client/consumer/index.js');
  const broker = await startBroker();
  try {
    const topic = 'read-into';
    const producer = createProducer({ bootstrapServers: broker.bootstrapServers, lingerMs: 2, batchSize: 256 * 1024 });
    const valueOf = (i: number): Buffer => Buffer.alloc(700 + (i % 900), `${i}:`);
    const total = 3_000;
    try {
      await producer.sendBatch(Array.from({ length: total }, (_, i) => ({ topic, partition: 0, value: valueOf(i) })));
    } finally {
      await producer.close();
    }
    // Small fetch limits for part of the run: many responses of a few KiB besides the large ones.
    for (const maxPartitionFetchBytes of [1 << 20, 20_000]) {
      const consumer = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', maxPartitionFetchBytes });
      try {
        consumer.assign([{ topic, partition: 0 }]);
        const kept: Array<{ offset: bigint; value: Buffer | null }> = [];
        while (kept.length < total) {
          const records = await consumer.poll({ maxRecords: 250, timeoutMs: 5_000 });
          assert.ok(records.length > 0, `poll returned nothing after ${kept.length} records`);
          for (const r of records) kept.push({ offset: r.offset, value: r.value });
        }
        assert.equal(kept.length, total);
        for (let i = 0; i < total; i++) {
          assert.equal(kept[i]!.offset, BigInt(i));
          assert.ok(kept[i]!.value!.equals(valueOf(i)), `value ${i} (fetch limit ${maxPartitionFetchBytes})`);
        }
      } finally {
        await consumer.close();
      }
    }
  } finally {
    await broker.close();
  }
});
