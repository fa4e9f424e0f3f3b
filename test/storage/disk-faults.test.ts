// Disk full and I/O errors at the engine level, over the fault-injecting MemoryFileSystem: a write or
// sync that fails is never acknowledged, a partly written batch is neither served nor counted, offsets
// of abandoned appends are reused (no hole), producer state forgets batches that were never written,
// reads go on, and the log accepts writes again once the fault is cleared (a failed fsync: after a
// restart). The last test injects hundreds of random faults (FJORD_DISK_FAULT_SEED replays a seed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDiskLogManager, type LogManager, type PartitionLog } from '../../src/storage/index.js';
import type { DiskPartitionLog } from '../../src/storage/disk/partition-log.js';
import { KafkaStorageError } from '../../src/storage/disk/storage-error.js';
import { ProducerStateError } from '../../src/storage/types.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { HistoryRecorder, checkHistory, formatCheckResult } from '../../src/testing/history-checker.js';
import { decodeBatches, makeBatch, type MakeBatchOptions } from './make-batch.js';
import { ManualClock } from './manual-clock.js';

const TOPIC_ID = '99999999-8888-4777-8666-555555555555';
const DIR = '/logs';
const LOG = `${DIR}/t-0/00000000000000000000.log`;

interface Harness {
  readonly fs: MemoryFileSystem;
  readonly clock: ManualClock;
  m: LogManager;
  readonly errors: unknown[];
  p(partition?: number): PartitionLog;
  /** Close (which may fail), lift every fault and open a new manager on the same files. */
  restart(opts?: { powerLoss?: boolean }): Promise<void>;
}

async function start(partitions = 1, options: { segmentBytes?: number; indexIntervalBytes?: number } = {}): Promise<Harness> {
  const fs = new MemoryFileSystem();
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const make = (): LogManager => createDiskLogManager({ logDir: DIR, fs, clock, options, onBackgroundError: (e) => errors.push(e) });
  const h: Harness = {
    fs,
    clock,
    errors,
    m: make(),
    p: (partition = 0) => h.m.partition('t', partition) as PartitionLog,
    async restart(opts = {}) {
      if (opts.powerLoss === true) fs.crash();
      else await h.m.close().catch(() => undefined);
      fs.clearFaults();
      h.m = make();
      await h.m.open();
    },
  };
  await h.m.open();
  h.m.createTopic('t', partitions, {}, TOPIC_ID);
  return h;
}

/** Every batch from the log start: CRCs checked, offsets contiguous, returned as values in order. */
function readAll(p: PartitionLog): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let next = p.logStartOffset();
  while (next < p.logEndOffset()) {
    const read = p.read(next, 1 << 20, true);
    // The read writes queued appends first; if that fails they are abandoned and the log end drops.
    if (read.bytes === 0) {
      assert.ok(next >= p.logEndOffset(), `no data at ${next} below the log end ${p.logEndOffset()}`);
      break;
    }
    for (const b of decodeBatches(read.chunks)) {
      assert.ok(b.crcValid, `corrupt batch served at ${b.baseOffset}`);
      if (b.lastOffset < next) continue;
      assert.equal(b.baseOffset, next, `hole or overlap: batch at ${b.baseOffset}, expected ${next}`);
      b.values.forEach((v, i) => out.push([b.baseOffset + i, v]));
      next = b.lastOffset + 1;
    }
  }
  assert.equal(next, p.logEndOffset());
  return out;
}

function values(p: PartitionLog): string[] {
  return readAll(p).map(([, v]) => v);
}

const idem = (producerId: number, baseSequence: number): MakeBatchOptions => ({ producerId, producerEpoch: 0, baseSequence });

