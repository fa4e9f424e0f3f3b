// The legacy message format (magic 0 and 1) byte for byte: golden messages written by kafka-python
// 2.0.2's own encoder, CRC-32 and the framing checks, and lz4's header checksum quirk for magic 0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decompressFrame } from 'lz4-napi';
import {
  CompressionCodec,
  LegacyMessageView,
  RecordErrorCode,
  buildLegacyMessageSet,
  compress,
  decodeLegacyMessageSet,
  legacyCrc32,
  legacyMessageSize,
  readLegacyMessage,
  withLz4HeaderChecksum,
  xxh32,
} from '../../../src/protocol/records/index.js';
import type { LegacyMessageInput } from '../../../src/protocol/records/index.js';

/**
 * kafka-python 2.0.2 MemoryRecordsBuilder(magic, codec) with three appends: (k1, hello), (null,
 * world), (k3, null); timestamps 1700000000000, ...005, ...003 for magic 1.
 */
const GOLDEN = {
  v0: '00000000000000000000001571ef57700000000000026b310000000568656c6c6f0000000000000001000000138bc0cd770000ffffffff00000005776f726c64000000000000000200000010b643ca6a0000000000026b33ffffffff',
  v1: '00000000000000000000001d9e34959601000000018bcfe56800000000026b310000000568656c6c6f00000000000000010000001b0627d21201000000018bcfe56805ffffffff00000005776f726c64000000000000000200000018096bf75201000000018bcfe56803000000026b33ffffffff',
  v0gzip: '00000000000000000000005aea7082f40001ffffffff0000004c1f8b08007459066b02ff63608003d1c2f7e105601653b6219064cd48cdc9c9874a3202b170f781b3e50c0cff8100245d9e5f94930295660262816dcea7b2a0fa8d418a00a8d155545c000000',
  v0snappy: '000000000000000000000071b8855f500002ffffffff0000006382534e415050590000000001000000010000004f5c00001901101571ef5770050f2c026b310000000568656c6c6f051164000001000000138bc0cd770000ffffffff00000005776f726c640d1f500200000010b643ca6a0000000000026b33ffffffff',
  v1gzip: '00000000000000000000006e4f7f056d01010000000000000000ffffffff000000581f8b08007459066b02ff63608003d9792653a73102198cdde79f66804498b20d81246b466a4e4e3e5411485e9a4dfd92105c21eb7f2000292bcf2fca49812a63026209ceecef417065cc60f38c418a019d55f0bc74000000',
  v1snappy: '00000000000000000000008bc737ddb501020000000000000000ffffffff0000007582534e41505059000000000100000001000000617400001901341d9e34959601000000018bcfe56801182c026b310000000568656c6c6f0110080000000120101b0627d212010905293405ffffffff00000005776f726c6401242c0000000200000018096bf75215272803000000026b33ffffffff',
  v1lz4: '000000000000000000000089e10b812301030000000000000000ffffffff0000007304224d1868407400000000000000f25c00000016000100e01d9e34959601000000018bcfe5681800c0026b310000000568656c6c6f1000001c00850000001b0627d21229005005ffffffff270051776f726c642500b500000200000018096bf7522700b003000000026b33ffffffff00000000',
};

function threeMessages(magic: 0 | 1): LegacyMessageInput[] {
  const ts = (n: number): number | undefined => (magic === 1 ? 1_700_000_000_000 + n : undefined);
  const withTs = (m: LegacyMessageInput, n: number): LegacyMessageInput => {
    const t = ts(n);
    return t === undefined ? m : { ...m, timestamp: t };
  };
  return [
    withTs({ key: Buffer.from('k1'), value: Buffer.from('hello') }, 0),
    withTs({ key: null, value: Buffer.from('world') }, 5),
    withTs({ key: Buffer.from('k3'), value: null }, 3),
  ];
}

function summary(m: { offset: number; timestamp: number; key: Buffer | null; value: Buffer | null }): string {
  return `${m.offset}|${m.timestamp}|${m.key?.toString() ?? 'null'}|${m.value?.toString() ?? 'null'}`;
}

