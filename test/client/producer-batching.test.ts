// The producer's fast path: records encoded into the batch buffer as they are appended (byte for
// byte what buildRecordBatch makes), sendBatch with one promise per call, flush epochs, and the
// reused staging record (a partitioner that sends again).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createProducer } from '../../src/client/producer/index.js';
import { ProducerBatch } from '../../src/client/producer/batch.js';
import { FlushEpochs } from '../../src/client/producer/flush-epochs.js';
import { PendingRecord, estimateRecordSize, normalizeHeaders, type RecordSink } from '../../src/client/producer/pending-record.js';
import { SendBatchCall } from '../../src/client/producer/send-batch-call.js';
import type { RecordMetadata } from '../../src/client/producer/types.js';
import { ClientError } from '../../src/client/errors.js';
import { CompressionCodec, buildRecordBatch, decodeRecordBatches, type RecordHeader } from '../../src/protocol/records/index.js';
import { sizeOfVarint, writeVarint } from '../../src/protocol/records/varint.js';

let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ config: { 'num.partitions': '1' } });
});

after(async () => {
  await broker.close();
});

interface Input {
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
  timestamp: number;
}

function pending(i: Input, sink: RecordSink, index = 0, epoch = 0, counter = new FlushEpochs()): PendingRecord {
  const size = estimateRecordSize(i.key, i.value, i.headers);
  return new PendingRecord('t', null, i.key, i.value, i.headers, i.timestamp, size, 1_000, epoch, counter, sink, index);
}

/** Records of every shape: null and empty keys and values, headers (utf-8 names), timestamps going back and forth, sizes crossing varint widths. */
function inputs(): Input[] {
  const out: Input[] = [];
  const base = 1_700_000_000_000;
  for (let i = 0; i < 300; i++) {
    out.push({
      key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
      value: i % 7 === 0 ? null : i % 11 === 0 ? Buffer.alloc(0) : Buffer.alloc((i * 37) % 300 + (i === 5 ? 20_000 : 0), i),
      headers: i % 5 === 0 ? normalizeHeaders({ ä: 'ü', plain: Buffer.from([1, 2, 3]) }) : i % 13 === 0 ? [{ key: 'nullish', value: null }] : normalizeHeaders(undefined),
      timestamp: base + ((i * 7919) % 5000) - 2500,
    });
  }
  return out;
}

test('a batch encoded record by record is byte for byte what buildRecordBatch makes, through buffer growth and hints', async () => {
  const records = inputs();
  for (const [batchSize, capacityHint, countHint] of [
    [1 << 20, 0, 0],
    [64 * 1024, 0, 0],
    [1 << 20, 1 << 20, 400],
    [100, 0, 0], // smaller than one record: only the first record's size bounds the buffer
  ] as const) {
    const batch = new ProducerBatch('t', 0, 0, batchSize, capacityHint, countHint);
    for (const r of records) batch.append(pending(r, () => undefined));
    batch.producerId = 42;
    batch.producerEpoch = 3;
    batch.baseSequence = 7;
    const built = batch.build({ compression: CompressionCodec.NONE, isTransactional: true });
    assert.ok(Buffer.isBuffer(built), 'no compression: built synchronously');
    const expected = await buildRecordBatch({ records, producerId: 42, producerEpoch: 3, baseSequence: 7, isTransactional: true });
    assert.ok(built.equals(expected), `batchSize ${batchSize}, hint ${capacityHint}`);
    assert.equal(batch.build({ compression: CompressionCodec.NONE, isTransactional: true }), built, 'a retry gets the same bytes');
    assert.ok(built.length <= batch.sizeBytes, 'the estimate bounds the encoded batch');
  }
});

