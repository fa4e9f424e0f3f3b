import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CompressionCodec,
  DecompressionLimitError,
  RECORD_BATCH_HEADER_SIZE,
  buildRecordBatch,
  decodeRecordBatches,
} from '../../../src/protocol/records/index.js';

const opts = { verifyCrc: true, maxDecompressedBytes: 1024 * 1024 };

async function twoBatches(): Promise<[Buffer, Buffer]> {
  return [
    await buildRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.from('one'), timestamp: 1 }] }),
    await buildRecordBatch({
      baseOffset: 1,
      compression: CompressionCodec.LZ4,
      records: [{ key: null, value: Buffer.from('two'), timestamp: 2 }],
    }),
  ];
}

test('a partial trailing batch, as fetch responses may carry, is ignored', async () => {
  const [first, second] = await twoBatches();
  const whole = Buffer.concat([first, second]);
  assert.equal((await decodeRecordBatches(whole, opts)).length, 2);
  for (const keep of [1, 11, 12, 30, RECORD_BATCH_HEADER_SIZE, second.length - 1]) {
    const cut = whole.subarray(0, first.length + keep);
    const decoded = await decodeRecordBatches(cut, opts);
    assert.deepEqual(
      decoded.map((b) => b.records.map((r) => r.value?.toString())),
      [['one']],
      `kept ${keep} bytes of the second batch`,
    );
  }
  assert.deepEqual(await decodeRecordBatches(Buffer.alloc(0), opts), []);
});

test('CRC verification is optional', async () => {
  const [first] = await twoBatches();
  const damaged = Buffer.from(first);
  damaged[damaged.length - 2] = 0x41; // last byte of the value, before the header count
  await assert.rejects(decodeRecordBatches(damaged, opts), /CRC mismatch/);
  const [batch] = await decodeRecordBatches(damaged, { ...opts, verifyCrc: false });
  assert.equal(batch?.records[0]?.value?.toString(), 'onA');
});

test('non-magic-2 data and inconsistent records are rejected', async () => {
  const [first] = await twoBatches();
  const legacy = Buffer.from(first);
  legacy[16] = 1;
  await assert.rejects(decodeRecordBatches(legacy, { ...opts, verifyCrc: false }), /unsupported magic 1/);
  const wrongCount = Buffer.from(first);
  wrongCount.writeInt32BE(2, 57);
  await assert.rejects(decodeRecordBatches(wrongCount, { ...opts, verifyCrc: false }), /record 1/);
});

test('the decompression limit applies per batch and surfaces as DecompressionLimitError', async () => {
  const batch = await buildRecordBatch({
    compression: CompressionCodec.GZIP,
    records: [{ key: null, value: Buffer.alloc(100_000), timestamp: 0 }],
  });
  await assert.rejects(decodeRecordBatches(batch, { ...opts, maxDecompressedBytes: 50_000 }), DecompressionLimitError);
  const [decoded] = await decodeRecordBatches(batch, opts);
  assert.equal(decoded?.records[0]?.value?.length, 100_000);
});

test('timestamps far apart and before the base timestamp survive', async () => {
  const timestamps = [1_700_000_000_000, 0, -5, 4_102_444_800_000];
  const batch = await buildRecordBatch({ records: timestamps.map((timestamp) => ({ key: null, value: null, timestamp })) });
  const [decoded] = await decodeRecordBatches(batch, opts);
  assert.deepEqual(
    decoded?.records.map((r) => r.timestamp),
    timestamps,
  );
  assert.equal(decoded?.header.maxTimestamp, 4_102_444_800_000);
});
