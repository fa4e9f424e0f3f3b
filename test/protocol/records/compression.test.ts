import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { compress as zstdNative } from '@mongodb-js/zstd';
import { compressFrame } from 'lz4-napi';
import { compress as snappyRaw } from 'snappy';
import { CompressionCodec, compress, decompress } from '../../../src/protocol/records/compression.js';
import { DecompressionLimitError } from '../../../src/protocol/records/decompression-limit-error.js';

const codecs = [CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4, CompressionCodec.ZSTD] as const;
const MiB = 1024 * 1024;
const XERIAL_HEADER = Buffer.from('82534e41505059000000000100000001', 'hex');

function isLimitError(err: unknown): boolean {
  return err instanceof DecompressionLimitError && err.code === 'DECOMPRESSION_LIMIT';
}

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi'.split(' ');

/** Text-like deterministic bytes: compressible, but only with real work from the codec. */
function sampleData(size: number): Buffer {
  const parts: string[] = [];
  let seed = size;
  for (let length = 0; length < size; ) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const word = `${WORDS[seed >>> 28]!}${(seed >>> 8) & 0xff} `;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1');
}

function xerial(chunks: Buffer[]): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER];
  for (const chunk of chunks) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(chunk.length);
    parts.push(length, chunk);
  }
  return Buffer.concat(parts);
}

// Child mode: decompress one bomb in a fresh process and report its peak RSS.
if (process.env['FJORD_BOMB_CHILD'] === '1') {
  const [file, codec, limit] = process.argv.slice(2);
  const data = await readFile(file!);
  const before = process.resourceUsage().maxRSS;
  let code = 'OK';
  try {
    await decompress(Number(codec), data, Number(limit));
  } catch (err) {
    code = (err as { code?: string }).code ?? String(err);
  }
  process.stdout.write(JSON.stringify({ code, grewKb: process.resourceUsage().maxRSS - before }));
} else {
  registerTests();
}

