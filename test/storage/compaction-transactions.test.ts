// Kafka's transactional rules in the log cleaner, on both engines: aborted records go (and never
// shadow an earlier committed value), committed transactional records are compacted like any others
// with their batch headers kept, markers stay while their transaction's data may remain (COMMIT
// markers go a pass later, after delete.retention.ms; ABORT markers stay with their aborted
// transaction entry), nothing at or past the last stable offset is touched, and on disk a restart or
// a crash at any step of the swap keeps the reads, the aborted transaction list and the .txnindex.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { ControlType } from '../../src/protocol/records/control-batch.js';
import { createDiskLogManager, createMemoryLogManager } from '../../src/storage/index.js';
import type { CompactionSettings } from '../../src/storage/cleaner/types.js';
import type { AbortedTransaction } from '../../src/storage/producer-state/producer-state.js';
import { readTxnIndex, txnIndexPath } from '../../src/storage/disk/txn-index-file.js';
import type { LogManager, PartitionLog } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { forEachStoredBatch } from './stored-batches.js';
import { FailingFileSystem, compactFailingAt, crashAtEveryStep } from './failing-file-system.js';
import { ManualClock } from './manual-clock.js';

const NOW = 1_700_000_000_000;
const RECORD_TIME = NOW - 10_000;
const DELETE_RETENTION_MS = 60_000;
const TOPIC_ID = '00000000-0000-0000-0000-0000000000aa';
const P1 = 1000;
const P2 = 2000;
const P3 = 3000;

function settings(over: Partial<CompactionSettings> = {}): CompactionSettings {
  return { now: NOW, minCleanableDirtyRatio: 0, minCompactionLagMs: 0, deleteRetentionMs: DELETE_RETENTION_MS, dedupeBufferBytes: 1 << 20, ...over };
}

type KV = readonly [string, string | null];

async function plain(log: PartitionLog, ...records: KV[]): Promise<number> {
  const batch = await buildRecordBatch({ records: records.map(([k, v]) => ({ key: Buffer.from(k), value: v === null ? null : Buffer.from(v), timestamp: RECORD_TIME })) });
  return log.append(batch).baseOffset;
}

async function txn(log: PartitionLog, producerId: number, baseSequence: number, ...records: KV[]): Promise<number> {
  const batch = await buildRecordBatch({
    records: records.map(([k, v]) => ({ key: Buffer.from(k), value: v === null ? null : Buffer.from(v), timestamp: RECORD_TIME })),
    producerId,
    producerEpoch: 0,
    baseSequence,
    isTransactional: true,
  });
  return log.append(batch).baseOffset;
}

function marker(log: PartitionLog, producerId: number, commit: boolean): number {
  return log.appendMarker({ producerId, producerEpoch: 0, commit, coordinatorEpoch: 7 }).baseOffset;
}

interface Batch {
  base: number;
  last: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
  control: boolean;
  controlType: number | null;
  records: Array<{ offset: number; key: string; value: string | null }>;
}

async function batches(log: PartitionLog): Promise<Batch[]> {
  const out: Batch[] = [];
  await forEachStoredBatch(log, (b, offset) => {
    const h = b.header;
    const last = h.baseOffset + h.lastOffsetDelta;
    if (last < offset) return;
    const key = b.records[0]?.key ?? null;
    out.push({
      base: h.baseOffset,
      last,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      transactional: b.isTransactional,
      control: b.isControl,
      controlType: b.isControl && key !== null && key.length >= 4 ? key.readInt16BE(2) : null,
      records: b.isControl ? [] : b.records.map((x) => ({ offset: x.offset, key: x.key?.toString() ?? '', value: x.value?.toString() ?? null })),
    });
  }, 'reads advance');
  return out;
}

/** Records as read_uncommitted reads them: everything, "key=value@offset". */
function uncommitted(bs: readonly Batch[]): string[] {
  return bs.flatMap((b) => b.records.map((r) => `${r.key}=${r.value}@${r.offset}`));
}

/** Records as Kafka's read_committed consumer keeps them: up to the LSO, aborted transactions dropped using the aborted list and the ABORT markers. */
function committed(bs: readonly Batch[], aborted: readonly AbortedTransaction[], lso: number): string[] {
  const queue = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  const out: string[] = [];
  for (const b of bs) {
    if (b.base >= lso) break;
    while (queue.length > 0 && (queue[0] as AbortedTransaction).firstOffset <= b.last) abortedProducers.add((queue.shift() as AbortedTransaction).producerId);
    if (b.control) {
      if (b.controlType === ControlType.ABORT) abortedProducers.delete(b.producerId);
      continue;
    }
    if (b.transactional && abortedProducers.has(b.producerId)) continue;
    for (const r of b.records) out.push(`${r.key}=${r.value}@${r.offset}`);
  }
  return out;
}

