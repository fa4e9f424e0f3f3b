// The transactional side of the history checker: one small hand-written history per anomaly a
// consume-transform-produce workload can show under read_committed (aborted reads, reads of
// transactions that later aborted, intermediate reads, G1c through consumer offsets, duplicates, lost
// committed writes, broken offset chains, double consumption), each found, and clean histories that pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, formatCheckResult, mop, type AnomalyName, type CheckOptions, type CheckResult, type Mop, type Op, type Value } from '../../src/testing/history-checker.js';

type Done = 'ok' | 'info' | 'fail';
type Reads = Record<string, Array<[number, Value]>>;

const OPTS: CheckOptions = { transactional: true, subscription: true, exactlyOnce: true };
const txn = (process: number, type: Done, ...mops: Mop[]): Op => ({ process, type, f: 'txn', value: mops });
const poll = (process: number, type: Done, reads: Reads): Op => ({ process, type, f: 'poll', value: [mop.poll(reads)] });
const subscribe = (process: number, ...keys: string[]): Op => ({ process, type: 'ok', f: 'subscribe', value: keys });
const send = (key: string, offset: number | null, value: Value): Mop => mop.send(key, value, offset);

/** The bad anomalies, exactly (allowed ones such as poll skips under subscription may come along). */
function expectBad(result: CheckResult, names: AnomalyName[]): void {
  assert.deepEqual(result.badAnomalyTypes, names, formatCheckResult(result, 10));
  assert.equal(result.valid, names.length === 0);
}

/**
 * A clean copier run: the filler commits in-0..in-5 over two partitions (offsets 0-2, marker at 3) and
 * aborts one record; copier process 10 copies the first half, its second transaction aborts, it
 * retries, and a final read_committed reader reads the output, stepping over the aborted attempt.
 */
function cleanCopier(): Op[] {
  return [
    txn(0, 'ok', send('in-0', 0, 'a0'), send('in-1', 0, 'b0'), send('in-0', 1, 'a1'), send('in-1', 1, 'b1')),
    txn(0, 'fail', send('in-0', 3, 'x0')),
    txn(0, 'ok', send('in-0', 5, 'a2'), send('in-1', 3, 'b2')),
    subscribe(10, 'in-0', 'in-1'),
    txn(10, 'ok', mop.poll({ 'in-0': [[0, 'a0'], [1, 'a1']] }), send('out-0', 0, 'a0-c@1'), send('out-0', 1, 'a1-c@1'), mop.offsets('g', { 'in-0': [0, 2] })),
    txn(10, 'fail', mop.poll({ 'in-0': [[5, 'a2']] }), send('out-0', 3, 'a2-c@2'), mop.offsets('g', { 'in-0': [2, 6] })),
    txn(10, 'ok', mop.poll({ 'in-0': [[5, 'a2']] }), send('out-0', 5, 'a2-c@3'), mop.offsets('g', { 'in-0': [2, 6] })),
    txn(10, 'ok', mop.poll({ 'in-1': [[0, 'b0'], [1, 'b1'], [3, 'b2']] }), send('out-1', 0, 'b0-c@4'), send('out-1', 1, 'b1-c@4'), send('out-1', 2, 'b2-c@4'), mop.offsets('g', { 'in-1': [0, 4] })),
    poll(20, 'ok', { 'out-0': [[0, 'a0-c@1'], [1, 'a1-c@1'], [5, 'a2-c@3']], 'out-1': [[0, 'b0-c@4'], [1, 'b1-c@4'], [2, 'b2-c@4']] }),
  ];
}

