// The consumer's record-set decoding on its own: frame scanning, batch-at-a-time decoding, skipping
// below the position and control batches, read_committed filtering of aborted transactions (as
// Kafka's consumer does it), and CRC checks on every batch, skipped ones included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordBatch, CompressionCodec, type RecordInput } from '../../src/protocol/records/index.js';
import { BatchCursor, BatchError, scanBatches } from '../../src/client/consumer/batch-cursor.js';
import { AbortedTransactions } from '../../src/client/consumer/aborted-transactions.js';

const MAX = 1 << 26;

function recs(base: number, n: number, tag = 'v'): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${tag}${base + i}`), timestamp: base + i }));
}

/** A transaction marker: key (version 0, type), value (version 0, coordinator epoch 0). */
function marker(baseOffset: number, producerId: number, commit: boolean): Promise<Buffer> {
  const key = Buffer.from([0, 0, 0, commit ? 1 : 0]);
  return buildRecordBatch({ baseOffset, producerId, producerEpoch: 0, isTransactional: true, isControl: true, records: [{ key, value: Buffer.alloc(6), timestamp: 0 }] });
}

function txn(baseOffset: number, producerId: number, n: number, tag: string): Promise<Buffer> {
  return buildRecordBatch({ baseOffset, producerId, producerEpoch: 0, baseSequence: 0, isTransactional: true, records: recs(baseOffset, n, tag) });
}

async function drain(cursor: BatchCursor, position = 0n): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const b = await cursor.next(position);
    if (b === null) return out;
    for (const r of b.records) if (BigInt(r.offset) >= position) out.push(`${r.offset}:${r.value!.toString()}`);
  }
}

test('scanBatches finds complete batches and the offset after them; a cut-off batch is left out', async () => {
  const a = await buildRecordBatch({ baseOffset: 10, records: recs(10, 3) });
  const b = await buildRecordBatch({ baseOffset: 13, records: recs(13, 4), compression: CompressionCodec.GZIP });
  const whole = Buffer.concat([a, b]);
  assert.deepEqual(scanBatches(whole), { limit: whole.length, nextOffset: 17n, error: null });
  assert.deepEqual(scanBatches(whole.subarray(0, whole.length - 5)), { limit: a.length, nextOffset: 13n, error: null });
  assert.deepEqual(scanBatches(whole.subarray(0, 30)), { limit: 0, nextOffset: null, error: null });
  const badMagic = Buffer.from(b);
  badMagic[16] = 1;
  assert.deepEqual(scanBatches(Buffer.concat([a, badMagic])), { limit: a.length, nextOffset: 13n, error: 'unsupported message format (magic 1)' });
  const badLength = Buffer.from(a);
  badLength.writeInt32BE(3, 8);
  assert.equal(scanBatches(badLength).error, 'invalid batch length 3');
});

test('batches are decoded one at a time; records below the position and whole batches before it are skipped', async () => {
  const buf = Buffer.concat([
    await buildRecordBatch({ baseOffset: 0, records: recs(0, 5) }),
    await buildRecordBatch({ baseOffset: 5, records: recs(5, 5), compression: CompressionCodec.ZSTD }),
    await buildRecordBatch({ baseOffset: 10, records: recs(10, 5), compression: CompressionCodec.SNAPPY }),
  ]);
  const cursor = new BatchCursor(buf, buf.length, { verifyCrc: true, maxDecompressedBytes: MAX, aborted: null });
  const first = await cursor.next(7n);
  assert.equal(first!.baseOffset, 5, 'the batch before the position was not even decoded');
  assert.equal(first!.records.length, 5, 'a batch comes whole; the caller skips below the position');
  assert.equal(cursor.done, false);
  assert.equal((await cursor.next(10n))!.baseOffset, 10);
  assert.equal(await cursor.next(15n), null);
  assert.equal(cursor.done, true);
});

test('control batches are never delivered, committed or not, under either isolation level', async () => {
  const buf = Buffer.concat([await txn(0, 4, 2, 't'), await marker(2, 4, true), await buildRecordBatch({ baseOffset: 3, records: recs(3, 1, 'p') })]);
  for (const aborted of [null, new AbortedTransactions([])]) {
    const cursor = new BatchCursor(buf, buf.length, { verifyCrc: true, maxDecompressedBytes: MAX, aborted });
    assert.deepEqual(await drain(cursor), ['0:t0', '1:t1', '3:p3']);
  }
});

test('read_committed drops aborted transactions by the abortedTransactions ranges; read_uncommitted keeps them', async () => {
  // pid 7 aborts [0,1]; a plain record; pid 8 commits [3,4] around pid 7's abort marker; pid 7 then
  // commits a new transaction [7,8]; pid 9 aborts [10] and its marker is cut off (next fetch).
  const buf = Buffer.concat([
    await txn(0, 7, 2, 'a'),
    await buildRecordBatch({ baseOffset: 2, records: recs(2, 1, 'plain') }),
    await txn(3, 8, 2, 'c'),
    await marker(5, 7, false),
    await marker(6, 8, true),
    await txn(7, 7, 2, 'c'),
    await marker(9, 7, true),
    await txn(10, 9, 1, 'a'),
  ]);
  const abortedList = [{ producerId: 9n, firstOffset: 10n }, { producerId: 7n, firstOffset: 0n }];
  const committed = new BatchCursor(buf, buf.length, { verifyCrc: true, maxDecompressedBytes: MAX, aborted: new AbortedTransactions(abortedList) });
  assert.deepEqual(await drain(committed), ['2:plain2', '3:c3', '4:c4', '7:c7', '8:c8']);
  const uncommitted = new BatchCursor(buf, buf.length, { verifyCrc: true, maxDecompressedBytes: MAX, aborted: null });
  assert.deepEqual(await drain(uncommitted), ['0:a0', '1:a1', '2:plain2', '3:c3', '4:c4', '7:c7', '8:c8', '10:a10']);
  // Starting past the aborted records, the abort marker below the position still closes pid 7's transaction.
  const later = new BatchCursor(buf, buf.length, { verifyCrc: true, maxDecompressedBytes: MAX, aborted: new AbortedTransactions(abortedList) });
  assert.deepEqual(await drain(later, 7n), ['7:c7', '8:c8']);
});

test('a CRC mismatch throws at the batch (decoded or skipped) and keeps throwing; verifyCrc off reads it', async () => {
  const good = await buildRecordBatch({ baseOffset: 0, records: recs(0, 2) });
  const bad = await buildRecordBatch({ baseOffset: 2, records: recs(2, 2) });
  bad[bad.length - 2] = bad[bad.length - 2]! ^ 0xff;
  const buf = Buffer.concat([good, bad]);
  const cursor = new BatchCursor(buf, buf.length, { verifyCrc: true, maxDecompressedBytes: MAX, aborted: null });
  assert.equal((await cursor.next(0n))!.baseOffset, 0);
  await assert.rejects(cursor.next(0n), (e: unknown) => e instanceof BatchError && e.baseOffset === 2 && /CRC mismatch/.test(e.message));
  await assert.rejects(cursor.next(0n), BatchError);
  // Skipped because it is below the position: still verified.
  const skipping = new BatchCursor(Buffer.concat([bad, good]), buf.length, { verifyCrc: true, maxDecompressedBytes: MAX, aborted: null });
  await assert.rejects(skipping.next(100n), /CRC mismatch/);
  const lax = new BatchCursor(buf, buf.length, { verifyCrc: false, maxDecompressedBytes: MAX, aborted: null });
  assert.equal((await drain(lax)).length, 4);
});

test('the decompression bound refuses a batch that inflates past it', async () => {
  const big = await buildRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.alloc(100_000), timestamp: 0 }], compression: CompressionCodec.GZIP });
  const cursor = new BatchCursor(big, big.length, { verifyCrc: true, maxDecompressedBytes: 10_000, aborted: null });
  await assert.rejects(cursor.next(0n), BatchError);
});
