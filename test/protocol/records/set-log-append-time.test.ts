import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CompressionCodec,
  buildRecordBatch,
  decodeRecordBatches,
  readBatchHeader,
  setLogAppendTime,
  validateProducedRecords,
} from '../../../src/protocol/records/index.js';

const limits = { maxBatchBytes: 1024 * 1024, maxDecompressedBytes: 1024 * 1024 };
const NOW = 1_712_345_678_901;

for (const codec of [CompressionCodec.NONE, CompressionCodec.ZSTD]) {
  test(`setLogAppendTime keeps a codec ${codec} batch valid and stamps every record`, async () => {
    const first = await buildRecordBatch({ records: [{ key: null, value: Buffer.from('untouched'), timestamp: 10 }] });
    const second = await buildRecordBatch({
      compression: codec,
      records: [
        { key: null, value: Buffer.from('a'), timestamp: 100 },
        { key: Buffer.from('b'), value: Buffer.from('b'), timestamp: 200 },
      ],
    });
    const buf = Buffer.concat([first, second]);
    const before = validateProducedRecords(buf, limits);
    assert.ok(before.ok);
    const target = before.batches[1]!;

    setLogAppendTime(buf, target.start, target.length, NOW);

    const after = validateProducedRecords(buf, limits);
    assert.ok(after.ok, after.ok ? '' : after.message);
    assert.equal(after.batches[0]?.timestampType, 0);
    assert.equal(after.batches[1]?.timestampType, 1);
    assert.equal(after.batches[1]?.maxTimestamp, NOW);
    assert.equal(after.batches[1]?.baseTimestamp, 100, 'Kafka leaves baseTimestamp alone');
    assert.deepEqual(buf.subarray(0, first.length), first);
    assert.equal(readBatchHeader(buf, target.start).attributes, codec | 0x08);

    const decoded = await decodeRecordBatches(buf, { verifyCrc: true, maxDecompressedBytes: 1024 });
    assert.deepEqual(
      decoded.map((b) => b.records.map((r) => r.timestamp)),
      [[10], [NOW, NOW]],
    );
  });
}

test('setLogAppendTime refuses a length that does not match the header', async () => {
  const batch = await buildRecordBatch({ records: [{ key: null, value: null, timestamp: 1 }] });
  const copy = Buffer.from(batch);
  assert.throws(() => setLogAppendTime(copy, 0, batch.length - 12, NOW), RangeError);
  assert.throws(() => setLogAppendTime(copy, 0, batch.length, Number.NaN), RangeError);
});