function markers(bs: readonly Batch[]): string[] {
  return bs.filter((b) => b.control).map((b) => `${b.controlType === ControlType.COMMIT ? 'COMMIT' : 'ABORT'}:${b.producerId}@${b.base}`);
}

/**
 * Offsets: 0 k1=v0 | 1 k2=v0 | 2-3 P1 [k1=a1 k2=a2] | 4 P2 [k1=b1] | 5 k3=n3 | 6 COMMIT P1 |
 * 7-8 P2 [k3=b3 k4=b4] | 9 ABORT P2 | 10-11 P1 [k2=c2 k1=c1] | 12 k4=n4 | 13 P1 [k5=c5] | 14 COMMIT P1 |
 * 15 k1=n1 | 16 P3 [k1=d1] (open: the LSO) | 17 k6=x | 18 k1=y
 */
async function writeScenario(log: PartitionLog): Promise<void> {
  assert.equal(await plain(log, ['k1', 'v0']), 0);
  await plain(log, ['k2', 'v0']);
  assert.equal(await txn(log, P1, 0, ['k1', 'a1'], ['k2', 'a2']), 2);
  assert.equal(await txn(log, P2, 0, ['k1', 'b1']), 4);
  await plain(log, ['k3', 'n3']);
  assert.equal(marker(log, P1, true), 6);
  assert.equal(await txn(log, P2, 1, ['k3', 'b3'], ['k4', 'b4']), 7);
  assert.equal(marker(log, P2, false), 9);
  assert.equal(await txn(log, P1, 2, ['k2', 'c2'], ['k1', 'c1']), 10);
  assert.equal(await plain(log, ['k4', 'n4']), 12);
  assert.equal(await txn(log, P1, 4, ['k5', 'c5']), 13);
  assert.equal(marker(log, P1, true), 14);
  assert.equal(await plain(log, ['k1', 'n1']), 15);
  assert.equal(await txn(log, P3, 0, ['k1', 'd1']), 16);
  await plain(log, ['k6', 'x']);
  assert.equal(await plain(log, ['k1', 'y']), 18);
}

const BEYOND_LSO = ['k1=d1@16', 'k6=x@17', 'k1=y@18'];
const COMMITTED_LATEST = ['k3=n3@5', 'k2=c2@10', 'k4=n4@12', 'k5=c5@13', 'k1=n1@15'];
const ABORTED_LIST: AbortedTransaction[] = [{ producerId: P2, firstOffset: 4, lastOffset: 9, lastStableOffset: 10 }];

interface Opened {
  manager: LogManager;
  log: PartitionLog;
  clock: ManualClock;
  fs?: MemoryFileSystem;
}

async function openMemory(): Promise<Opened> {
  const clock = new ManualClock(NOW - 5_000);
  const manager = createMemoryLogManager({ now: () => clock.now() });
  await manager.open();
  manager.createTopic('t', 1, {}, TOPIC_ID);
  return { manager, log: manager.partition('t', 0) as PartitionLog, clock };
}

/** About one batch per segment. */
const SMALL_SEGMENT_BYTES = 120;
/** Segments of about three batches: 0-3, 4-6, 7-11 (the ABORT marker amid data that changes), 12-14, 15-17, 18- (active). */
const SHARED_SEGMENT_BYTES = 250;

function diskManager(fs: MemoryFileSystem, clock: ManualClock, segmentBytes: number): LogManager {
  return createDiskLogManager({ logDir: '/data', fs, clock, options: { segmentBytes } });
}

async function openDisk(fs: MemoryFileSystem = new MemoryFileSystem(), segmentBytes = SMALL_SEGMENT_BYTES): Promise<Opened> {
  const clock = new ManualClock(NOW - 5_000);
  const manager = diskManager(fs, clock, segmentBytes);
  await manager.open();
  manager.createTopic('t', 1, {}, TOPIC_ID);
  return { manager, log: manager.partition('t', 0) as PartitionLog, clock, fs };
}

