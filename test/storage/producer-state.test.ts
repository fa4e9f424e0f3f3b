import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ProducerStateError, ProducerStateManager, type ProducerBatch } from '../../src/storage/producer-state/producer-state.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/storage/producer-state/snapshot-file.js';
import { createDiskLogManager } from '../../src/storage/index.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { ALL_ENGINES } from './engines.js';
import { ManualClock } from './manual-clock.js';
import { decodeBatches, makeBatch } from './make-batch.js';

const TOPIC_ID = '4a0c7a8e-8d6c-4f0e-9b7b-1c2d3e4f5a6b';

function pb(producerId: number, producerEpoch: number, baseSequence: number, count = 1, isTransactional = false): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: count - 1, isTransactional, maxTimestamp: 0 };
}

function idem(values: string[], producerId: number, producerEpoch: number, baseSequence: number, isTransactional = false): Buffer {
  return makeBatch(values, { producerId, producerEpoch, baseSequence, isTransactional });
}

function errorCodeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProducerStateError) return err.errorCode;
    throw err;
  }
  assert.fail('expected a ProducerStateError');
}

describe('ProducerStateManager', () => {
  it('accepts in-order sequences, reports exact retries of the last five batches as duplicates', () => {
    const m = new ProducerStateManager('t-0');
    let offset = 0;
    for (let seq = 0; seq < 12; seq += 2) {
      assert.deepEqual(m.check(pb(1, 0, seq, 2)), { kind: 'append' });
      m.onAppend(pb(1, 0, seq, 2), offset);
      offset += 2;
    }
    // Batches with sequences 2..11 are the last five; 0-1 has been forgotten.
    assert.deepEqual(m.check(pb(1, 0, 4, 2)), { kind: 'duplicate', firstOffset: 4, lastOffset: 5 });
    assert.deepEqual(m.check(pb(1, 0, 10, 2)), { kind: 'duplicate', firstOffset: 10, lastOffset: 11 });
    const forgotten = m.check(pb(1, 0, 0, 2));
    assert.equal(forgotten.kind === 'error' && forgotten.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // A retry that overlaps but does not match a batch exactly is out of order too.
    const partial = m.check(pb(1, 0, 10, 1));
    assert.equal(partial.kind === 'error' && partial.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('refuses a gap, an old epoch, an unknown producer past sequence 0 and a new epoch not at 0', () => {
    const m = new ProducerStateManager('t-0');
    m.onAppend(pb(1, 3, 0, 1), 0);
    const code = (r: ReturnType<ProducerStateManager['check']>): number | string => (r.kind === 'error' ? r.errorCode : r.kind);
    assert.equal(code(m.check(pb(1, 3, 2))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(code(m.check(pb(1, 2, 1))), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(code(m.check(pb(2, 0, 5))), ErrorCode.UNKNOWN_PRODUCER_ID);
    assert.equal(code(m.check(pb(2, 0, 0))), 'append');
    assert.equal(code(m.check(pb(1, 4, 1))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(code(m.check(pb(1, 4, 0))), 'append');
    assert.equal(code(m.check(pb(-1, -1, -1))), 'append');
  });

  it('wraps sequences from Int32.MAX to 0', () => {
    const m = new ProducerStateManager('t-0');
    m.restore({ producerId: 1, epoch: 0, batches: [{ firstSeq: 0x7ffffffe, lastSeq: 0x7fffffff, firstOffset: 0, lastOffset: 1, timestamp: 0 }], currentTxnFirstOffset: -1, coordinatorEpoch: -1, lastTimestamp: 0 });
    assert.deepEqual(m.check(pb(1, 0, 0)), { kind: 'append' });
  });

  it('tracks open transactions for the LSO and lists aborted ones', () => {
    const m = new ProducerStateManager('t-0');
    m.onAppend(pb(1, 0, 0, 3, true), 10);
    m.onAppend(pb(2, 0, 0, 2, true), 13);
    assert.equal(m.lastStableOffset(20), 10);
    const nonTxn = m.check(pb(1, 0, 3, 1, false));
    assert.equal(nonTxn.kind === 'error' && nonTxn.errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.equal(m.onMarker(1, 0, true, 0, 15, 0, 16), null);
    assert.equal(m.lastStableOffset(20), 13);
    const aborted = m.onMarker(2, 0, false, 0, 16, 0, 17);
    assert.deepEqual(aborted, { producerId: 2, firstOffset: 13, lastOffset: 16, lastStableOffset: 17 });
    assert.equal(m.lastStableOffset(20), 20);
    assert.deepEqual(m.abortedTransactions(0, 20), [aborted]);
    assert.deepEqual(m.abortedTransactions(17, 20), []);
    assert.deepEqual(m.abortedTransactions(0, 13), []);
    assert.equal(m.checkMarker(2, 0).kind, 'append');
    m.onMarker(2, 5, false, 0, 18, 0, 19);
    const fenced = m.checkMarker(2, 4);
    assert.equal(fenced.kind === 'error' && fenced.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('round-trips through a snapshot, keeping every remembered batch and open transaction', () => {
    const m = new ProducerStateManager('t-0');
    for (let i = 0; i < 7; i++) m.onAppend(pb(1, 2, i * 3, 3), 100 + i * 3);
    m.onAppend(pb(9, 0, 0, 1, true), 500);
    const restored = new ProducerStateManager('t-0');
    const entries = decodeSnapshot(encodeSnapshot(m.entries()));
    assert.ok(entries);
    for (const e of entries) restored.restore(e);
    assert.deepEqual([...restored.entries()], [...m.entries()].map((e) => ({ ...e })));
    assert.equal(restored.lastStableOffset(1000), 500);
    assert.deepEqual(restored.check(pb(1, 2, 12, 3)), { kind: 'duplicate', firstOffset: 112, lastOffset: 114 });
    const bytes = encodeSnapshot(m.entries());
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    assert.equal(decodeSnapshot(bytes), null, 'a damaged snapshot is refused by its CRC');
  });
});

for (const harness of ALL_ENGINES) {
  describe(`idempotent and transactional appends: ${harness.name}`, () => {
    it('answers a retry with the original offsets and refuses gaps and fenced epochs', async () => {
      const e = await harness.start();
      try {
        e.manager.createTopic('t', 1, {}, TOPIC_ID);
        const p = e.manager.partition('t', 0) as PartitionLog;
        assert.equal(p.append(idem(['a', 'b'], 7, 0, 0)).baseOffset, 0);
        assert.equal(p.append(idem(['c'], 7, 0, 2)).baseOffset, 2);
        const retry = p.append(idem(['a', 'b'], 7, 0, 0));
        assert.deepEqual(retry, { baseOffset: 0, lastOffset: 1, logEndOffset: 3, duplicate: true });
        assert.equal(errorCodeOf(() => p.append(idem(['x'], 7, 0, 5))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assert.equal(p.append(idem(['d'], 7, 1, 0)).baseOffset, 3);
        assert.equal(errorCodeOf(() => p.append(idem(['y'], 7, 0, 3))), ErrorCode.INVALID_PRODUCER_EPOCH);
        assert.equal(p.logEndOffset(), 4);
        assert.deepEqual(decodeBatches(p.read(0, 1 << 20, true).chunks).flatMap((b) => b.values), ['a', 'b', 'c', 'd']);
      } finally {
        await e.cleanup();
      }
    });

    it('stops read_committed reads at the LSO and indexes aborted transactions across a reopen', async () => {
      const e = await harness.start();
      try {
        e.manager.createTopic('t', 1, {}, TOPIC_ID);
        let p = e.manager.partition('t', 0) as PartitionLog;
        p.append(makeBatch(['plain']));
        p.append(idem(['t1a', 't1b'], 1, 0, 0, true));
        p.append(idem(['t2a'], 2, 0, 0, true));
        assert.equal(p.lastStableOffset(), 1);
        assert.deepEqual(decodeBatches(p.read(0, 1 << 20, true, p.lastStableOffset()).chunks).flatMap((b) => b.values), ['plain']);
        assert.deepEqual(p.read(1, 1 << 20, true, p.lastStableOffset()).chunks, []);
        p.appendMarker({ producerId: 1, producerEpoch: 0, commit: false, coordinatorEpoch: 0 });
        assert.equal(p.lastStableOffset(), 3);
        p.appendMarker({ producerId: 2, producerEpoch: 0, commit: true, coordinatorEpoch: 0 });
        assert.equal(p.lastStableOffset(), 6);
        assert.deepEqual(p.abortedTransactions(0, 6), [{ producerId: 1, firstOffset: 1, lastOffset: 4, lastStableOffset: 3 }]);
        p.append(idem(['t3'], 1, 0, 2, true));
        assert.equal(p.lastStableOffset(), 6);
        await e.reopen();
        p = e.manager.partition('t', 0) as PartitionLog;
        assert.equal(p.lastStableOffset(), 6, 'the open transaction survives a restart');
        assert.deepEqual(p.abortedTransactions(0, 7).map((a) => [a.producerId, a.firstOffset, a.lastOffset]), [[1, 1, 4]]);
        assert.equal(p.append(idem(['t1a', 't1b'], 1, 0, 0, true)).duplicate, true, 'retries are still recognised after a restart');
      } finally {
        await e.cleanup();
      }
    });
  });
}

describe('producer state after a crash (disk engine over the fault-injecting file system)', () => {
  it('deduplicates a retry after power loss, from the snapshot plus a replay of the synced tail', async () => {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock();
    const open = async () => {
      const m = createDiskLogManager({ logDir: '/data', fs, clock, options: { segmentBytes: 400 } });
      await m.open();
      return m;
    };
    let m = await open();
    m.createTopic('t', 1, {}, TOPIC_ID);
    let p = m.partition('t', 0) as PartitionLog;
    // Enough batches to roll segments (snapshots at each roll) and leave a tail after the last one.
    for (let seq = 0; seq < 40; seq++) p.append(idem([`v${seq}`], 3, 0, seq));
    await p.flush();
    p.append(idem(['lost'], 3, 0, 40)); // never synced: a power loss drops it
    fs.crash();
    m = await open();
    p = m.partition('t', 0) as PartitionLog;
    assert.equal(p.logEndOffset(), 40);
    // The last five synced batches are recognised as retries; the lost one is accepted again.
    for (let seq = 35; seq < 40; seq++) assert.deepEqual(p.append(idem([`v${seq}`], 3, 0, seq)), { baseOffset: seq, lastOffset: seq, logEndOffset: 40, duplicate: true });
    assert.equal(p.append(idem(['lost'], 3, 0, 40)).baseOffset, 40);
    assert.equal(errorCodeOf(() => p.append(idem(['gap'], 3, 0, 42))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    await m.close();
  });
});