test('uncompressed magic 0 and magic 1 messages match kafka-python byte for byte', async () => {
  assert.equal((await buildLegacyMessageSet({ magic: 0, messages: threeMessages(0) })).toString('hex'), GOLDEN.v0);
  assert.equal((await buildLegacyMessageSet({ magic: 1, messages: threeMessages(1) })).toString('hex'), GOLDEN.v1);
});

test('kafka-python messages decode, compressed wrappers included, with magic-1 inner offsets made absolute', async () => {
  const limits = { maxDecompressedBytes: 1 << 20 };
  const v0 = ['0|-1|k1|hello', '1|-1|null|world', '2|-1|k3|null'];
  for (const hex of [GOLDEN.v0, GOLDEN.v0gzip, GOLDEN.v0snappy]) {
    assert.deepEqual((await decodeLegacyMessageSet(Buffer.from(hex, 'hex'), limits)).map(summary), v0);
  }
  // kafka-python's wrappers carry offset 0, so relative inner offsets 0..2 resolve to -2..0.
  const v1 = (base: number): string[] => [`${base}|1700000000000|k1|hello`, `${base + 1}|1700000000005|null|world`, `${base + 2}|1700000000003|k3|null`];
  assert.deepEqual((await decodeLegacyMessageSet(Buffer.from(GOLDEN.v1, 'hex'), limits)).map(summary), v1(0));
  for (const hex of [GOLDEN.v1gzip, GOLDEN.v1snappy, GOLDEN.v1lz4]) {
    assert.deepEqual((await decodeLegacyMessageSet(Buffer.from(hex, 'hex'), limits)).map(summary), v1(-2));
  }
});

test('wrappers built here decode back for every legacy codec and both magics', async () => {
  for (const magic of [0, 1] as const) {
    for (const compression of [CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4]) {
      const set = await buildLegacyMessageSet({ magic, messages: threeMessages(magic), compression, wrapperOffset: 41 });
      const decoded = await decodeLegacyMessageSet(set, { maxDecompressedBytes: 1 << 20 });
      assert.deepEqual(decoded.map((m) => m.offset), magic === 1 ? [39, 40, 41] : [0, 1, 2], `magic ${magic} codec ${compression}`);
      assert.deepEqual(decoded.map((m) => m.wrapperCodec), [compression, compression, compression]);
      assert.deepEqual(decoded.map((m) => m.value?.toString() ?? null), ['hello', 'world', null]);
    }
  }
});

test('CRC-32 is the IEEE polynomial and covers magic to the end of the message', () => {
  assert.equal(legacyCrc32(Buffer.from('123456789')), 0xcbf43926);
  const set = Buffer.from(GOLDEN.v1, 'hex');
  const view = new LegacyMessageView();
  assert.equal(readLegacyMessage(set, 0, set.length, view), undefined);
  assert.equal(view.size, legacyMessageSize(1, 2, 5));
  set.writeUInt8(set.readUInt8(view.size - 1) ^ 1, view.size - 1); // last byte of the first value
  const problem = readLegacyMessage(set, 0, set.length, view);
  assert.equal(problem?.errorCode, RecordErrorCode.CORRUPT_MESSAGE);
  assert.match(problem.message, /CRC mismatch/);
});