for (const [name, open] of [
  ['memory', openMemory],
  ['disk', openDisk],
] as const) {
  test(`${name}: cleaning removes aborted records, keeps the latest committed value per key and the markers, and stops at the LSO`, async () => {
    const { manager, log, fs } = await open();
    await writeScenario(log);
    const end = log.logEndOffset();
    assert.equal(log.lastStableOffset(), 16);
    const before = await batches(log);
    const markerTime = NOW - 5_000;

    // The markers are already older than delete.retention.ms here: the two-pass rule alone keeps COMMIT 6.
    const first = await log.compact!(settings({ deleteRetentionMs: 1_000 }));
    assert.equal(first.cleaned, true);
    assert.equal(first.cleanedUpTo, 16, 'cleaned up to the LSO, not beyond');
    let after = await batches(log);
    assert.equal(log.logEndOffset(), end);
    assert.equal(log.lastStableOffset(), 16);
    assert.deepEqual(log.abortedTransactions(0, end), ABORTED_LIST);
    // read_uncommitted: no aborted record, the latest committed value of every key, the rest as written.
    assert.deepEqual(uncommitted(after), [...COMMITTED_LATEST, ...BEYOND_LSO]);
    assert.deepEqual(committed(after, log.abortedTransactions(0, end), 16), COMMITTED_LATEST);
    // Every marker stays this pass: COMMIT 6's data was met (and removed) by this pass.
    assert.deepEqual(markers(after), [`COMMIT:${P1}@6`, `ABORT:${P2}@9`, `COMMIT:${P1}@14`]);
    assert.equal(first.oldestTombstoneTimestamp, markerTime, 'the COMMIT marker now without data is due after delete.retention.ms');
    // The open transaction and everything after it are byte-identical.
    assert.deepEqual(after.filter((b) => b.base >= 16), before.filter((b) => b.base >= 16));
    // A rewritten committed transactional batch keeps its offsets and producer fields.
    const c = after.find((b) => b.base === 10);
    assert.deepEqual(c && { ...c, records: c.records.length }, { base: 10, last: 11, producerId: P1, producerEpoch: 0, baseSequence: 2, transactional: true, control: false, controlType: null, records: 1 });
    // P2's last batch (aborted) stays, empty, for its sequence; its first aborted batch is gone.
    assert.deepEqual(after.filter((b) => b.producerId === P2 && !b.control).map((b) => [b.base, b.last, b.baseSequence, b.records.length]), [[7, 8, 1, 0]]);
    if (fs !== undefined) {
      const index = fs.readdir('/data/t-0').filter((f) => f.endsWith('.txnindex'));
      assert.equal(index.length, 1, 'one segment holds the abort marker');
      assert.deepEqual(readTxnIndex(fs, `/data/t-0/${index[0]}`), ABORTED_LIST);
    }

    // Later, past delete.retention.ms: the COMMIT marker whose data is gone goes; the others stay.
    const second = await log.compact!(settings({ now: NOW + 2 * DELETE_RETENTION_MS, expireTombstones: true }));
    assert.equal(second.cleaned, true);
    after = await batches(log);
    assert.deepEqual(markers(after), [`ABORT:${P2}@9`, `COMMIT:${P1}@14`]);
    assert.deepEqual(uncommitted(after), [...COMMITTED_LATEST, ...BEYOND_LSO]);
    assert.deepEqual(log.abortedTransactions(0, end), ABORTED_LIST);
    assert.equal(second.oldestTombstoneTimestamp, -1, 'nothing more to expire');
    const third = await log.compact!(settings({ now: NOW + 4 * DELETE_RETENTION_MS, expireTombstones: true }));
    assert.equal(third.segmentsRewritten, 0, 'a third pass finds nothing to remove');

    // The open transaction commits: the next pass may clean it.
    const commitAt = marker(log, P3, true);
    await plain(log, ['k7', 'z']);
    await plain(log, ['k8', 'z']);
    assert.equal(log.lastStableOffset(), log.logEndOffset());
    const fourth = await log.compact!(settings({ now: NOW + 4 * DELETE_RETENTION_MS }));
    assert.ok(fourth.cleanedUpTo > commitAt);
    after = await batches(log);
    assert.deepEqual(uncommitted(after).filter((r) => r.startsWith('k1=')), ['k1=y@18'], 'd1 compacted away once committed');
    assert.ok(markers(after).includes(`COMMIT:${P3}@${commitAt}`), 'P3 keeps its marker: its emptied last batch remains');
    assert.deepEqual(after.filter((b) => b.producerId === P3 && !b.control).map((b) => [b.base, b.records.length]), [[16, 0]]);
    await manager.close();
  });

  test(`${name}: an aborted transaction never shadows an earlier committed value, even with a full dedupe map`, async () => {
    const { manager, log } = await open();
    await plain(log, ['a', 'committed']);
    await txn(log, P1, 0, ['a', 'aborted'], ['b', 'aborted']);
    marker(log, P1, false);
    await plain(log, ['c', '1']);
    await plain(log, ['c', '2']);
    await plain(log, ['tail', '-']);
    // Room for one key only: the map stops at the first "c"; the aborted batch is still removed.
    const r = await log.compact!(settings({ dedupeBufferBytes: 1 + 24 }));
    assert.equal(r.cleaned, true);
    const bs = await batches(log);
    assert.deepEqual(uncommitted(bs), ['a=committed@0', 'c=1@4', 'c=2@5', 'tail=-@6']);
    assert.deepEqual(markers(bs), [`ABORT:${P1}@3`]);
    await manager.close();
  });
}