test('a compressed batch decodes to the records appended', async () => {
  const records = inputs().slice(0, 50);
  for (const codec of [CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4, CompressionCodec.ZSTD]) {
    const batch = new ProducerBatch('t', 0, 0, 1 << 20);
    for (const r of records) batch.append(pending(r, () => undefined));
    const built = await batch.build({ compression: codec, isTransactional: false });
    const [decoded] = await decodeRecordBatches(built, { verifyCrc: true, maxDecompressedBytes: 1 << 24 });
    assert.equal(decoded!.compression, codec);
    assert.equal(decoded!.records.length, records.length);
    decoded!.records.forEach((r, i) => {
      assert.deepEqual(r.value, records[i]!.value, `codec ${codec} record ${i} value`);
      assert.deepEqual(r.key, records[i]!.key);
      assert.equal(r.timestamp, records[i]!.timestamp);
    });
  }
});

test('a batch settles each record: offsets count up, timestamps are the records own or the log-append time; failures reach every sink', async () => {
  const counter = new FlushEpochs();
  const got: Array<RecordMetadata | Error> = [];
  const sink: RecordSink = (m) => void Promise.resolve(m).then((x) => got.push(x), (e: Error) => got.push(e));
  const batch = new ProducerBatch('t', 2, 0, 1 << 20);
  for (let i = 0; i < 20; i++) batch.append(pending({ key: null, value: Buffer.from([i]), headers: [], timestamp: 1000 + i }, sink, 0, counter.add(), counter));
  assert.equal(batch.count, 20);
  assert.equal(batch.deadline, 1_000);
  const flushed = counter.mark();
  assert.ok(flushed !== null);
  batch.resolveAll(100n, -1);
  await flushed; // every record of the epoch settled
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => ({ topic: 't', partition: 2, offset: 100n + BigInt(i), timestamp: 1000 + i })));

  const unknown: RecordMetadata[] = [];
  const b2 = new ProducerBatch('t', 0, 0, 1 << 20);
  for (let i = 0; i < 3; i++) b2.append(pending({ key: null, value: null, headers: [], timestamp: 5 }, (m) => void Promise.resolve(m).then((x) => unknown.push(x)), 0, counter.add(), counter));
  b2.resolveAll(-1n, 77);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(unknown.map((m) => [m.offset, m.timestamp]), [[-1n, 77], [-1n, 77], [-1n, 77]]);

  const failures: Error[] = [];
  const b3 = new ProducerBatch('t', 0, 0, 1 << 20);
  const promises = Array.from({ length: 3 }, () => {
    let resolve!: RecordSink;
    const p = new Promise<RecordMetadata>((res) => (resolve = res));
    b3.append(pending({ key: null, value: null, headers: [], timestamp: 5 }, resolve, 0, counter.add(), counter));
    return p.catch((e: Error) => void failures.push(e));
  });
  const boom = new Error('boom');
  b3.rejectAll(boom);
  await Promise.all(promises);
  assert.deepEqual(failures, [boom, boom, boom], 'a rejecting thenable rejects each send() promise');
  assert.equal(counter.mark(), null, 'nothing outstanding');
});

