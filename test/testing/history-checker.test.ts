// The history checker judges torture runs, so it is tested both ways: each anomaly on a minimal
// hand-written history (found, and nothing else found), valid histories that must pass, and histories of a
// simulated correct queue that pass until one fault is injected.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HistoryRecorder,
  checkHistory,
  createIndexCounter,
  formatCheckResult,
  mergeHistories,
  mop,
  type AnomalyName,
  type CheckOptions,
  type CheckResult,
  type Mop,
  type Op,
  type Value,
} from '../../src/testing/history-checker.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';

type Done = 'ok' | 'info' | 'fail';
type Reads = Record<string, Array<[number, Value]>>;

const sendOp = (process: number, type: Done, ...sends: Array<[string, number | null, Value]>): Op => ({
  process,
  type,
  f: 'send',
  value: sends.map(([k, o, v]): Mop => ['send', k, [o, v]]),
});
const pollOp = (process: number, type: Done, reads: Reads, rebalanceKeys?: string[]): Op => {
  const op: Op = { process, type, f: 'poll', value: [['poll', reads]] };
  if (rebalanceKeys !== undefined) op.rebalanceKeys = rebalanceKeys;
  return op;
};
const txnOp = (process: number, type: Done, ...mops: Mop[]): Op => ({ process, type, f: 'txn', value: mops });
const sendM = (k: string, o: number | null, v: Value): Mop => ['send', k, [o, v]];
const pollM = (reads: Reads): Mop => ['poll', reads];
const assignOp = (process: number, ...keys: string[]): Op => ({ process, type: 'ok', f: 'assign', value: keys });
const subscribeOp = (process: number, ...keys: string[]): Op => ({ process, type: 'ok', f: 'subscribe', value: keys });

function expectOnly(result: CheckResult, names: AnomalyName[], valid = names.length === 0): void {
  const report = formatCheckResult(result, 10);
  assert.deepEqual(result.anomalyTypes, names, report);
  assert.equal(result.valid, valid, report);
}