describe('transactional history checker: clean histories', () => {
  it('a copier run with an aborted input transaction and an aborted, retried copy passes', () => {
    const r = checkHistory(cleanCopier(), { ...OPTS, finalOffsets: { 'out-0': 7, 'out-1': 4 } });
    assert.equal(r.valid, true, formatCheckResult(r, 10));
    assert.deepEqual(r.anomalyTypes, [], formatCheckResult(r, 10));
    assert.equal(r.stats.offsetCommits, 3);
    assert.equal(r.stats.consumedInputs, 6);
    // The aborted input x0 (in-0@3) and the aborted copy (out-0@3) were read past.
    assert.equal(r.stats.passedRecords, 2);
  });

  it('an info copy that committed (its output is read) joins the chain and passes', () => {
    const h = cleanCopier().map((op) => (op.type === 'ok' && op.process === 10 && JSON.stringify(op.value).includes('a2-c@3') ? { ...op, type: 'info' as const } : op));
    const r = checkHistory(h, OPTS);
    assert.equal(r.valid, true, formatCheckResult(r, 10));
    assert.equal(r.stats.infoCommitted, 1);
  });

  it('the reads of an info copy that committed count: what it consumed is not lost', () => {
    // The copier was killed after committing its first transaction, before it could report it; a later
    // ok transaction read past those inputs. Found by the copier torture (a false lost-write).
    const h = cleanCopier().map((op) => (op.type === 'ok' && op.process === 10 && JSON.stringify(op.value).includes('a1-c@1') ? { ...op, type: 'info' as const } : op));
    const r = checkHistory(h, { ...OPTS, finalOffsets: { 'out-0': 7, 'out-1': 4 } });
    assert.equal(r.valid, true, formatCheckResult(r, 10));
    assert.equal(r.stats.infoCommitted, 1);
  });

  it('without the transactional option the new checks stay off', () => {
    const h: Op[] = [txn(1, 'info', send('x', 1, 'a')), poll(2, 'ok', { x: [[1, 'a']] }), txn(3, 'ok', send('x', 0, 'z'), send('x', 2, 'w')), poll(4, 'ok', { x: [[0, 'z'], [2, 'w']] })];
    const r = checkHistory(h, { subscription: true });
    assert.equal(r.valid, true, formatCheckResult(r, 10));
    expectBad(checkHistory(h, { subscription: true, transactional: true }), ['later-aborted-read']);
  });
});