function registerTests(): void {
  for (const codec of codecs) {
    test(`codec ${codec} round-trips empty, small and multi-block data`, async () => {
      for (const size of [0, 1, 1000, 100_000, 3 * MiB + 17]) {
        const data = sampleData(size);
        const packed = await compress(codec, data);
        if (size >= 100_000) assert.ok(packed.length < size, 'should compress');
        assert.deepEqual(await decompress(codec, packed, size), data, `size ${size}`);
      }
    });

    test(`codec ${codec} honours the limit exactly`, async () => {
      const size = MiB - 5; // just under a 64 KiB / 128 KiB block boundary: exercises bounded slow paths
      const data = sampleData(size);
      const packed = await compress(codec, data);
      assert.deepEqual(await decompress(codec, packed, size), data);
      await assert.rejects(decompress(codec, packed, size - 1), isLimitError);
    });
  }

  test('uncompressed passthrough is bounded too', async () => {
    assert.deepEqual(await decompress(CompressionCodec.NONE, Buffer.from('abc'), 3), Buffer.from('abc'));
    await assert.rejects(decompress(CompressionCodec.NONE, Buffer.from('abc'), 2), isLimitError);
  });

  test('unknown codecs and corrupt payloads throw ordinary errors', async () => {
    await assert.rejects(decompress(5, Buffer.from('x'), 10), /unknown compression codec 5/);
    for (const codec of codecs) {
      const packed = await compress(codec, sampleData(10_000));
      const damaged = Buffer.from(packed.subarray(0, packed.length - 9));
      await assert.rejects(decompress(codec, damaged, MiB), (err) => err instanceof Error && !isLimitError(err), `codec ${codec}`);
    }
  });

  test('lz4 output is a standard LZ4 frame', async () => {
    const packed = await compress(CompressionCodec.LZ4, sampleData(1000));
    assert.equal(packed.subarray(0, 4).toString('hex'), '04224d18');
  });

  test('snappy output uses xerial framing like the Java client', async () => {
    const packed = await compress(CompressionCodec.SNAPPY, sampleData(100_000));
    assert.deepEqual(packed.subarray(0, 16), XERIAL_HEADER);
    // 100 000 bytes in snappy-java's 32 KiB blocks: four chunks.
    let chunks = 0;
    for (let pos = 16; pos < packed.length; pos += 4 + packed.readInt32BE(pos)) chunks++;
    assert.equal(chunks, 4);
  });

  test('snappy input is accepted raw (kafkajs-snappy) and xerial-framed (Java, librdkafka)', async () => {
    const data = sampleData(80_000);
    assert.deepEqual(await decompress(CompressionCodec.SNAPPY, await snappyRaw(data), data.length), data);
    const chunks = await Promise.all([data.subarray(0, 30_000), data.subarray(30_000)].map((part) => snappyRaw(part)));
    const framed = xerial(chunks);
    assert.deepEqual(await decompress(CompressionCodec.SNAPPY, framed, data.length), data);
    // snappy-java also reads streams concatenated header and all.
    const twice = Buffer.concat([framed, framed]);
    assert.deepEqual(await decompress(CompressionCodec.SNAPPY, twice, 2 * data.length), Buffer.concat([data, data]));
    await assert.rejects(decompress(CompressionCodec.SNAPPY, framed, data.length - 1), isLimitError);
    await assert.rejects(decompress(CompressionCodec.SNAPPY, framed.subarray(0, framed.length - 3), MiB), /xerial chunk length/);
  });

  test('lz4 frames with linked (dependent) blocks decode on both the fast and the bounded path', async () => {
    // Made with `lz4 -BD -B4 --no-frame-crc` from the pattern below: 140 000 bytes in
    // three 64 KiB blocks whose matches reach back into the previous block.
    const frame = Buffer.from('BCJNGEBAwNMBAAD/udOn1g3CPs2vIK9pliZSZX7mu0TQn1pbfaq52l6WAmQFzB9HwbKXUlsn/Oqx2pDNRtlzsmpPgq+OR68T5gmKGXJGPrAMOicwD3nlt8gCepSs39zqF1kGfgOUf1YFHtGUdLhuv5RjAGUlkBu5n97bpBrWzHCbkUf+NzAHJFycrbYw5HRQvUhP33OzLIY3OhVT9eV59XfUv1D8hwOoztOPzMrbc2mjDV52S/SBX9BrK2afgXJW5w4Hg6PQCrp0oIaPYvbpPCThk+x8yAD/////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////IFC9SE/fcwoBAAAPeP//////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////6FAMOicwD/UAAAD/uXnlt8gCepSs39zqF1kGfgOUf1YFHtGUdLhuv5RjAGUlkBu5n97bpBrWzHCbkUf+NzAHJFycrbYw5HRQvUhP33OzLIY3OhVT9eV59XfUv1D8hwOoztOPzMrbc2mjDV52S/SBX9BrK2afgXJW5w4Hg6PQCrp0oIaPYvbpPCThk+x806fWDcI+za8gr2mWJlJlfua7RNCfWlt9qrnaXpYCZAXMH0fBspdSWyf86rHakM1G2XOyak+Cr45HrxPmCYoZckY+sAw6JzAPyAD/////////////////////////////////////////////IlAk4ZPsfAAAAAA=', 'base64');
    assert.equal(frame[4]! & 0x20, 0, 'fixture must use linked blocks');
    const period = Buffer.alloc(200);
    let x = 12345;
    for (let i = 0; i < period.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      period[i] = x >>> 24;
    }
    const expected = Buffer.alloc(140_000);
    for (let i = 0; i < expected.length; i++) expected[i] = period[i % 200]!;
    assert.deepEqual(await decompress(CompressionCodec.LZ4, frame, MiB), expected);
    assert.deepEqual(await decompress(CompressionCodec.LZ4, frame, 140_000), expected);
    await assert.rejects(decompress(CompressionCodec.LZ4, frame, 139_999), isLimitError);
  });

  test('concatenated lz4 frames and skippable frames decode completely', async () => {
    const one = sampleData(70_000);
    const two = sampleData(5_000);
    const skippable = Buffer.from('502a4d1803000000616263', 'hex');
    const joined = Buffer.concat([await compressFrame(one), skippable, await compressFrame(two)]);
    assert.deepEqual(await decompress(CompressionCodec.LZ4, joined, MiB), Buffer.concat([one, two]));
    await assert.rejects(decompress(CompressionCodec.LZ4, joined, 74_999), isLimitError);
    await assert.rejects(decompress(CompressionCodec.LZ4, Buffer.concat([joined, Buffer.from('zz')]), MiB), /lz4/);
  });

  test('concatenated zstd frames and skippable frames decode completely', async () => {
    const one = sampleData(300_000);
    const two = sampleData(5_000);
    const skippable = Buffer.from('502a4d1803000000616263', 'hex');
    const joined = Buffer.concat([await zstdNative(one), skippable, await zstdNative(two)]);
    assert.deepEqual(await decompress(CompressionCodec.ZSTD, joined, MiB), Buffer.concat([one, two]));
    await assert.rejects(decompress(CompressionCodec.ZSTD, joined, 304_999), isLimitError);
  });

  test('an lz4 frame declaring its content size is refused from the header alone', async () => {
    const frame = Buffer.from('04224d18' + '68' + '40' + '0000000001000000' + '00' + '00000000', 'hex');
    await assert.rejects(decompress(CompressionCodec.LZ4, frame, MiB), isLimitError);
  });

  test('decompression bombs (200 MiB of zeros) are refused for every codec without large allocations', async () => {
    const zeros = Buffer.alloc(200 * MiB);
    const snappyChunk = await snappyRaw(zeros.subarray(0, 32 * 1024));
    const bombs: Array<[string, number, Buffer]> = [
      ['gzip', CompressionCodec.GZIP, gzipSync(zeros, { level: 1 })],
      ['snappy raw', CompressionCodec.SNAPPY, await snappyRaw(zeros)],
      ['snappy xerial', CompressionCodec.SNAPPY, xerial(new Array<Buffer>(6400).fill(snappyChunk))],
      ['lz4', CompressionCodec.LZ4, await compressFrame(zeros)],
      ['zstd', CompressionCodec.ZSTD, await zstdNative(zeros)],
    ];
    const dir = await mkdtemp(join(tmpdir(), 'fjord-bomb-'));
    try {
      const child = async (name: string, codec: number, bomb: Buffer, limit: number): Promise<{ code: string; grewKb: number }> => {
        const file = join(dir, name.replace(' ', '-'));
        await writeFile(file, bomb);
        const env: NodeJS.ProcessEnv = { ...process.env, FJORD_BOMB_CHILD: '1' };
        delete env['NODE_TEST_CONTEXT'];
        const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), file, String(codec), String(limit)], { env });
        return JSON.parse(stdout) as { code: string; grewKb: number };
      };
      for (const [name, codec, bomb] of bombs) {
        assert.ok(bomb.length < 16 * MiB, `${name} bomb is small (${bomb.length} bytes)`);
        await assert.rejects(decompress(codec, bomb, MiB), isLimitError, name);
        const report = await child(name, codec, bomb, MiB);
        assert.equal(report.code, 'DECOMPRESSION_LIMIT', name);
        assert.ok(report.grewKb < 48 * 1024, `${name}: peak RSS grew by ${report.grewKb} KiB`);
      }
      // The measurement itself must be able to see a real 200 MiB inflation.
      const control = await child('control', CompressionCodec.GZIP, bombs[0]![2], 300 * MiB);
      assert.equal(control.code, 'OK');
      assert.ok(control.grewKb > 150 * 1024, `control grew only ${control.grewKb} KiB`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