describe('history checker: one anomaly per history', () => {
  it('inconsistent offsets: two values claimed for one offset', () => {
    const r = checkHistory([
      sendOp(0, 'ok', ['x', 0, 'a']),
      sendOp(1, 'ok', ['x', 0, 'b']),
      pollOp(2, 'ok', { x: [[0, 'a']] }),
      pollOp(3, 'ok', { x: [[0, 'b']] }),
    ]);
    expectOnly(r, ['inconsistent-offsets']);
    assert.deepEqual(r.anomalies['inconsistent-offsets'], [
      { key: 'x', offset: 0, values: ['a', 'b'], claimedBy: [[0, 2], [1, 3]] },
    ]);
  });

  it('duplicate: one value at two offsets', () => {
    const r = checkHistory([sendOp(0, 'ok', ['x', 0, 'a']), pollOp(1, 'ok', { x: [[0, 'a'], [1, 'a']] })]);
    expectOnly(r, ['duplicate']);
    assert.deepEqual(r.anomalies.duplicate, [{ key: 'x', value: 'a', offsets: [0, 1] }]);
  });

  it('lost write: an acknowledged value below what others read was never read', () => {
    const r = checkHistory([
      sendOp(0, 'ok', ['x', 0, 'a']),
      sendOp(0, 'ok', ['x', 1, 'b']),
      sendOp(0, 'ok', ['x', 2, 'c']),
      pollOp(1, 'ok', { x: [[0, 'a']] }),
      pollOp(2, 'ok', { x: [[2, 'c']] }),
    ]);
    expectOnly(r, ['lost-write']);
    assert.deepEqual(r.anomalies['lost-write'], [
      { key: 'x', value: 'b', offset: 1, writer: 1, writerType: 'ok', bound: { offset: 2, value: 'c', reader: 4 } },
    ]);
  });

  it('lost write: the unread half of an info transaction another poll proved committed (torn transaction)', () => {
    const r = checkHistory([
      txnOp(0, 'info', sendM('x', 0, 'a'), sendM('x', 1, 'b')),
      sendOp(1, 'ok', ['x', 2, 'c']),
      pollOp(2, 'ok', { x: [[0, 'a']] }),
      pollOp(3, 'ok', { x: [[2, 'c']] }),
    ]);
    expectOnly(r, ['lost-write']);
    assert.deepEqual(
      r.anomalies['lost-write']?.map((l) => [l.value, l.writerType]),
      [['b', 'info']],
    );
  });

  it('unseen (given end offsets): acknowledged past where the log now ends', () => {
    const history = [sendOp(0, 'ok', ['x', 0, 'a']), sendOp(0, 'ok', ['x', 1, 'b']), pollOp(1, 'ok', { x: [[0, 'a']] })];
    const r = checkHistory(history, { finalOffsets: { x: 1 } });
    expectOnly(r, ['unseen']);
    assert.deepEqual(r.anomalies.unseen, [
      { key: 'x', value: 'b', offset: 1, writer: 1, writerType: 'ok', endOffset: 1, endSource: 'given', maxReadOffset: 0 },
    ]);
    // Without end offsets the polls never reached offset 1, so nothing can be said.
    const inferred = checkHistory(history);
    expectOnly(inferred, []);
    assert.deepEqual(inferred.stats.unseenSkippedKeys, ['x']);
  });

  it('unseen (inferred): a committed value with no known offset, after polls reached the end', () => {
    const r = checkHistory([
      txnOp(0, 'info', sendM('x', null, 'a'), sendM('x', null, 'b')),
      pollOp(1, 'ok', { x: [[0, 'a']] }),
    ]);
    expectOnly(r, ['unseen']);
    assert.deepEqual(r.anomalies.unseen, [
      { key: 'x', value: 'b', offset: null, writer: 0, writerType: 'info', endOffset: 1, endSource: 'inferred', maxReadOffset: 0 },
    ]);
  });

  it('aborted read (G1a): an ok poll read a failed write', () => {
    const r = checkHistory([sendOp(0, 'fail', ['x', null, 'a']), pollOp(1, 'ok', { x: [[0, 'a']] })]);
    expectOnly(r, ['aborted-read']);
    assert.deepEqual(r.anomalies['aborted-read'], [{ key: 'x', value: 'a', offset: 0, reader: 1, writer: 0 }]);
  });

  it('own write in a transaction: a transaction polled what it sent', () => {
    const r = checkHistory([txnOp(0, 'ok', sendM('x', 0, 'a'), pollM({ x: [[0, 'a']] }))]);
    expectOnly(r, ['own-write-in-txn']);
    assert.deepEqual(r.anomalies['own-write-in-txn'], [{ key: 'x', value: 'a', offset: 0, op: 0 }]);
  });

  it('garbage read: a value nobody sent', () => {
    const r = checkHistory([pollOp(0, 'ok', { x: [[0, 'zz']] })]);
    expectOnly(r, ['garbage-read']);
    assert.deepEqual(r.anomalies['garbage-read'], [{ key: 'x', value: 'zz', offset: 0, reader: 0, readerType: 'ok' }]);
  });

  const threeSends = [sendOp(0, 'ok', ['x', 0, 'a']), sendOp(0, 'ok', ['x', 1, 'b']), sendOp(0, 'ok', ['x', 3, 'c'])];

  it('poll skip across operations of one process', () => {
    const r = checkHistory([
      ...threeSends,
      assignOp(1, 'x'),
      pollOp(1, 'ok', { x: [[0, 'a']] }),
      pollOp(1, 'ok', { x: [[3, 'c']] }),
      pollOp(2, 'ok', { x: [[1, 'b']] }),
    ]);
    expectOnly(r, ['poll-skip']);
    assert.deepEqual(r.anomalies['poll-skip'], [
      {
        key: 'x',
        process: 1,
        ops: [4, 5],
        from: { offset: 0, value: 'a' },
        to: { offset: 3, value: 'c' },
        delta: 2,
        skipped: [{ offset: 1, values: ['b'] }],
        skippedCount: 1,
      },
    ]);
  });

  it('poll skip inside one operation, unless the key was rebalanced during it', () => {
    const history = [...threeSends, pollOp(1, 'ok', { x: [[0, 'a'], [3, 'c']] }), pollOp(2, 'ok', { x: [[1, 'b']] })];
    expectOnly(checkHistory(history), ['poll-skip']);
    const rebalanced = [...threeSends, pollOp(1, 'ok', { x: [[0, 'a'], [3, 'c']] }, ['x']), pollOp(2, 'ok', { x: [[1, 'b']] })];
    expectOnly(checkHistory(rebalanced), []);
  });

  it('the gap a transaction marker leaves is not a skip', () => {
    // Offset 2 holds no record anyone saw (a commit marker), so 1 -> 3 is adjacent.
    const r = checkHistory([...threeSends, pollOp(1, 'ok', { x: [[0, 'a'], [1, 'b']] }), pollOp(1, 'ok', { x: [[3, 'c']] })]);
    expectOnly(r, []);
  });

  it('backward poll: a process reads again what it already read', () => {
    const r = checkHistory([
      ...threeSends,
      pollOp(1, 'ok', { x: [[0, 'a'], [1, 'b']] }),
      pollOp(1, 'ok', { x: [[1, 'b'], [3, 'c']] }),
    ]);
    expectOnly(r, ['backward-poll']);
    assert.deepEqual(r.anomalies['backward-poll'], [
      { key: 'x', process: 1, ops: [3, 4], from: { offset: 1, value: 'b' }, to: { offset: 1, value: 'b' }, delta: 0 },
    ]);
  });

  it('backward poll inside one operation', () => {
    const r = checkHistory([...threeSends, pollOp(1, 'ok', { x: [[1, 'b'], [0, 'a'], [3, 'c']] })]);
    // b -> a goes back; a -> c then jumps over b, which is a skip as well.
    expectOnly(r, ['poll-skip', 'backward-poll']);
    assert.equal(r.anomalies['backward-poll']?.[0]?.delta, -1);
  });

  it('assign drops tracking for keys no longer assigned; crash and info polls forget positions', () => {
    const r = checkHistory([
      ...threeSends,
      assignOp(1, 'x'),
      pollOp(1, 'ok', { x: [[1, 'b']] }),
      assignOp(1, 'y'),
      assignOp(1, 'x'),
      pollOp(1, 'ok', { x: [[0, 'a']] }),
      { process: 1, type: 'info', f: 'crash', value: [] },
      pollOp(1, 'ok', { x: [[3, 'c']] }),
      pollOp(1, 'info', {}),
      pollOp(1, 'ok', { x: [[0, 'a']] }),
    ]);
    expectOnly(r, []);
  });

  it('non-monotonic send: a later acknowledged send of one process lands earlier in the log', () => {
    const r = checkHistory([sendOp(0, 'ok', ['x', 1, 'a']), sendOp(0, 'ok', ['x', 0, 'b']), pollOp(1, 'ok', { x: [[0, 'b'], [1, 'a']] })]);
    expectOnly(r, ['non-monotonic-send']);
    assert.deepEqual(r.anomalies['non-monotonic-send'], [
      { key: 'x', process: 0, ops: [0, 1], from: { offset: 1, value: 'a' }, to: { offset: 0, value: 'b' }, delta: -1 },
    ]);
  });

  it('G1c: two transactions each read the other', () => {
    const r = checkHistory([
      txnOp(0, 'ok', sendM('x', 0, 'a'), pollM({ y: [[0, 'b']] })),
      txnOp(1, 'ok', sendM('y', 0, 'b'), pollM({ x: [[0, 'a']] })),
    ]);
    expectOnly(r, ['G1c']);
    assert.deepEqual(r.anomalies.G1c, [
      {
        ops: [0, 1],
        steps: [
          { from: 0, to: 1, key: 'x', value: 'a' },
          { from: 1, to: 0, key: 'y', value: 'b' },
        ],
      },
    ]);
  });

  it('exactly once: two committed transactions consumed one input', () => {
    const history = [
      sendOp(0, 'ok', ['in', 0, 1]),
      subscribeOp(1, 'in'),
      subscribeOp(2, 'in'),
      txnOp(1, 'ok', pollM({ in: [[0, 1]] }), sendM('out', 0, 100)),
      txnOp(2, 'ok', pollM({ in: [[0, 1]] }), sendM('out', 1, 200)),
    ];
    const r = checkHistory(history, { exactlyOnce: true, subscription: true });
    expectOnly(r, ['exactly-once']);
    assert.deepEqual(r.anomalies['exactly-once'], [
      {
        key: 'in',
        value: 1,
        consumers: [
          { op: 3, process: 1, offset: 0, sent: [['out', 100]] },
          { op: 4, process: 2, offset: 0, sent: [['out', 200]] },
        ],
      },
    ]);
    expectOnly(checkHistory(history, { subscription: true }), []);
    // An aborted second consumption, or a manually assigned consumer, is no violation.
    const aborted = history.map((op, i) => (i === 4 ? { ...op, type: 'fail' as const } : op));
    expectOnly(checkHistory(aborted, { exactlyOnce: true, subscription: true }), []);
    const assigned = history.map((op, i) => (i === 2 ? assignOp(2, 'in') : op));
    expectOnly(checkHistory(assigned, { exactlyOnce: true, subscription: true }), []);
  });
});

