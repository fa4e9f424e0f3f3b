// librdkafka's transactional producer (confluent-kafka-python 1.7.0, librdkafka 2.0.2) against Fjord:
// commit and abort across partitions with read_committed and read_uncommitted consumers, the LSO held
// by an open transaction (also as ListOffsets "latest" for read_committed, which librdkafka's
// get_watermark_offsets asks with the consumer's isolation level), zombie fencing, offsets sent to a
// transaction, and a transaction aborted by its timeout. The scenarios run in py/txn_confluent.py;
// this file judges what they observed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { runPyJson } from './helpers.js';

type Rec = [number, number, string | null, string | null];
interface Read { records: Rec[]; errors: string[]; complete: boolean; watermarks: Record<string, [number, number]> }
interface Both { read_committed: Read; read_uncommitted: Read }

let running: RunningBroker;

before(async () => {
  running = await startBroker({
    config: {
      'group.initial.rebalance.delay.ms': '0',
      'transaction.max.timeout.ms': '60000',
      'offsets.topic.num.partitions': '5',
      'transaction.state.log.num.partitions': '5',
    },
  });
});
after(async () => {
  await running.close();
});

function scenario<T>(name: string, topic: string, partitions: number): Promise<T> {
  running.broker.logs.createTopic(topic, partitions, {}, randomUUID());
  return runPyJson<T>('txn_confluent.py', [name, running.bootstrapServers, topic, String(partitions)], { timeoutMs: 90_000 });
}

/** Records per partition as [offset, key, value], in offset order. */
function byPartition(r: Read): Record<string, Array<[number, string | null, string | null]>> {
  assert.deepEqual(r.errors, [], 'consumer errors');
  assert.ok(r.complete, 'the consumer reached the end of every partition');
  const out: Record<string, Array<[number, string | null, string | null]>> = {};
  for (const [p, o, k, v] of [...r.records].sort((a, b) => a[0] - b[0] || a[1] - b[1])) (out[String(p)] ??= []).push([o, k, v]);
  return out;
}

const FENCED = /_FENCED|PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/;

test('librdkafka transactions: read_committed sees exactly the committed records, read_uncommitted also the aborted ones', { timeout: 120_000 }, async () => {
  const r = await scenario<Both>('commit_abort', 'rdk-txn-basic', 3);
  // Four transactions of 3 records per partition, commit/abort/commit/abort; each ends with a marker.
  const expectAll: Record<string, Array<[number, string, string]>> = {};
  const expectCommitted: Record<string, Array<[number, string, string]>> = {};
  for (let p = 0; p < 3; p++) {
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3; i++) {
        const rec: [number, string, string] = [round * 4 + i, `k-${round}-${p}-${i}`, `${round % 2 === 0 ? 'committed' : 'aborted'}-${round}-${p}-${i}`];
        (expectAll[String(p)] ??= []).push(rec);
        if (round % 2 === 0) (expectCommitted[String(p)] ??= []).push(rec);
      }
    }
  }
  assert.deepEqual(byPartition(r.read_committed), expectCommitted);
  assert.deepEqual(byPartition(r.read_uncommitted), expectAll);
  for (let p = 0; p < 3; p++) {
    assert.deepEqual(r.read_committed.watermarks[String(p)], [0, 16], 'no open transaction: the LSO is the log end');
    assert.deepEqual(r.read_uncommitted.watermarks[String(p)], [0, 16]);
  }
});

test('librdkafka: an open transaction holds read_committed at the LSO (Fetch and ListOffsets) until it commits', { timeout: 120_000 }, async () => {
  const r = await scenario<{ open: Both; closed: Both }>('lso', 'rdk-txn-lso', 1);
  const all: Array<[number, string, string]> = [[0, 'before', 'before-0'], [1, 'txn', 'txn-0'], [2, 'after', 'after-0'], [3, 'after', 'after-1'], [4, 'after', 'after-2']];
  assert.deepEqual(byPartition(r.open.read_uncommitted), { 0: all }, 'read_uncommitted sees the later records at once');
  assert.deepEqual(byPartition(r.open.read_committed), { 0: [all[0]!] }, 'read_committed stops at the open transaction\'s first record');
  assert.deepEqual(r.open.read_committed.watermarks['0'], [0, 1], 'ListOffsets latest, read_committed: the LSO');
  assert.deepEqual(r.open.read_uncommitted.watermarks['0'], [0, 5], 'ListOffsets latest, read_uncommitted: the high watermark');
  assert.deepEqual(byPartition(r.closed.read_committed), { 0: all }, 'after the commit read_committed sees everything');
  assert.deepEqual(r.closed.read_committed.watermarks['0'], [0, 6], 'after the commit marker the LSO is the log end');
});

test('librdkafka: a second producer with the same transactional id fences the first; the zombie\'s records never appear', { timeout: 120_000 }, async () => {
  const r = await scenario<Both & { send_failures: string[]; send_error: string | null; commit_error: string | null }>('fence', 'rdk-txn-fence', 2);
  const zombieFailure = [r.send_error ?? '', ...r.send_failures].join(' | ');
  assert.match(zombieFailure, FENCED, `the zombie's late send fails as fenced: ${zombieFailure}`);
  assert.ok(r.commit_error !== null, 'the zombie\'s commit fails');
  assert.match(r.commit_error, FENCED);
  // Offsets: zombie record 0, the abort marker written when the successor initialised 1, successor 2, marker 3.
  assert.deepEqual(byPartition(r.read_committed), { 0: [[2, 's', 'successor-0']], 1: [[2, 's', 'successor-1']] });
  assert.deepEqual(byPartition(r.read_uncommitted), { 0: [[0, 'z', 'zombie-0'], [2, 's', 'successor-0']], 1: [[0, 'z', 'zombie-1'], [2, 's', 'successor-1']] }, 'the fenced send was refused, not stored');
});

test('librdkafka send_offsets_to_transaction: the group\'s offsets change on commit, never on abort', { timeout: 120_000 }, async () => {
  const r = await scenario<Record<string, Record<string, number>>>('offsets', 'rdk-txn-offsets', 2);
  assert.deepEqual(r, {
    initial: { 0: -1001, 1: -1001 },
    after_commit: { 0: 5, 1: 7 },
    after_abort: { 0: 5, 1: 7 },
    after_second_commit: { 0: 5, 1: 12 },
  });
});

test('librdkafka: a transaction stalled past transaction.timeout.ms is aborted by the broker; its commit fails', { timeout: 120_000 }, async () => {
  const r = await scenario<Both & { commit_error: string | null }>('timeout', 'rdk-txn-timeout', 1);
  assert.ok(r.commit_error !== null, 'the late commit fails');
  assert.match(r.commit_error, FENCED, r.commit_error);
  assert.deepEqual(byPartition(r.read_committed), { 0: [[2, 'later', 'later-0']] }, 'the stalled record never becomes visible');
  assert.deepEqual(byPartition(r.read_uncommitted), { 0: [[0, 'stalled', 'stalled-0'], [2, 'later', 'later-0']] });
  assert.equal(running.broker.transactions.coordinator.transaction('rdk-stalled')?.state, 'CompleteAbort');
});
