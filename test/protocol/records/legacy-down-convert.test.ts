// Down-conversion of stored magic-2 batches for Fetch v0-3 readers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CompressionCodec,
  buildLegacyMessageSet,
  buildRecordBatch,
  decodeLegacyMessageSet,
  downConvertToLegacy,
  legacyMessageSize,
  setLogAppendTime,
  upConvertLegacyMessageSet,
} from '../../../src/protocol/records/index.js';
import type { DownConvertOptions, RecordInput } from '../../../src/protocol/records/index.js';

const MiB = 1024 * 1024;
const base: DownConvertOptions = { magic: 1, fetchOffset: 0, maxBytes: MiB, minOneMessage: true, maxDecompressedBytes: 16 * MiB };

function records(n: number, from = 0): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: (from + i) % 4 === 1 ? null : Buffer.from(`k${from + i}`),
    value: (from + i) % 4 === 2 ? null : Buffer.from(`v${from + i}`.repeat(3)),
    headers: [{ key: 'h', value: Buffer.from('dropped') }],
    timestamp: 1_700_000_000_000 + from + i,
  }));
}

async function decode(buf: Buffer): Promise<string[]> {
  const messages = await decodeLegacyMessageSet(buf, { maxDecompressedBytes: MiB });
  return messages.map((m) => `${m.offset}|${m.magic}|${m.timestamp}|${m.logAppendTime ? 'L' : 'C'}|${m.key?.toString() ?? 'null'}|${m.value?.toString() ?? 'null'}`);
}

function expectedFor(input: RecordInput[], baseOffset: number, magic: 0 | 1): string[] {
  return input.map((r, i) => `${baseOffset + i}|${magic}|${magic === 1 ? r.timestamp : -1}|C|${r.key?.toString() ?? 'null'}|${r.value?.toString() ?? 'null'}`);
}

test('records come out as the exact messages kafka-python writes (magic 0 and 1)', async () => {
  const golden = {
    0: '00000000000000000000001571ef57700000000000026b310000000568656c6c6f0000000000000001000000138bc0cd770000ffffffff00000005776f726c64000000000000000200000010b643ca6a0000000000026b33ffffffff',
    1: '00000000000000000000001d9e34959601000000018bcfe56800000000026b310000000568656c6c6f00000000000000010000001b0627d21201000000018bcfe56805ffffffff00000005776f726c64000000000000000200000018096bf75201000000018bcfe56803000000026b33ffffffff',
  };
  const batch = await buildRecordBatch({
    records: [
      { key: Buffer.from('k1'), value: Buffer.from('hello'), timestamp: 1_700_000_000_000 },
      { key: null, value: Buffer.from('world'), timestamp: 1_700_000_000_005 },
      { key: Buffer.from('k3'), value: null, timestamp: 1_700_000_000_003 },
    ],
  });
  for (const magic of [0, 1] as const) {
    const down = await downConvertToLegacy(batch, { ...base, magic });
    assert.equal(down.records.toString('hex'), golden[magic]);
    assert.equal(down.messages, 3);
    assert.equal(down.nextOffset, 3);
  }
});

test('every stored codec (zstd too) becomes uncompressed messages with absolute offsets and no headers', async () => {
  const input = records(20);
  for (const compression of [CompressionCodec.NONE, CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4, CompressionCodec.ZSTD]) {
    const batch = await buildRecordBatch({ baseOffset: 1000, records: input, compression });
    for (const magic of [0, 1] as const) {
      const down = await downConvertToLegacy(batch, { ...base, magic, fetchOffset: 1000 });
      assert.deepEqual(await decode(down.records), expectedFor(input, 1000, magic), `codec ${compression} magic ${magic}`);
      const messages = await decodeLegacyMessageSet(down.records, { maxDecompressedBytes: MiB });
      assert.ok(messages.every((m) => m.wrapperCodec === 0));
    }
  }
});

test('a legacy set survives up-conversion and down-conversion unchanged (offsets apart)', async () => {
  for (const magic of [0, 1] as const) {
    for (const compression of [CompressionCodec.NONE, CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4]) {
      const messages = Array.from({ length: 30 }, (_, i) => ({
        key: i % 5 === 0 ? null : Buffer.from(`key ${i}`),
        value: i % 7 === 0 ? null : Buffer.alloc(i * 3, i),
        ...(magic === 1 ? { timestamp: 1_600_000_000_000 + i * 11 } : {}),
      }));
      const set = await buildLegacyMessageSet({ magic, messages, compression });
      const up = await upConvertLegacyMessageSet(set, { maxBatchBytes: MiB, maxDecompressedBytes: MiB });
      assert.ok(up.ok);
      const down = await downConvertToLegacy(up.batch, { ...base, magic });
      const original = await decodeLegacyMessageSet(set, { maxDecompressedBytes: MiB });
      const back = await decodeLegacyMessageSet(down.records, { maxDecompressedBytes: MiB });
      const strip = (m: { offset: number; timestamp: number; key: Buffer | null; value: Buffer | null }, i: number): unknown => [i, m.timestamp, m.key, m.value];
      assert.deepEqual(back.map(strip), original.map(strip), `magic ${magic} codec ${compression}`);
      assert.deepEqual(back.map((m) => m.offset), messages.map((_, i) => i));
      // Uncompressed sets come back byte for byte.
      if (compression === CompressionCodec.NONE) assert.deepEqual(down.records, set);
    }
  }
});

