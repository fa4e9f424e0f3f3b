import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRecordBatch, crc32c, decodeRecordBatches, readBatchHeader, validateProducedRecords } from '../../../src/protocol/records/index.js';

/**
 * A two-record batch assembled by hand from the magic-2 layout in the Kafka
 * protocol guide. Record fields are zigzag varints.
 */
const GOLDEN = Buffer.from(
  [
    '0000000000000005', // baseOffset 5
    '00000048', // batchLength 72 = 84 - 12
    '00000000', // partitionLeaderEpoch 0
    '02', // magic
    'd6f7b982', // crc32c over bytes 21..84
    '0000', // attributes: no compression, CreateTime
    '00000001', // lastOffsetDelta 1
    '0000018bcfe56800', // baseTimestamp 1700000000000
    '0000018bcfe56805', // maxTimestamp 1700000000005
    'ffffffffffffffff', // producerId -1
    'ffff', // producerEpoch -1
    'ffffffff', // baseSequence -1
    '00000002', // recordsCount 2
    // record 0: length 12, attrs 0, tsDelta 0, offsetDelta 0, key "k", value "hello", 0 headers
    '18', '00', '00', '00', '02', '6b', '0a', '68656c6c6f', '00',
    // record 1: length 9, attrs 0, tsDelta 5, offsetDelta 1, key null, value "", 1 header "h" = null
    '12', '00', '0a', '02', '01', '00', '02', '02', '68', '01',
  ].join(''),
  'hex',
);

test('the golden batch checksum is CRC-32C over attributes..end', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(GOLDEN.length, 84);
  assert.equal(crc32c(GOLDEN.subarray(21)), 0xd6f7b982);
});

test('the golden batch decodes to the values it was assembled from', async () => {
  assert.deepEqual(readBatchHeader(GOLDEN, 0), {
    baseOffset: 5,
    batchLength: 72,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0xd6f7b982,
    attributes: 0,
    lastOffsetDelta: 1,
    baseTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_005,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordsCount: 2,
  });
  const [batch] = await decodeRecordBatches(GOLDEN, { verifyCrc: true, maxDecompressedBytes: 1024 });
  assert.deepEqual(batch?.records, [
    { offset: 5, timestamp: 1_700_000_000_000, key: Buffer.from('k'), value: Buffer.from('hello'), headers: [] },
    { offset: 6, timestamp: 1_700_000_000_005, key: null, value: Buffer.alloc(0), headers: [{ key: 'h', value: null }] },
  ]);
});

test('the builder reproduces the golden batch byte for byte', async () => {
  const built = await buildRecordBatch({
    baseOffset: 5,
    partitionLeaderEpoch: 0,
    records: [
      { key: Buffer.from('k'), value: Buffer.from('hello'), timestamp: 1_700_000_000_000 },
      { key: null, value: Buffer.alloc(0), timestamp: 1_700_000_000_005, headers: [{ key: 'h', value: null }] },
    ],
  });
  assert.equal(built.toString('hex'), GOLDEN.toString('hex'));
});

test('the golden batch passes produce validation once its base offset is 0', () => {
  const asProduced = Buffer.from(GOLDEN);
  asProduced.writeBigInt64BE(0n, 0);
  const result = validateProducedRecords(asProduced, { maxBatchBytes: 1024, maxDecompressedBytes: 1024 });
  assert.ok(result.ok);
  assert.equal(result.batches[0]?.recordsCount, 2);
});
