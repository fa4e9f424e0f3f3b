// Seeded corruption torture: a disk-engine log over the in-memory file system is written and closed
// cleanly, then damaged at random (torn or bit-flipped tail of the last .log, broken .index /
// .timeindex files, missing clean-shutdown marker). Reopening must not throw, reads must return only
// valid batches holding exactly the longest valid prefix of what was written, and a new append must
// land at logEndOffset. FJORD_CORRUPTIONS (default 1000) and FJORD_TORTURE_SEED (printed) control it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { createDiskLogManager, type DiskLogManager } from '../../src/storage/index.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { ManualClock } from '../../src/testing/test-broker.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { decodeBatches, makeBatch } from '../storage/make-batch.js';

const ITERATIONS = Number(process.env['FJORD_CORRUPTIONS'] ?? 1000);
const SEED = Number(process.env['FJORD_TORTURE_SEED'] ?? Date.now() % 1_000_000_007);
const LOG_DIR = '/data';
const TOPIC = 't';
const PARTITION_DIR = join(LOG_DIR, `${TOPIC}-0`);
const MARKER = join(LOG_DIR, '.kafka_cleanshutdown');
const TOPIC_ID = '0f1e2d3c-4b5a-4968-8776-655443322110';
const OPTIONS = { segmentBytes: 4096, indexIntervalBytes: 256 };

function manager(fs: MemoryFileSystem): DiskLogManager {
  return createDiskLogManager({ logDir: LOG_DIR, fs, clock: new ManualClock(), options: OPTIONS });
}

function filesEnding(fs: MemoryFileSystem, suffix: string): string[] {
  return fs
    .readdir(PARTITION_DIR)
    .filter((n) => n.endsWith(suffix))
    .sort()
    .map((n) => join(PARTITION_DIR, n));
}

function replaceFile(fs: MemoryFileSystem, path: string, data: Buffer): void {
  const h = fs.open(path, 'r+');
  fs.truncate(h, 0);
  if (data.length > 0) fs.write(h, [data], 0);
  fs.close(h);
}

/**
 * Records in the longest valid prefix of a segment's bytes: whole batches, magic 2, CRC intact,
 * base offsets contiguous from the segment's base offset.
 */
function validPrefixRecords(bytes: Buffer, baseOffset: number): number {
  let pos = 0;
  let next = baseOffset;
  while (bytes.length - pos >= 61) {
    const size = 12 + bytes.readInt32BE(pos + 8);
    if (size < 61 || pos + size > bytes.length) break;
    const b = bytes.subarray(pos, pos + size);
    if (b.readInt8(16) !== 2) break;
    if ((crc32c(b.subarray(21)) >>> 0) !== b.readUInt32BE(17)) break;
    if (Number(b.readBigInt64BE(0)) !== next) break;
    next += b.readInt32BE(23) + 1;
    pos += size;
  }
  return next - baseOffset;
}

type Damage = string;

interface Outcome {
  readonly damages: Damage[];
  /** How many of the written records must survive. */
  readonly expected: number;
}

function damage(fs: MemoryFileSystem, rnd: SeededRandom, written: number): Outcome {
  const damages: Damage[] = [];
  let expected = written;
  const mode = rnd.int(0, 4);
  const logs = filesEnding(fs, '.log');
  const last = logs[logs.length - 1]!;
  const lastBase = Number(last.slice(last.lastIndexOf('/') + 1, -'.log'.length));
  let removeMarker = mode <= 2 || (mode === 3 && rnd.bool());
  if (mode === 0 || mode === 1) {
    const bytes = fs.contents(last);
    let damaged = bytes;
    if (mode === 0) {
      const cut = rnd.int(0, bytes.length);
      damaged = bytes.subarray(0, cut);
      damages.push(`truncate ${last} ${bytes.length} -> ${cut}`);
    } else if (bytes.length > 0) {
      damaged = Buffer.from(bytes);
      const at = rnd.int(Math.max(0, bytes.length - 200), bytes.length - 1);
      const bit = rnd.int(0, 7);
      damaged[at]! ^= 1 << bit;
      damages.push(`flip ${last} byte ${at}/${bytes.length} bit ${bit}`);
    } else {
      damages.push(`(empty ${last}, nothing to flip)`);
    }
    replaceFile(fs, last, damaged);
    expected = lastBase + validPrefixRecords(damaged, lastBase);
  }
  if (mode === 2 && rnd.bool()) {
    // Also garbage after the last batch.
    const g = rnd.bytes(rnd.int(1, 300));
    replaceFile(fs, last, Buffer.concat([fs.contents(last), g]));
    damages.push(`append ${g.length} garbage to ${last}`);
    expected = lastBase + validPrefixRecords(fs.contents(last), lastBase);
  }
  if (mode === 3 || (mode <= 2 && rnd.int(0, 3) === 0)) {
    const indexes = [...filesEnding(fs, '.index'), ...filesEnding(fs, '.timeindex')];
    const n = rnd.int(1, 3);
    for (let k = 0; k < n && indexes.length > 0; k++) {
      const path = rnd.pick(indexes);
      const bytes = fs.contents(path);
      const how = rnd.int(0, 2);
      if (how === 0 && bytes.length > 0) {
        const d = Buffer.from(bytes);
        const at = rnd.int(0, d.length - 1);
        const bit = rnd.int(0, 7);
        d[at]! ^= 1 << bit;
        replaceFile(fs, path, d);
        damages.push(`flip ${path} byte ${at}/${bytes.length} bit ${bit}`);
      } else if (how === 1) {
        const cut = rnd.int(0, bytes.length);
        replaceFile(fs, path, bytes.subarray(0, cut));
        damages.push(`truncate ${path} ${bytes.length} -> ${cut}`);
      } else {
        const g = rnd.bool() ? rnd.bytes(rnd.int(1, 40)) : Buffer.alloc(rnd.int(1, 40), 0xff);
        replaceFile(fs, path, Buffer.concat([bytes, g]));
        damages.push(`append ${g.length} garbage to ${path}`);
      }
    }
  }
  if (mode === 4) removeMarker = true;
  if (removeMarker) {
    if (fs.exists(MARKER)) fs.unlink(MARKER);
    damages.push('delete marker');
  } else {
    assert.ok(fs.exists(MARKER), 'clean close left no marker');
    damages.push('keep marker');
  }
  return { damages, expected };
}