test('LogAppendTime batches give magic 1 messages the append time and the attribute; magic 0 has neither', async () => {
  const batch = await buildRecordBatch({ records: records(3) });
  setLogAppendTime(batch, 0, batch.length, 1_234_567);
  const v1 = await decode((await downConvertToLegacy(batch, base)).records);
  assert.deepEqual(v1.map((m) => m.split('|').slice(2, 4).join('|')), ['1234567|L', '1234567|L', '1234567|L']);
  const v0 = await decode((await downConvertToLegacy(batch, { ...base, magic: 0 })).records);
  assert.deepEqual(v0.map((m) => m.split('|').slice(2, 4).join('|')), ['-1|C', '-1|C', '-1|C']);
});

test('control batches are skipped and records before the fetch offset left out', async () => {
  const control = await buildRecordBatch({ baseOffset: 0, records: [{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: 1 }], isControl: true, isTransactional: true, producerId: 1, producerEpoch: 0, baseSequence: 0 });
  const data = await buildRecordBatch({ baseOffset: 1, records: records(10, 1), compression: CompressionCodec.GZIP });
  const down = await downConvertToLegacy(Buffer.concat([control, data]), { ...base, fetchOffset: 4 });
  assert.deepEqual((await decode(down.records)).map((m) => Number(m.split('|')[0])), [4, 5, 6, 7, 8, 9, 10]);
  // A fetch offset past a whole batch skips it without decompressing it.
  const later = await buildRecordBatch({ baseOffset: 11, records: records(2, 11) });
  const skip = await downConvertToLegacy(Buffer.concat([data, later]), { ...base, fetchOffset: 12 });
  assert.deepEqual((await decode(skip.records)).map((m) => Number(m.split('|')[0])), [12]);
});

test('the byte budget takes whole messages only, across batches; the first message may exceed it when allowed', async () => {
  const one = await buildRecordBatch({ baseOffset: 0, records: records(4) });
  const two = await buildRecordBatch({ baseOffset: 4, records: records(4, 4), compression: CompressionCodec.SNAPPY });
  const stored = Buffer.concat([one, two]);
  const all = await downConvertToLegacy(stored, base);
  assert.equal(all.messages, 8);
  const sizes = (await decodeLegacyMessageSet(all.records, { maxDecompressedBytes: MiB })).map((m) => legacyMessageSize(1, m.key?.length ?? -1, m.value?.length ?? -1));
  // Exactly five messages' worth, then one byte less.
  const five = sizes.slice(0, 5).reduce((a, b) => a + b, 0);
  const exact = await downConvertToLegacy(stored, { ...base, maxBytes: five });
  assert.equal(exact.messages, 5);
  assert.equal(exact.records.length, five);
  assert.equal(exact.nextOffset, 5);
  assert.deepEqual(exact.records, all.records.subarray(0, five));
  assert.equal((await downConvertToLegacy(stored, { ...base, maxBytes: five - 1 })).messages, 4);
  // Smaller than one message: one anyway for the first partition, none otherwise.
  const first = await downConvertToLegacy(stored, { ...base, maxBytes: 1 });
  assert.equal(first.messages, 1);
  assert.equal(first.records.length, sizes[0]);
  const none = await downConvertToLegacy(stored, { ...base, maxBytes: 1, minOneMessage: false });
  assert.equal(none.messages, 0);
  assert.equal(none.records.length, 0);
  assert.equal(none.nextOffset, 0);
});

test('a batch cut off at the end of a read is ignored; a damaged one throws', async () => {
  const one = await buildRecordBatch({ baseOffset: 0, records: records(2) });
  const two = await buildRecordBatch({ baseOffset: 2, records: records(2, 2) });
  const cut = await downConvertToLegacy(Buffer.concat([one, two]).subarray(0, one.length + 30), base);
  assert.equal(cut.messages, 2);
  const damaged = Buffer.from(one);
  damaged.writeInt32BE(5, 8); // batch length below a header
  await assert.rejects(downConvertToLegacy(damaged, base), /invalid batch length/);
  const badRecord = Buffer.from(one);
  badRecord.writeUInt8(0x7f, 61); // first record's length varint: 63, longer than the batch
  await assert.rejects(downConvertToLegacy(badRecord, base), /invalid record length/);
});