describe('disk engine under disk faults', () => {
  it('MemoryFileSystem fails like Node: ENOSPC after a short write, EIO by path and count, bit flips', async () => {
    const fs = new MemoryFileSystem();
    fs.mkdirp('/d');
    const h = fs.open('/d/a', 'c+');
    fs.write(h, [Buffer.from('hello')], 0);
    fs.setCapacity(fs.usedBytes() + 3);
    assert.throws(() => fs.write(h, [Buffer.from('world')], 5), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && e.syscall === 'write');
    assert.equal(fs.contents('/d/a').toString(), 'hellowor', 'the part that fitted was written');
    fs.write(h, [Buffer.from('HELLO')], 0); // overwriting needs no space
    assert.throws(() => fs.writeFileAtomic('/d/b', Buffer.from('xyz')), /ENOSPC/);
    fs.clearFaults();
    fs.injectFault({ code: 'EIO', operations: ['fdatasync'], path: '/d/a', count: 1 });
    await assert.rejects(fs.fdatasync(h), (e: NodeJS.ErrnoException) => e.code === 'EIO');
    assert.equal(fs.durableContents('/d/a').length, 0, 'a failed sync makes nothing durable');
    await fs.fdatasync(h);
    assert.equal(fs.durableContents('/d/a').toString(), 'HELLOwor');
    fs.injectFault({ code: 'EIO', operations: ['read'], path: /\/a$/ });
    assert.throws(() => fs.read(h, Buffer.alloc(4), 0, 4, 0), (e: NodeJS.ErrnoException) => e.code === 'EIO');
    fs.clearFaults();
    fs.flipBit('/d/a', 0, 5);
    assert.equal(fs.contents('/d/a').toString(), 'hELLOwor');
    assert.equal(fs.durableContents('/d/a').toString(), 'hELLOwor');
    assert.equal(fs.injectedFaults, 4);
    fs.close(h);
  });

  it('ENOSPC in the middle of a writev: the torn batches are cut off, their offsets reused, their waiters failed', async () => {
    const h = await start();
    const p = h.p();
    p.append(makeBatch(['a0', 'a1']));
    await p.flush();
    const sizeBefore = p.sizeBytes();
    for (const v of ['b', 'c', 'd']) p.append(makeBatch([`${v}0`, `${v}1`, `${v}2`]));
    assert.equal(p.logEndOffset(), 11);
    h.fs.setCapacity(h.fs.usedBytes() + 100); // part of the first queued batch fits
    const written = p.written();
    const flushed = p.flush();
    await assert.rejects(written, KafkaStorageError);
    await assert.rejects(flushed, KafkaStorageError);
    assert.equal(p.logEndOffset(), 2, 'the abandoned appends give their offsets back');
    assert.equal(p.sizeBytes(), sizeBefore);
    assert.equal(h.fs.contents(LOG).length, sizeBefore, 'the partial write is truncated away');
    assert.deepEqual(values(p), ['a0', 'a1'], 'reads keep working, and serve no torn batch');
    // Still full: the next append fails when its write does.
    h.fs.setDiskFull(true);
    p.append(makeBatch(['e0']));
    await assert.rejects(p.flush(), KafkaStorageError);
    assert.equal(p.logEndOffset(), 2);
    // Space returns: producing works again without a restart, at the next offset.
    h.fs.clearFaults();
    assert.equal(p.append(makeBatch(['f0'])).baseOffset, 2);
    await p.flush();
    assert.deepEqual(values(p), ['a0', 'a1', 'f0']);
    await h.restart({ powerLoss: true });
    assert.deepEqual(values(h.p()), ['a0', 'a1', 'f0']);
    await h.m.close();
  });

  it('an EIO write of a full queue throws KafkaStorageError from append and abandons the queue', async () => {
    const h = await start();
    const p = h.p();
    const big = (tag: string) => makeBatch([tag.padEnd(40_000, '.')]);
    p.append(big('a'));
    h.fs.injectFault({ code: 'EIO', operations: ['write'], path: '.log', count: 1 });
    assert.throws(() => p.append(big('b')), KafkaStorageError);
    assert.equal(p.logEndOffset(), 0);
    assert.equal(p.append(makeBatch(['c'])).baseOffset, 0);
    await p.flush();
    assert.deepEqual(values(p), ['c']);
    await h.m.close();
  });

  it('a reader never sees a batch whose write then fails', async () => {
    const h = await start();
    const p = h.p();
    p.append(makeBatch(['a']));
    await p.flush();
    h.fs.setDiskFull(true);
    p.append(makeBatch(['b']));
    assert.equal(p.logEndOffset(), 2);
    // The read writes the queue first; it fails, so the read sees only what is in the file.
    assert.deepEqual(values(p), ['a']);
    assert.equal(p.logEndOffset(), 1);
    assert.ok(h.errors.some((e) => e instanceof KafkaStorageError));
    h.fs.setDiskFull(false);
    p.append(makeBatch(['c']));
    assert.deepEqual(values(p), ['a', 'c']);
    await h.m.close();
  });

  it('an idempotent retry of a batch whose write failed is appended, not answered as a duplicate', async () => {
    const h = await start();
    const p = h.p();
    assert.equal(p.append(makeBatch(['s0'], idem(7, 0))).baseOffset, 0);
    await p.flush();
    h.fs.setDiskFull(true);
    p.append(makeBatch(['s1'], idem(7, 1)));
    // A new producer whose very first batch fails.
    p.append(makeBatch(['n0'], idem(8, 0)));
    await assert.rejects(p.flush(), KafkaStorageError);
    // Still full: the retry fails again, and must again be forgotten.
    p.append(makeBatch(['s1'], idem(7, 1)));
    const retryWritten = p.written();
    h.clock.advance(0); // the end-of-turn write
    await assert.rejects(retryWritten, KafkaStorageError);
    h.fs.setDiskFull(false);
    // Producer 8 is unknown again: only sequence 0 is accepted.
    assert.throws(
      () => p.append(makeBatch(['n5'], idem(8, 5))),
      (e: unknown) => e instanceof ProducerStateError && e.errorCode === ErrorCode.UNKNOWN_PRODUCER_ID,
    );
    const retry = p.append(makeBatch(['s1'], idem(7, 1)));
    assert.equal(retry.duplicate, undefined, 'the retry must be written, the original never was');
    assert.equal(retry.baseOffset, 1);
    const first = p.append(makeBatch(['n0'], idem(8, 0)));
    assert.equal(first.duplicate, undefined);
    await p.flush();
    // A retry now is a duplicate, of data that exists.
    assert.equal(p.append(makeBatch(['s1'], idem(7, 1))).duplicate, true);
    assert.deepEqual(values(p), ['s0', 's1', 'n0']);
    // The same after a power loss: snapshot and replay agree.
    await h.restart({ powerLoss: true });
    const q = h.p();
    assert.equal(q.append(makeBatch(['s1'], idem(7, 1))).duplicate, true);
    assert.equal(q.append(makeBatch(['s2'], idem(7, 2))).baseOffset, 3);
    await q.flush();
    assert.deepEqual(values(q), ['s0', 's1', 'n0', 's2']);
    await h.m.close();
  });

  it('a failed transaction marker write is undone too: the transaction stays open', async () => {
    const h = await start();
    const p = h.p();
    p.append(makeBatch(['t0'], { ...idem(9, 0), isTransactional: true }));
    await p.flush();
    assert.equal(p.lastStableOffset(), 0);
    h.fs.setDiskFull(true);
    assert.throws(() => p.appendMarker({ producerId: 9, producerEpoch: 0, commit: false, coordinatorEpoch: 0 }), KafkaStorageError);
    assert.equal(p.lastStableOffset(), 0, 'the abort did not happen');
    assert.equal(p.logEndOffset(), 1);
    h.fs.setDiskFull(false);
    p.appendMarker({ producerId: 9, producerEpoch: 0, commit: false, coordinatorEpoch: 0 });
    await p.flush();
    assert.equal(p.lastStableOffset(), 2);
    assert.deepEqual(p.abortedTransactions(0, 2).map((a) => [a.firstOffset, a.lastOffset]), [[0, 1]]);
    await h.m.close();
  });

  it('EIO on fsync: the flush fails, the partition refuses writes until restart, reads go on; nothing acknowledged is lost', async () => {
    const h = await start(2);
    const p = h.p(0);
    p.append(makeBatch(['a']));
    await p.flush();
    p.append(makeBatch(['b']));
    const written = p.written(); // acks=1: in the file
    h.clock.advance(0);
    await written;
    h.fs.injectFault({ code: 'EIO', operations: ['fdatasync'], path: '/t-0/', count: 1 });
    await assert.rejects(p.flush(), KafkaStorageError);
    assert.ok((p as DiskPartitionLog).offlineError() instanceof KafkaStorageError);
    assert.throws(() => p.append(makeBatch(['c'])), KafkaStorageError);
    await assert.rejects(p.flush(), KafkaStorageError);
    assert.deepEqual(values(p), ['a', 'b'], 'reads are served');
    // Other partitions are unaffected.
    h.p(1).append(makeBatch(['x']));
    await h.p(1).flush();
    // Clearing the fault is not enough (the failed writeback cannot be trusted): restart.
    h.fs.clearFaults();
    assert.throws(() => p.append(makeBatch(['c'])), KafkaStorageError);
    await h.restart({ powerLoss: true });
    assert.deepEqual(values(h.p(0)), ['a'], 'acks=all data survives; the unsynced acks=1 record was never promised across power loss');
    assert.deepEqual(values(h.p(1)), ['x']);
    assert.equal(h.p(0).append(makeBatch(['c'])).baseOffset, 1);
    await h.p(0).flush();
    await h.restart();
    assert.deepEqual(values(h.p(0)), ['a', 'c']);
    await h.m.close();
  });

  it('failed snapshot, index and checkpoint writes do not fail appends or crash anything', async () => {
    const h = await start(1, { segmentBytes: 2048, indexIntervalBytes: 64 });
    const p = h.p();
    h.fs.injectFault({ code: 'EIO', operations: ['write'], path: /\.snapshot|\.index|\.timeindex/ });
    h.fs.injectFault({ code: 'ENOSPC', operations: ['write'], path: 'checkpoint' });
    const expected: string[] = [];
    for (let i = 0; i < 60; i++) {
      const v = `v${i}`.padEnd(120, '.');
      p.append(makeBatch([v], idem(3, i)));
      expected.push(v);
      if (i % 7 === 0) h.clock.advance(0);
    }
    assert.ok((p as DiskPartitionLog).segmentCount() > 2, 'segments rolled');
    // Index entries are not written, so a flush cannot vouch for the indexes: it fails, not the appends.
    await assert.rejects(p.flush(), KafkaStorageError);
    assert.deepEqual(values(p), expected);
    assert.ok(h.errors.length > 0);
    h.fs.clearFaults();
    await p.flush();
    await h.restart({ powerLoss: true });
    assert.deepEqual(values(h.p()), expected);
    assert.equal(h.p().append(makeBatch(['v59'.padEnd(120, '.')], idem(3, 59))).duplicate, true);
    await h.m.close();
  });

  it('a restart under a full disk does not lose acknowledged records', async () => {
    const h = await start();
    const p = h.p();
    p.append(makeBatch(['a']));
    await p.flush();
    h.fs.setDiskFull(true);
    p.append(makeBatch(['b']));
    await assert.rejects(p.flush());
    await assert.rejects(h.m.close()); // no clean-shutdown marker can be written
    h.fs.crash();
    await h.restart();
    assert.deepEqual(values(h.p()), ['a']);
    await h.m.close();
  });
});