test('flush epochs: flush waits for the records sent before it, not for later ones', async () => {
  const epochs = new FlushEpochs();
  const a = epochs.add();
  const b = epochs.add();
  const first = epochs.mark();
  assert.ok(first !== null);
  const c = epochs.add();
  let done = false;
  void first.then(() => (done = true));
  epochs.settled(c, 1); // a later record: no effect on the flush
  epochs.settled(a, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  epochs.settled(b, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(done, true);
  assert.equal(epochs.mark(), null);
});

test('SendBatchCall: results in call order; the first failure rejects, the rest still count', async () => {
  let result: RecordMetadata[] | Error | null = null;
  const call = new SendBatchCall(3, (r) => (result = r as RecordMetadata[]), (e) => (result = e));
  const m = (o: bigint): RecordMetadata => ({ topic: 't', partition: 0, offset: o, timestamp: 0 });
  call.resolved(2, m(2n));
  call.resolved(0, m(0n));
  assert.equal(result, null);
  call.resolved(1, m(1n));
  assert.deepEqual(result, [m(0n), m(1n), m(2n)]);

  const e1 = new Error('first');
  const failing = new SendBatchCall(2, (r) => (result = r as RecordMetadata[]), (e) => (result = e));
  failing.rejected(1, e1);
  failing.rejected(0, new Error('second'));
  assert.equal(result, e1);
});

test('sendBatch: one promise, metadata in order; a refused record rejects the call while the others are delivered', async () => {
  broker.broker.createTopic('sb', 1, 1, {});
  const producer = createProducer({ bootstrapServers: broker.bootstrapServers, acks: 1, lingerMs: 1, batchSize: 4096 });
  try {
    const records = Array.from({ length: 500 }, (_, i) => ({ topic: 'sb', value: Buffer.from(`v${i}`) }));
    const metas = await producer.sendBatch(records);
    assert.deepEqual(metas.map((x) => x.offset), records.map((_, i) => BigInt(i)));
    assert.deepEqual(await producer.sendBatch([]), []);

    const bad = [{ topic: 'sb', value: Buffer.from('a') }, { topic: '', value: Buffer.from('b') }, { topic: 'sb', value: Buffer.from('c') }];
    await assert.rejects(producer.sendBatch(bad), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
    await producer.flush();
    const next = await producer.send({ topic: 'sb', value: Buffer.from('d') });
    assert.equal(next.offset, 502n, 'the two valid records of the refused call were delivered');
  } finally {
    await producer.close();
  }
});

test('a partitioner that sends again (re-entrant send) keeps both records intact', async () => {
  broker.broker.createTopic('reentrant', 2, 1, {});
  const inner: Array<Promise<RecordMetadata>> = [];
  let depth = 0;
  const producer = createProducer({
    bootstrapServers: broker.bootstrapServers,
    acks: 1,
    lingerMs: 0,
    partitioner: (key, topic) => {
      if (depth++ === 0 && key?.toString() === 'outer') inner.push(producer.send({ topic, key: Buffer.from('inner'), value: Buffer.from('inner-value'), partition: 1 }));
      depth--;
      return 0;
    },
  });
  try {
    await producer.send({ topic: 'reentrant', value: Buffer.from('warm-up'), partition: 0 }); // metadata known: the fast path from now on
    const outer = await producer.send({ topic: 'reentrant', key: Buffer.from('outer'), value: Buffer.from('outer-value') });
    const got = await inner[0]!;
    assert.equal(outer.partition, 0);
    assert.equal(got.partition, 1);
    const read = async (p: number): Promise<string[]> => {
      const log = broker.broker.logs.partition('reentrant', p)!;
      const { chunks } = log.read(0, 1 << 20, true);
      const batches = await decodeRecordBatches(Buffer.concat(chunks), { verifyCrc: true, maxDecompressedBytes: 1 << 20 });
      return batches.flatMap((b) => b.records.map((r) => `${r.key?.toString() ?? '-'}=${r.value?.toString() ?? '-'}`));
    };
    assert.deepEqual(await read(0), ['-=warm-up', 'outer=outer-value']);
    assert.deepEqual(await read(1), ['inner=inner-value']);
  } finally {
    await producer.close();
  }
});

test('varints: the 32-bit fast path writes what the general path writes', () => {
  const reference = (v: number): number[] => {
    let raw = BigInt(v) >= 0n ? BigInt(v) * 2n : -BigInt(v) * 2n - 1n;
    const out: number[] = [];
    while (raw >= 0x80n) {
      out.push(Number(raw & 0x7fn) | 0x80);
      raw >>= 7n;
    }
    out.push(Number(raw));
    return out;
  };
  const values = [0, -0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 2 ** 20, -(2 ** 20), 2 ** 27, 2 ** 30 - 1, 2 ** 30, -(2 ** 30), -(2 ** 30) - 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 40, -(2 ** 45), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
  for (const v of values) {
    const buf = Buffer.alloc(16);
    const end = writeVarint(buf, 0, v);
    assert.deepEqual([...buf.subarray(0, end)], reference(v), `value ${v}`);
    assert.equal(sizeOfVarint(v), end, `size of ${v}`);
  }
});