describe('history checker: valid histories', () => {
  it('plain sends and polls with invocations, several processes and keys', () => {
    const rec = new HistoryRecorder();
    rec.invoke(0, 'send', [sendM('x', null, 1)]);
    rec.invoke(1, 'send', [sendM('y', null, 2)]);
    rec.ok(1, [sendM('y', 0, 2)]);
    rec.ok(0, [sendM('x', 0, 1)]);
    rec.invoke(2, 'assign', ['x', 'y']);
    rec.ok(2);
    rec.invoke(0, 'send', [sendM('x', null, 3), sendM('y', null, 4)]);
    rec.ok(0, [sendM('x', 1, 3), sendM('y', 1, 4)]);
    rec.invoke(2, 'poll', [pollM({})]);
    rec.ok(2, [pollM({ x: [[0, 1]], y: [[0, 2], [1, 4]] })]);
    rec.invoke(2, 'poll', [pollM({})]);
    rec.ok(2, [pollM({ x: [[1, 3]] })]);
    const r = checkHistory(rec.history());
    expectOnly(r, []);
    assert.equal(r.stats.invokes, 6);
    assert.equal(r.stats.unpairedCompletions, 0);
    assert.deepEqual(r.stats.unseenCheckedKeys, ['x', 'y']);
  });

  it('info sends whose values later appear: no lost write, and the writer counts as committed', () => {
    const r = checkHistory([
      sendOp(0, 'info', ['x', null, 'a']),
      sendOp(1, 'ok', ['x', 1, 'b']),
      sendOp(2, 'info', ['x', null, 'never']),
      { process: 3, type: 'invoke', f: 'send', value: [sendM('x', null, 'pending')] },
      pollOp(4, 'ok', { x: [[0, 'a'], [1, 'b'], [2, 'pending']] }),
    ]);
    expectOnly(r, []);
    // 'a' (info) and 'pending' (never completed, judged info) were read; 'never' was not and is not owed.
    assert.equal(r.stats.infoCommitted, 2);
    assert.equal(r.stats.unmatchedInvokes, 1);
    assert.equal(r.stats.committedValues, 3);
  });

  it('a committed info writer puts its acknowledged offsets in the order, so a skip over them is seen', () => {
    const r = checkHistory([
      sendOp(0, 'info', ['x', 0, 'a'], ['y', 0, 'b']),
      pollOp(1, 'ok', { y: [[0, 'b']] }),
      sendOp(2, 'ok', ['x', 1, 'c']),
      pollOp(3, 'ok', { x: [[1, 'c']] }),
    ]);
    // 'a' was proven by the read of 'b', sits below the read of 'c', and nobody read it.
    expectOnly(r, ['lost-write']);
  });

  it('rebalances under subscription: skips and rewinds are reported but allowed', () => {
    const history = [
      sendOp(0, 'ok', ['x', 0, 'a'], ['x', 1, 'b'], ['x', 2, 'c'], ['x', 3, 'd']),
      subscribeOp(1, 'x'),
      subscribeOp(2, 'x'),
      pollOp(1, 'ok', { x: [[0, 'a']] }),
      pollOp(2, 'ok', { x: [[1, 'b']] }),
      pollOp(1, 'ok', { x: [[2, 'c'], [3, 'd']] }),
      pollOp(2, 'ok', { x: [[1, 'b'], [2, 'c']] }, ['x']),
      pollOp(2, 'ok', { x: [[0, 'a']] }),
    ];
    const r = checkHistory(history, { subscription: true });
    expectOnly(r, ['poll-skip', 'backward-poll'], true);
    assert.deepEqual(r.badAnomalyTypes, []);
    expectOnly(checkHistory(history), ['poll-skip', 'backward-poll'], false);
    expectOnly(checkHistory(history, { allowed: ['poll-skip', 'backward-poll'] }), ['poll-skip', 'backward-poll'], true);
  });

  it('transactions whose writes interleave (G0 only) are valid', () => {
    const r = checkHistory([
      txnOp(0, 'ok', sendM('x', 0, 'a'), sendM('y', 1, 'd')),
      txnOp(1, 'ok', sendM('x', 1, 'b'), sendM('y', 0, 'c')),
      txnOp(2, 'ok', pollM({ x: [[0, 'a'], [1, 'b']], y: [[0, 'c'], [1, 'd']] }), sendM('z', 0, 'e')),
      txnOp(3, 'fail', sendM('z', null, 'f')),
    ]);
    expectOnly(r, ['G0'], true);
    assert.deepEqual(r.anomalies.G0?.[0]?.ops, [0, 1]);
    assert.equal(r.stats.transactions, 4);
  });
});