function readFrom(m: DiskLogManager, from: number): { values: string[]; baseOffsets: number[] } {
  const p = m.partition(TOPIC, 0)!;
  const values: string[] = [];
  const baseOffsets: number[] = [];
  let offset = from;
  let guard = 0;
  while (offset < p.logEndOffset()) {
    if (guard++ > 10_000) throw new Error(`read loop makes no progress at ${offset}`);
    const r = p.read(offset, 1 << 20, true);
    const batches = decodeBatches(r.chunks);
    if (batches.length === 0) throw new Error(`read(${offset}) returned nothing below logEndOffset ${p.logEndOffset()}`);
    for (const b of batches) {
      if (!b.crcValid) throw new Error(`batch at ${b.baseOffset} has a bad CRC`);
      if (b.lastOffset < offset) continue; // an earlier batch in the chunk
      baseOffsets.push(b.baseOffset);
      values.push(...b.values.slice(Math.max(0, offset - b.baseOffset)));
      if (b.baseOffset > offset) throw new Error(`gap: expected a batch holding ${offset}, got base ${b.baseOffset}`);
      if (b.lastOffset - b.baseOffset + 1 !== b.values.length) throw new Error(`batch ${b.baseOffset} count mismatch`);
      offset = b.lastOffset + 1;
    }
  }
  return { values, baseOffsets };
}

async function iteration(seed: number): Promise<void> {
  const rnd = new SeededRandom(seed);
  const fs = new MemoryFileSystem();
  const m = manager(fs);
  await m.open();
  m.createTopic(TOPIC, 1, {}, TOPIC_ID);
  const p = m.partition(TOPIC, 0)!;
  const written: string[] = [];
  const batches = rnd.int(1, 60);
  for (let i = 0; i < batches; i++) {
    const n = rnd.int(1, 5);
    const pad = rnd.int(0, 120);
    const values = Array.from({ length: n }, (_, j) => `${i}-${j}`.padEnd(pad + 4, '.'));
    const r = p.append(makeBatch(values, { baseTimestamp: 1000 + i }));
    assert.equal(r.baseOffset, written.length);
    written.push(...values);
  }
  await p.flush();
  await m.close();

  const { damages, expected } = damage(fs, rnd, written.length);
  const ctx = (msg: string): string => `seed ${seed}: ${msg}; damage: ${damages.join('; ')}`;

  const m2 = manager(fs);
  try {
    await m2.open();
  } catch (e) {
    throw new Error(ctx(`open() threw ${(e as Error).stack}`));
  }
  try {
    const p2 = m2.partition(TOPIC, 0);
    assert.ok(p2, ctx('partition missing after reopen'));
    assert.equal(p2.logStartOffset(), 0, ctx('logStartOffset'));
    assert.equal(p2.logEndOffset(), expected, ctx(`logEndOffset (written ${written.length})`));
    const all = readFrom(m2, 0);
    assert.deepEqual(all.values, written.slice(0, expected), ctx('values read from 0'));
    // Index-served reads from random offsets.
    for (let k = 0; k < 3 && expected > 0; k++) {
      const from = rnd.int(0, expected - 1);
      const part = readFrom(m2, from);
      assert.deepEqual(part.values, written.slice(from, expected), ctx(`values read from ${from}`));
    }
    const leo = p2.logEndOffset();
    const r = p2.append(makeBatch(['after-0', 'after-1'], { baseTimestamp: 9999 }));
    assert.equal(r.baseOffset, leo, ctx('append offset'));
    const tail = readFrom(m2, leo);
    assert.deepEqual(tail.values, ['after-0', 'after-1'], ctx('appended values'));
    assert.deepEqual(readFrom(m2, 0).values, [...written.slice(0, expected), 'after-0', 'after-1'], ctx('values after append'));
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith('seed')) throw new Error(ctx(e.stack ?? e.message));
    throw e;
  } finally {
    await m2.close().catch(() => undefined);
  }
}

test(`disk engine survives ${ITERATIONS} random corruptions (seed ${SEED})`, async () => {
  const failures: string[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const seed = (SEED + i * 0x9e3779b1) >>> 0;
    try {
      await iteration(seed);
    } catch (e) {
      failures.push(`iteration ${i} (FJORD_TORTURE_SEED=${SEED}) ${(e as Error).message}`);
      if (failures.length >= 10) break;
    }
  }
  assert.equal(failures.length, 0, `${failures.length} failure(s):\n${failures.join('\n\n')}`);
});