const SEED = Number(process.env['FJORD_DISK_FAULT_SEED'] ?? 5150);
const STEPS = Number(process.env['FJORD_DISK_FAULT_STEPS'] ?? 3000);
const PARTITIONS = 2;

describe('random disk faults', () => {
  it(`no acknowledged record lost, duplicated or moved, no torn batch served (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const rnd = new SeededRandom(SEED);
    const h = await start(PARTITIONS, { segmentBytes: 8 * 1024, indexIntervalBytes: 256 });
    const recorder = new HistoryRecorder();
    let proc = 0;
    let unique = 0;
    let faultsInjected = 0;
    let acked = 0;
    let storageErrors = 0;
    /** Bumped by a power loss: waits still running then settle against a dead machine, outcome unknown. */
    let machine = 0;
    const inFlight = new Set<Promise<void>>();
    /** One idempotent producer per partition, sending one batch at a time and retrying it until acknowledged. */
    const producers = Array.from({ length: PARTITIONS }, (_, i) => ({ id: 100 + i, seq: 0, retry: null as string[] | null, op: -1, busy: false }));

    const settle = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        h.clock.advance(0);
        await new Promise((r) => setImmediate(r));
      }
    };
    /**
     * One send. An idempotent producer's retries belong to one operation (`op`, already invoked): a
     * failed attempt leaves it open (the producer will retry), as a client's internal retries do.
     */
    const send = (partition: number, batchValues: string[], options: MakeBatchOptions, durable: boolean, op?: number, onDone?: (ok: boolean) => void): void => {
      const key = `t-${partition}`;
      const retrying = op !== undefined;
      const me = op ?? proc++;
      if (!retrying) recorder.invoke(me, 'send', batchValues.map((v) => ['send', key, [null, v]] as const));
      const failed = (known: 'fail' | 'info'): void => {
        if (!retrying) {
          if (known === 'fail') recorder.fail(me);
          else recorder.info(me);
        }
        onDone?.(false);
      };
      const log = h.p(partition);
      let base: number;
      try {
        base = log.append(makeBatch(batchValues, options)).baseOffset;
      } catch (err) {
        assert.ok(err instanceof KafkaStorageError, `unexpected append error: ${String(err)}`);
        storageErrors++;
        failed('fail'); // nothing was stored
        return;
      }
      const bornOn = machine;
      const wait = (durable ? log.flush() : log.written()).then(
        () => {
          if (bornOn !== machine) {
            failed('info');
            return;
          }
          const value = batchValues.map((v, i) => ['send', key, [base + i, v]] as const);
          // acks=1 promises nothing across a power loss.
          if (durable) {
            recorder.ok(me, value);
            acked++;
          } else recorder.info(me, value);
          onDone?.(true);
        },
        (err: unknown) => {
          assert.ok(err instanceof KafkaStorageError, `unexpected flush error: ${String(err)}`);
          storageErrors++;
          failed('info');
        },
      );
      inFlight.add(wait);
      void wait.finally(() => inFlight.delete(wait));
    };
    const restart = async (powerLoss: boolean): Promise<void> => {
      if (powerLoss) {
        // In-flight waits may still settle against the dead manager; their outcome is unknown.
        machine++;
        await h.restart({ powerLoss: true });
      } else {
        await settle();
        await h.restart();
      }
      await settle();
    };

    for (let step = 0; step < STEPS; step++) {
      const r = rnd.next();
      const partition = rnd.int(0, PARTITIONS - 1);
      if (r < 0.3) {
        const n = rnd.int(1, 4);
        send(partition, Array.from({ length: n }, () => `u${unique++}`.padEnd(rnd.int(4, 400), '.')), {}, rnd.next() < 0.7);
      } else if (r < 0.45) {
        const pr = producers[partition]!;
        if (!pr.busy) {
          if (pr.retry === null) {
            pr.retry = Array.from({ length: rnd.int(1, 3) }, () => `p${pr.id}-${unique++}`);
            pr.op = proc++;
            recorder.invoke(pr.op, 'send', pr.retry.map((v) => ['send', `t-${partition}`, [null, v]] as const));
          }
          const batchValues = pr.retry;
          pr.busy = true;
          send(partition, batchValues, idem(pr.id, pr.seq), true, pr.op, (ok) => {
            pr.busy = false;
            if (ok) {
              pr.seq += batchValues.length;
              pr.retry = null;
            }
          });
        }
      } else if (r < 0.58) {
        faultsInjected++;
        const kind = rnd.int(0, 5);
        if (kind === 0) h.fs.setCapacity(h.fs.usedBytes() + rnd.int(0, 2000));
        else if (kind === 1) h.fs.injectFault({ code: 'EIO', operations: ['write'], path: '.log', count: rnd.int(1, 3) });
        else if (kind === 2) h.fs.injectFault({ code: 'EIO', operations: ['fdatasync'], path: `/t-${partition}/`, count: 1 });
        else if (kind === 3) h.fs.injectFault({ code: 'EIO', operations: ['write'], path: /index|snapshot/, count: rnd.int(1, 5) });
        else if (kind === 4) h.fs.injectFault({ code: 'ENOSPC', operations: ['write'], count: rnd.int(1, 4) });
        else h.fs.injectFault({ code: 'EIO', operations: ['truncate'], count: 1 });
      } else if (r < 0.68) {
        h.fs.clearFaults();
      } else if (r < 0.75) {
        // A reader in the middle of it all: never a torn batch, a hole or a moved record.
        readAll(h.p(partition));
      } else if (r < 0.77) {
        await restart(rnd.bool());
      } else if (producers.some((_, i) => (h.p(i) as DiskPartitionLog).offlineError() !== null) && rnd.next() < 0.2) {
        await restart(rnd.bool());
      } else {
        await settle();
      }
    }
    await settle();
    await Promise.allSettled([...inFlight]);
    await restart(rnd.bool());
    for (const pr of producers) if (pr.retry !== null) recorder.info(pr.op);
    const poll: Record<string, Array<[number, string]>> = {};
    const finalOffsets: Record<string, number> = {};
    for (let i = 0; i < PARTITIONS; i++) {
      poll[`t-${i}`] = readAll(h.p(i));
      finalOffsets[`t-${i}`] = h.p(i).logEndOffset();
    }
    const reader = proc++;
    recorder.invoke(reader, 'poll', []);
    recorder.ok(reader, [['poll', poll]]);
    const result = checkHistory(recorder.history(), { finalOffsets });
    await h.m.close();
    assert.ok(faultsInjected >= 200, `only ${faultsInjected} faults injected`);
    assert.ok(h.fs.injectedFaults >= 200, `only ${h.fs.injectedFaults} operations failed`);
    assert.ok(acked > 100 && storageErrors > 50, `acked ${acked}, storage errors ${storageErrors}: the test exercised too little`);
    assert.ok(result.valid, `seed ${SEED}: ${formatCheckResult(result)}`);
  });
});