describe('history checker: malformed histories and reporting', () => {
  it('throws on a workload bug rather than reporting phantom anomalies', () => {
    assert.throws(
      () => checkHistory([{ process: 0, type: 'invoke', f: 'send', value: [] }, { process: 0, type: 'invoke', f: 'poll', value: [] }]),
      /in flight/,
    );
    assert.throws(() => checkHistory([{ process: 0, type: 'invoke', f: 'send', value: [] }, pollOp(0, 'ok', {})]), /completion for a send/);
    assert.throws(() => checkHistory([sendOp(0, 'ok', ['x', 0, 'a']), sendOp(1, 'ok', ['x', 1, 'a'])]), /sent to x by both/);
    assert.throws(() => checkHistory([pollOp(0, 'ok', { x: [[-1, 'a']] })]), /bad record/);
  });

  it('is deterministic and sorted regardless of the order keys appear in', () => {
    const build = (keys: string[]): Op[] => [
      ...keys.map((k, i) => sendOp(i, 'ok', [k, 0, 'a'], [k, 1, 'b'])),
      ...keys.map((k, i) => pollOp(10 + i, 'ok', { [k]: [[1, 'b']] })),
    ];
    const r1 = checkHistory(build(['b', 'a', 'c']));
    const r2 = checkHistory(build(['b', 'a', 'c']));
    assert.equal(JSON.stringify(r1), JSON.stringify(r2));
    assert.deepEqual(r1.anomalies['lost-write']?.map((l) => l.key), ['a', 'b', 'c']);
    assert.match(formatCheckResult(r1, 1), /lost-write: 3\n {2}\{"key":"a"[^\n]*\n {2}\.\.\. 2 more/);
  });

  it('HistoryRecorder pairs operations and shares an injected counter', () => {
    const counter = createIndexCounter(100);
    const a = new HistoryRecorder(counter);
    const b = new HistoryRecorder(counter);
    a.invoke(0, 'send', [sendM('x', null, 1)]);
    b.invoke(1, 'poll', [pollM({})]);
    assert.throws(() => a.invoke(0, 'poll'), /still in flight/);
    assert.throws(() => b.ok(7), /nothing in flight/);
    a.fail(0);
    b.ok(1, [pollM({})], { rebalanceKeys: ['x'] });
    b.invoke(1, 'poll', [mop.poll()]);
    b.closeAll();
    const h = mergeHistories(b.history(), a.history());
    assert.deepEqual(
      h.map((op) => [op.index, op.process, op.type, op.f]),
      [
        [100, 0, 'invoke', 'send'],
        [101, 1, 'invoke', 'poll'],
        [102, 0, 'fail', 'send'],
        [103, 1, 'ok', 'poll'],
        [104, 1, 'invoke', 'poll'],
        [105, 1, 'info', 'poll'],
      ],
    );
    assert.deepEqual(h[2]?.value, [sendM('x', null, 1)]);
    assert.deepEqual(h[3]?.rebalanceKeys, ['x']);
    assert.deepEqual(mop.send('x', 1, 5), sendM('x', 5, 1));
    expectOnly(checkHistory(h), []);
  });
});

// ---------------------------------------------------------------------------------------------------
// A simulated correct queue: append-only logs per key, transactions applied atomically at completion
// (aborted ones leave invisible records behind, commits leave a marker offset), read-committed
// consumers with per-key positions. Operations interleave across processes; outcomes are random.

interface Simulated {
  history: Op[];
  finalOffsets: Record<string, number>;
}

function simulate(seed: number, steps = 600, processes = 5, keyCount = 3): Simulated {
  const r = new SeededRandom(seed);
  const rec = new HistoryRecorder();
  const keys = Array.from({ length: keyCount }, (_, i) => `k${i}`);
  const logs = new Map<string, Array<{ offset: number; value: number; visible: boolean }>>(keys.map((k) => [k, []]));
  const end = new Map<string, number>(keys.map((k) => [k, 0]));
  const consumers = new Map<number, { assigned: Set<string>; pos: Map<string, number> }>();
  const pending = new Map<number, () => void>();
  let nextValue = 0;

  const consumer = (p: number): { assigned: Set<string>; pos: Map<string, number> } => {
    let c = consumers.get(p);
    if (c === undefined) consumers.set(p, (c = { assigned: new Set(), pos: new Map() }));
    return c;
  };
  const append = (key: string, value: number, visible: boolean): number => {
    const offset = end.get(key)!;
    logs.get(key)!.push({ offset, value, visible });
    end.set(key, offset + 1);
    return offset;
  };
  const marker = (key: string): void => void end.set(key, end.get(key)! + 1);
  /** Up to max visible records from pos; returns them and the position after. */
  const readFrom = (key: string, pos: number, max: number): { pairs: Array<[number, Value]>; next: number } => {
    const pairs: Array<[number, Value]> = [];
    for (const rec of logs.get(key)!) {
      if (rec.offset < pos) continue;
      if (rec.visible) {
        if (pairs.length === max) return { pairs, next: rec.offset };
        pairs.push([rec.offset, rec.value]);
      }
    }
    return { pairs, next: end.get(key)! };
  };
  const pollAssigned = (p: number, positions: Map<string, number>, max: () => number): Reads => {
    const reads: Reads = {};
    for (const k of [...consumer(p).assigned].sort()) {
      const { pairs, next } = readFrom(k, positions.get(k) ?? 0, max());
      positions.set(k, next);
      if (pairs.length > 0) reads[k] = pairs;
    }
    return reads;
  };

  const start = (p: number): void => {
    const roll = r.next();
    if (roll < 0.45) {
      const vs = Array.from({ length: r.int(1, 2) }, () => [r.pick(keys), nextValue++] as const);
      rec.invoke(p, 'send', vs.map(([k, v]) => sendM(k, null, v)));
      pending.set(p, () => {
        const outcome = r.next();
        if (outcome < 0.85) {
          rec.ok(p, vs.map(([k, v]) => sendM(k, append(k, v, true), v)));
          if (r.next() < 0.1) marker(r.pick(keys));
        } else if (outcome < 0.95) {
          if (r.bool()) for (const [k, v] of vs) append(k, v, true);
          rec.info(p);
        } else {
          rec.fail(p);
        }
      });
    } else if (roll < 0.75) {
      rec.invoke(p, 'poll', [pollM({})]);
      pending.set(p, () => {
        const reads = pollAssigned(p, consumer(p).pos, () => r.int(0, 3));
        if (r.next() < 0.95) rec.ok(p, [pollM(reads)]);
        else rec.info(p);
      });
    } else if (roll < 0.87) {
      const plan = Array.from({ length: r.int(1, 3) }, () => (r.bool() ? ({ poll: true } as const) : { key: r.pick(keys), value: nextValue++ }));
      rec.invoke(p, 'txn', plan.map((m) => ('poll' in m ? pollM({}) : sendM(m.key, null, m.value))));
      pending.set(p, () => {
        const outcome = r.next();
        const commit = outcome < 0.85 || (outcome >= 0.95 && r.bool());
        const positions = new Map(consumer(p).pos);
        const mops: Mop[] = [];
        const sends: Array<{ key: string; value: number; i: number }> = [];
        for (const m of plan) {
          if ('poll' in m) mops.push(pollM(pollAssigned(p, positions, () => r.int(0, 2))));
          else {
            sends.push({ key: m.key, value: m.value, i: mops.length });
            mops.push(sendM(m.key, null, m.value));
          }
        }
        for (const s of sends) {
          const offset = append(s.key, s.value, commit);
          mops[s.i] = sendM(s.key, offset, s.value);
        }
        for (const k of new Set(sends.map((s) => s.key))) marker(k);
        if (commit) consumer(p).pos = positions;
        if (outcome < 0.85) rec.ok(p, mops);
        else if (outcome < 0.95) rec.fail(p);
        else rec.info(p);
      });
    } else if (roll < 0.97) {
      const chosen = keys.filter(() => r.bool());
      if (chosen.length === 0) chosen.push(r.pick(keys));
      rec.invoke(p, 'assign', chosen);
      pending.set(p, () => {
        const c = consumer(p);
        c.assigned = new Set(chosen);
        for (const k of [...c.pos.keys()]) if (!c.assigned.has(k)) c.pos.delete(k);
        rec.ok(p);
      });
    } else {
      rec.invoke(p, 'crash', []);
      pending.set(p, () => {
        consumers.delete(p);
        rec.info(p);
      });
    }
  };

  for (let i = 0; i < steps; i++) {
    const p = r.int(0, processes - 1);
    const complete = pending.get(p);
    if (complete === undefined) start(p);
    else {
      pending.delete(p);
      complete();
    }
  }
  for (const p of [...pending.keys()].sort((a, b) => a - b)) pending.get(p)!();

  // Final catch-up: a fresh consumer reads every key to its end offset.
  const last = processes;
  rec.invoke(last, 'assign', keys);
  consumer(last).assigned = new Set(keys);
  rec.ok(last);
  while (keys.some((k) => (consumer(last).pos.get(k) ?? 0) < end.get(k)!)) {
    rec.invoke(last, 'poll', [pollM({})]);
    rec.ok(last, [pollM(pollAssigned(last, consumer(last).pos, () => 5))]);
  }
  return { history: rec.history(), finalOffsets: Object.fromEntries(end) };
}

function okPolls(history: readonly Op[]): Array<{ at: number; reads: Reads }> {
  const out: Array<{ at: number; reads: Reads }> = [];
  history.forEach((op, at) => {
    if (op.type !== 'ok' || op.f !== 'poll') return;
    const m = op.value[0] as Mop;
    if (m[0] === 'poll') out.push({ at, reads: m[1] as Reads });
  });
  return out;
}

function replacePoll(history: readonly Op[], at: number, reads: Reads): Op[] {
  return history.map((op, i) => (i === at ? { ...op, value: [pollM(reads)] } : op));
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

describe('history checker: simulated correct queue', () => {
  it('passes for every seed, with info writers, aborted transactions and crashes in the mix', () => {
    let infoCommitted = 0;
    let fails = 0;
    for (const seed of SEEDS) {
      const { history, finalOffsets } = simulate(seed);
      const opts: CheckOptions = { finalOffsets };
      const r = checkHistory(history, opts);
      assert.equal(r.valid, true, `seed ${seed}\n${formatCheckResult(r)}`);
      assert.deepEqual(r.anomalyTypes, [], `seed ${seed}\n${formatCheckResult(r)}`);
      assert.equal(r.stats.unseenCheckedKeys.length, 3, `seed ${seed}`);
      assert.ok(r.stats.readValues > 50, `seed ${seed}: only ${r.stats.readValues} values read`);
      assert.equal(checkHistory(history).valid, true, `seed ${seed} (inferred end offsets)`);
      infoCommitted += r.stats.infoCommitted;
      fails += r.stats.fail;
    }
    assert.ok(infoCommitted > 0, 'no seed exercised a committed info writer');
    assert.ok(fails > 0, 'no seed exercised a failed operation');
  });

  it('a dropped acknowledged value is a lost write', () => {
    for (const seed of SEEDS.slice(0, 6)) {
      const { history, finalOffsets } = simulate(seed);
      const r = new SeededRandom(seed * 7919);
      // An acknowledged plain send, below the highest offset polled for its key.
      const candidates: Array<{ key: string; offset: number; value: Value }> = [];
      for (const op of history) {
        if (op.type !== 'ok' || op.f !== 'send') continue;
        for (const m of op.value as readonly Mop[]) {
          if (m[0] === 'send' && m[2][0] !== null && m[2][0] < finalOffsets[m[1]]! - 3) candidates.push({ key: m[1], offset: m[2][0], value: m[2][1] });
        }
      }
      const victim = r.pick(candidates);
      let h: Op[] = [...history];
      for (const { at, reads } of okPolls(h)) {
        const pairs = reads[victim.key];
        if (pairs?.some(([o]) => o === victim.offset)) h = replacePoll(h, at, { ...reads, [victim.key]: pairs.filter(([o]) => o !== victim.offset) });
      }
      const result = checkHistory(h, { finalOffsets });
      const report = `seed ${seed}, dropped ${JSON.stringify(victim)}\n${formatCheckResult(result)}`;
      assert.equal(result.valid, false, report);
      assert.ok(result.anomalies['lost-write']?.some((l) => l.key === victim.key && l.value === victim.value), report);
      assert.deepEqual(
        result.badAnomalyTypes.filter((n) => n !== 'poll-skip'),
        ['lost-write'],
        report,
      );
    }
  });

  it('a value appearing twice in the log is a duplicate', () => {
    for (const seed of SEEDS.slice(0, 6)) {
      const { history, finalOffsets } = simulate(seed);
      const key = 'k1';
      const polls = okPolls(history).filter((p) => (p.reads[key]?.length ?? 0) > 0);
      const first = polls[0]!.reads[key]![0]!;
      const lastPoll = polls[polls.length - 1]!;
      const pairs = lastPoll.reads[key]!;
      const tail = pairs[pairs.length - 1]!;
      const h = replacePoll(history, lastPoll.at, { ...lastPoll.reads, [key]: [...pairs, [tail[0] + 1, first[1]]] });
      const result = checkHistory(h, { finalOffsets });
      const report = `seed ${seed}\n${formatCheckResult(result)}`;
      assert.deepEqual(result.badAnomalyTypes, ['duplicate'], report);
      assert.deepEqual(result.anomalies.duplicate, [{ key, value: first[1], offsets: [first[0], tail[0] + 1] }], report);
    }
  });

  it('two records with swapped offsets are inconsistent offsets', () => {
    for (const seed of SEEDS.slice(0, 6)) {
      const { history, finalOffsets } = simulate(seed);
      const r = new SeededRandom(seed * 104729);
      const candidates = okPolls(history).flatMap((p) =>
        Object.entries(p.reads)
          .filter(([, pairs]) => pairs.length >= 2)
          .map(([key, pairs]) => ({ ...p, key, pairs })),
      );
      const victim = r.pick(candidates);
      const [[o1, v1], [o2, v2], ...rest] = victim.pairs as [[number, Value], [number, Value], ...Array<[number, Value]>];
      const h = replacePoll(history, victim.at, { ...victim.reads, [victim.key]: [[o1, v2], [o2, v1], ...rest] });
      const result = checkHistory(h, { finalOffsets });
      const report = `seed ${seed}, swapped ${victim.key}@${o1}/${o2} in history[${victim.at}]\n${formatCheckResult(result)}`;
      assert.equal(result.valid, false, report);
      assert.deepEqual(
        result.anomalies['inconsistent-offsets']?.map((d) => [d.key, d.offset]),
        [
          [victim.key, o1],
          [victim.key, o2],
        ],
        report,
      );
    }
  });

  it('stays fast on a long history', () => {
    const { history, finalOffsets } = simulate(99, 20_000, 10, 4);
    const r = checkHistory(history, { finalOffsets });
    assert.equal(r.valid, true, formatCheckResult(r));
    assert.ok(r.stats.ops > 20_000);
  });
});