describe('transactional history checker: one anomaly per history', () => {
  it('aborted read: a read_committed poll returns a record of an aborted transaction', () => {
    const r = checkHistory([txn(1, 'fail', send('x', 0, 'a'), send('y', 0, 'b')), poll(2, 'ok', { x: [[0, 'a']] })], OPTS);
    expectBad(r, ['aborted-read']);
    assert.deepEqual(r.anomalies['aborted-read'], [{ key: 'x', value: 'a', offset: 0, reader: 1, writer: 0 }]);
  });

  it('later-aborted read: a record of an info transaction is read, then another reader reads past the transaction', () => {
    const r = checkHistory(
      [
        txn(1, 'ok', send('x', 0, 'z0'), send('x', 2, 'z2')),
        txn(2, 'info', send('x', 1, 'a'), send('y', 0, 'b')),
        poll(3, 'ok', { x: [[1, 'a']] }),
        poll(4, 'ok', { x: [[0, 'z0'], [2, 'z2']] }),
      ],
      OPTS,
    );
    expectBad(r, ['later-aborted-read']);
    assert.deepEqual(r.anomalies['later-aborted-read'], [
      { key: 'x', value: 'a', offset: 1, reader: 2, readerType: 'ok', writer: 1, passedBy: { process: 4, op: 3, from: 0, to: 2, key: 'x', offset: 1, value: 'a' } },
    ]);
  });

  it('intermediate read: one reader sees part of a committed transaction and reads past the rest', () => {
    const r = checkHistory(
      [
        txn(1, 'ok', send('x', 0, 'x0'), send('y', 0, 'y0')),
        txn(2, 'ok', send('x', 1, 'a'), send('y', 1, 'b')),
        txn(1, 'ok', send('x', 2, 'x2'), send('y', 2, 'y2')),
        poll(3, 'ok', { x: [[0, 'x0'], [1, 'a'], [2, 'x2']], y: [[0, 'y0'], [2, 'y2']] }),
        poll(4, 'ok', { y: [[1, 'b']] }),
      ],
      OPTS,
    );
    expectBad(r, ['intermediate-read']);
    assert.deepEqual(r.anomalies['intermediate-read'], [
      { writer: 1, writerType: 'ok', process: 3, seen: [{ key: 'x', offset: 1, value: 'a' }], passed: [{ key: 'y', offset: 1, value: 'b', by: { process: 3, op: 3, from: 0, to: 2 } }] },
    ]);
  });

  it('G1c through consumer offsets: two copier transactions each resumed from the other one\'s offset commit', () => {
    const r = checkHistory(
      [
        txn(0, 'ok', send('in-0', 0, 'a0'), send('in-0', 5, 'a5'), send('in-1', 0, 'b0'), send('in-1', 7, 'b7')),
        txn(1, 'ok', mop.poll({ 'in-0': [[0, 'a0']], 'in-1': [[7, 'b7']] }), send('out', 0, 'a0-c'), mop.offsets('g', { 'in-0': [0, 5], 'in-1': [7, 12] })),
        txn(2, 'ok', mop.poll({ 'in-0': [[5, 'a5']], 'in-1': [[0, 'b0']] }), send('out', 1, 'b0-c'), mop.offsets('g', { 'in-0': [5, 9], 'in-1': [0, 7] })),
      ],
      { transactional: true },
    );
    expectBad(r, ['G1c']);
    assert.deepEqual(r.anomalies.G1c, [
      { ops: [1, 2], steps: [{ from: 1, to: 2, key: 'g/in-0', value: 5 }, { from: 2, to: 1, key: 'g/in-1', value: 7 }] },
    ]);
  });

  it('G1c through records: each transaction read the other one\'s write', () => {
    const r = checkHistory(
      [txn(1, 'ok', mop.poll({ y: [[0, 'b']] }), send('x', 0, 'a')), txn(2, 'ok', mop.poll({ x: [[0, 'a']] }), send('y', 0, 'b'))],
      OPTS,
    );
    expectBad(r, ['G1c']);
  });

  it('duplicate: one copy appears twice in the output', () => {
    const r = checkHistory(
      [
        txn(0, 'ok', send('in', 0, 'a')),
        txn(1, 'ok', mop.poll({ in: [[0, 'a']] }), send('out', 0, 'a-c'), mop.offsets('g', { in: [0, 1] })),
        poll(2, 'ok', { out: [[0, 'a-c'], [1, 'a-c']] }),
      ],
      OPTS,
    );
    expectBad(r, ['duplicate']);
  });

  it('lost committed write: a committed copy that a read_committed reader read past', () => {
    const r = checkHistory(
      [
        txn(0, 'ok', send('in', 0, 'a'), send('in', 1, 'b'), send('in', 2, 'c')),
        txn(1, 'ok', mop.poll({ in: [[0, 'a']] }), send('out', 0, 'a-c'), mop.offsets('g', { in: [0, 1] })),
        txn(1, 'ok', mop.poll({ in: [[1, 'b']] }), send('out', 2, 'b-c'), mop.offsets('g', { in: [1, 2] })),
        txn(1, 'ok', mop.poll({ in: [[2, 'c']] }), send('out', 4, 'c-c'), mop.offsets('g', { in: [2, 3] })),
        poll(2, 'ok', { out: [[0, 'a-c'], [4, 'c-c']] }),
      ],
      OPTS,
    );
    expectBad(r, ['lost-write']);
    assert.equal(r.anomalies['lost-write']![0]!.value, 'b-c');
  });

  it('exactly once and offset overlap: two committed copies consumed the same input', () => {
    const r = checkHistory(
      [
        txn(0, 'ok', send('in', 0, 'a')),
        subscribe(1, 'in'),
        txn(1, 'ok', mop.poll({ in: [[0, 'a']] }), send('out', 0, 'a-c@1'), mop.offsets('g', { in: [0, 1] })),
        subscribe(2, 'in'),
        txn(2, 'ok', mop.poll({ in: [[0, 'a']] }), send('out', 2, 'a-c@2'), mop.offsets('g', { in: [0, 1] })),
      ],
      OPTS,
    );
    expectBad(r, ['exactly-once', 'offset-chain']);
    assert.deepEqual(r.anomalies['offset-chain'], [
      { group: 'g', key: 'in', kind: 'overlap', prev: { op: 2, from: 0, to: 1 }, next: { op: 4, from: 0, to: 1 } },
    ]);
  });

  it('offset gap: a copier resumed from the offsets of an aborted transaction', () => {
    const r = checkHistory(
      [
        txn(0, 'ok', send('in', 0, 'a'), send('in', 1, 'b'), send('in', 2, 'c')),
        txn(1, 'ok', mop.poll({ in: [[0, 'a']] }), send('out', 0, 'a-c@1'), mop.offsets('g', { in: [0, 1] })),
        txn(1, 'fail', mop.poll({ in: [[1, 'b']] }), send('out', 2, 'b-c@2'), mop.offsets('g', { in: [1, 2] })),
        txn(2, 'ok', mop.poll({ in: [[2, 'c']] }), send('out', 4, 'c-c@3'), mop.offsets('g', { in: [2, 3] })),
      ],
      OPTS,
    );
    // The input b was never consumed by a committed copy, so it is also lost from the copier's view.
    expectBad(r, ['lost-write', 'offset-chain']);
    assert.deepEqual(r.anomalies['offset-chain'], [
      { group: 'g', key: 'in', kind: 'gap', prev: { op: 1, from: 0, to: 1 }, next: { op: 3, from: 2, to: 3 } },
    ]);
    assert.deepEqual(r.anomalies['lost-write']!.map((l) => l.value), ['b']);
  });

  it('malformed offsets micro-operations are rejected', () => {
    assert.throws(() => checkHistory([txn(1, 'ok', ['offsets', 'g', { in: [0, -1] }] as unknown as Mop)], OPTS), /bad offsets/);
  });
});