test('framing is bounded by the bytes present and by the magic minimum, before the CRC', () => {
  const view = new LegacyMessageView();
  const one = Buffer.from(GOLDEN.v0, 'hex').subarray(0, 12 + 0x15);
  const cases: Array<[string, (b: Buffer) => void, RegExp, number?]> = [
    ['a size beyond the buffer', (b) => b.writeInt32BE(0x7fffffff, 8), /claimed/],
    ['a size below the magic 0 overhead', (b) => b.writeInt32BE(13, 8), /below the minimum 14/],
    ['an unknown magic', (b) => b.writeInt8(3, 16), /invalid magic 3/],
    ['a key longer than the message', (b) => b.writeInt32BE(1000, 18), /key length/],
    ['a negative key length other than -1', (b) => b.writeInt32BE(-2, 18), /key length/],
  ];
  for (const [name, damage, pattern] of cases) {
    const b = Buffer.from(one);
    damage(b);
    // Re-seal the CRC so only the intended defect is left.
    if (b.readInt32BE(8) <= b.length - 12 && b.readInt32BE(8) >= 14) b.writeUInt32BE(legacyCrc32(b.subarray(16, 12 + b.readInt32BE(8))), 12);
    const problem = readLegacyMessage(b, 0, b.length, view);
    assert.equal(problem?.errorCode, RecordErrorCode.CORRUPT_MESSAGE, name);
    assert.match(problem.message, pattern, name);
  }
  assert.match(readLegacyMessage(one, 0, 10, view)?.message ?? '', /truncated header/);
  // The size limit is checked before the CRC, so a large damaged message is MESSAGE_TOO_LARGE.
  const big = Buffer.from(one);
  big.writeUInt8(big.readUInt8(big.length - 1) ^ 1, big.length - 1);
  assert.equal(readLegacyMessage(big, 0, big.length, view, { maxMessageBytes: 20 })?.errorCode, RecordErrorCode.MESSAGE_TOO_LARGE);
});

test('xxh32 matches the reference vectors and the header checksums lz4 writers produce', async () => {
  assert.equal(xxh32(Buffer.alloc(0)), 0x02cc5d05);
  assert.equal(xxh32(Buffer.from('abc')), 0x32d153ff);
  assert.equal(xxh32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
  // python-lz4 frames with and without a content size, and one from lz4-napi: recomputing the
  // standard checksum leaves each unchanged.
  const frames = [
    '04224d1868402600000000000000851e000000f90568656c6c6f206c656761637920776f726c642c20140050776f726c6400000000',
    '04224d186040821e000000f90568656c6c6f206c656761637920776f726c642c20140050776f726c6400000000',
    (await compress(CompressionCodec.LZ4, Buffer.from('some bytes, some bytes, some bytes'))).toString('hex'),
  ];
  for (const hex of frames) assert.equal(withLz4HeaderChecksum(Buffer.from(hex, 'hex'), false).toString('hex'), hex);
});

test('a magic 0 lz4 wrapper carries Kafka 0.8 header checksum, which is repaired before decoding', async () => {
  const set = await buildLegacyMessageSet({ magic: 0, messages: threeMessages(0), compression: CompressionCodec.LZ4 });
  const view = new LegacyMessageView();
  assert.equal(readLegacyMessage(set, 0, set.length, view), undefined);
  const payload = set.subarray(view.valueStart, view.valueStart + view.valueLength);
  // The native decoder refuses the old checksum, so the quirk is real and must be handled.
  await assert.rejects(decompressFrame(payload));
  const decoded = await decodeLegacyMessageSet(set, { maxDecompressedBytes: 1 << 20 });
  assert.deepEqual(decoded.map(summary), ['0|-1|k1|hello', '1|-1|null|world', '2|-1|k3|null']);
});

test('decoding ignores a message cut off at the end, as fetch responses may end mid-message', async () => {
  const set = Buffer.from(GOLDEN.v1, 'hex');
  const decoded = await decodeLegacyMessageSet(set.subarray(0, set.length - 3), { maxDecompressedBytes: 1 << 20 });
  assert.equal(decoded.length, 2);
});

test('a wrapper inside a wrapper is refused when decoding', async () => {
  const inner = await buildLegacyMessageSet({ magic: 1, messages: threeMessages(1), compression: CompressionCodec.GZIP });
  const payload = await compress(CompressionCodec.GZIP, inner);
  const outer = Buffer.alloc(legacyMessageSize(1, -1, payload.length));
  const { writeLegacyMessage } = await import('../../../src/protocol/records/index.js');
  writeLegacyMessage(outer, 0, 1, 0, CompressionCodec.GZIP, 1, Buffer.alloc(0), 0, -1, payload, 0, payload.length);
  await assert.rejects(decodeLegacyMessageSet(outer, { maxDecompressedBytes: 1 << 20 }), /another compressed message/);
});