/** Base offset of the segment file holding `offset`. */
function segmentOf(fs: MemoryFileSystem, offset: number): number {
  const bases = fs.readdir('/data/t-0').filter((f) => f.endsWith('.log')).map((f) => Number(f.slice(0, 20)));
  return Math.max(...bases.filter((b) => b <= offset));
}

test('disk: a restart after cleaning, clean or after a crash, gives the same reads, LSO, aborted transaction list and .txnindex', async () => {
  for (const segmentBytes of [SMALL_SEGMENT_BYTES, SHARED_SEGMENT_BYTES]) {
    for (const crash of [false, true]) {
      const at = `segment.bytes=${segmentBytes} crash=${crash}`;
      const fs = new MemoryFileSystem();
      const { manager, log, clock } = await openDisk(fs, segmentBytes);
      await writeScenario(log);
      const r = await log.compact!(settings());
      if (segmentBytes === SHARED_SEGMENT_BYTES) {
        assert.equal(segmentOf(fs, 9), 7, `${at}: the abort marker shares a segment`);
        assert.equal(r.cleanedUpTo, 15, `${at}: the segment holding the LSO is not cleaned`);
      }
      await log.flush();
      const bs = await batches(log);
      const end = log.logEndOffset();
      const readCommitted = committed(bs, log.abortedTransactions(0, end), 16);
      for (const rec of COMMITTED_LATEST) assert.ok(readCommitted.includes(rec), `${at}: ${rec}`);
      assert.deepEqual(readTxnIndex(fs, txnIndexPath('/data/t-0', segmentOf(fs, 9))), ABORTED_LIST, `${at}: txnindex`);
      if (crash) fs.crash();
      else await manager.close();
      const again = diskManager(fs, clock, segmentBytes);
      await again.open();
      const reopened = again.partition('t', 0) as PartitionLog;
      assert.deepEqual(await batches(reopened), bs, `${at}: same batches`);
      assert.equal(reopened.logEndOffset(), end);
      assert.equal(reopened.lastStableOffset(), 16);
      assert.deepEqual(reopened.abortedTransactions(0, end), ABORTED_LIST, `${at}: aborted list`);
      assert.deepEqual(committed(bs, reopened.abortedTransactions(0, end), 16), readCommitted, `${at}: read_committed`);
      assert.deepEqual(readTxnIndex(fs, txnIndexPath('/data/t-0', segmentOf(fs, 9))), ABORTED_LIST, `${at}: txnindex after the restart`);
      await again.close();
    }
  }
});

test('disk: a crash at every step of a cleaning swap loses no committed value, aborted transaction or marker', async () => {
  await crashAtEveryStep(300, async (n, unsyncedCrash) => {
    const fs = new FailingFileSystem();
    // The abort marker's segment (7-11) is rewritten, so its .txnindex goes through the swap too.
    const { log, clock } = await openDisk(fs, SHARED_SEGMENT_BYTES);
    await writeScenario(log);
    await log.flush();
    const end = log.logEndOffset();
    const finished = await compactFailingAt(fs, log, n, settings(), unsyncedCrash);
    const reopened = diskManager(fs, clock, SHARED_SEGMENT_BYTES);
    await reopened.open();
    const again = reopened.partition('t', 0) as PartitionLog;
    const bs = await batches(again);
    const at = `step ${n}${unsyncedCrash ? ' + power loss' : ''}`;
    assert.equal(again.logEndOffset(), end, at);
    assert.equal(again.lastStableOffset(), 16, at);
    assert.deepEqual(again.abortedTransactions(0, end), ABORTED_LIST, `${at}: aborted list`);
    const rc = committed(bs, again.abortedTransactions(0, end), 16);
    for (const r of COMMITTED_LATEST) assert.ok(rc.includes(r), `${at}: ${r}`);
    assert.ok(!rc.some((r) => r.includes('=b')), `${at}: no aborted record visible to read_committed`);
    // A partial pass may have removed the aborted data, never the markers of live data.
    for (const m of [`ABORT:${P2}@9`, `COMMIT:${P1}@14`]) assert.ok(markers(bs).includes(m), `${at}: ${m}`);
    assert.deepEqual(uncommitted(bs).slice(-3), BEYOND_LSO, at);
    assert.deepEqual(fs.readdir('/data/t-0').filter((f) => f.endsWith('.cleaned') || f.endsWith('.swap')), [], `${at}: no leftovers`);
    assert.deepEqual(readTxnIndex(fs, txnIndexPath('/data/t-0', segmentOf(fs, 9))), ABORTED_LIST, `${at}: txnindex of the abort marker's segment`);
    await reopened.close();
    return finished;
  });
});
