// The transaction coordinator as a pure state machine: requests, marker completions and time in;
// __transaction_state records, marker requests and responses out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransactionCoordinator, TRANSACTIONAL_IDS_MAX, type Effects, type MarkerRequest } from '../../src/coordinator/transaction/transaction-coordinator.js';
import {
  parseTransactionLogRecord,
  transactionLogKey,
  transactionLogValue,
  transactionStatePartitionFor,
  type TransactionStateRecord,
} from '../../src/coordinator/transaction/transaction-log-records.js';
import { TransactionMetadata, type TransactionState } from '../../src/coordinator/transaction/transaction-metadata.js';
import { Reader } from '../../src/protocol/reader.js';
import { decodeTransactionLogKey } from '../../src/protocol/generated/transaction-log-key.js';
import { decodeTransactionLogValue } from '../../src/protocol/generated/transaction-log-value.js';
import { defaultInitProducerIdRequest, type InitProducerIdRequest } from '../../src/protocol/generated/init-producer-id.js';
import { defaultAddPartitionsToTxnRequest, type AddPartitionsToTxnResponse } from '../../src/protocol/generated/add-partitions-to-txn.js';
import type { Encodable } from '../../src/protocol/encodable.js';
import { defaultListTransactionsRequest } from '../../src/protocol/generated/list-transactions.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const CONFIG = { transactionMaxTimeoutMs: 900_000, transactionalIdExpirationMs: 7 * 24 * 3600_000, numPartitions: 50 };
const TIMEOUT_MS = 60_000;
const MAX_EPOCH = 32767;

function coordinator(config: Partial<typeof CONFIG> = {}, firstProducerId = 1000): { c: TransactionCoordinator; allocated: () => number } {
  let next = firstProducerId;
  let count = 0;
  const c = new TransactionCoordinator({ ...CONFIG, ...config }, () => {
    count++;
    return next++;
  });
  return { c, allocated: () => count };
}

let token = 0;
const meta = (version: number) => ({ version, token: ++token });
type Topics = Array<{ name: string; partitions: number[] }>;

function init(c: TransactionCoordinator, id: string, now: number, extra: Partial<InitProducerIdRequest> = {}, version = 4) {
  return c.handleInitProducerId({ ...defaultInitProducerIdRequest(), transactionalId: id, transactionTimeoutMs: TIMEOUT_MS, ...extra }, meta(version), now);
}

function add(c: TransactionCoordinator, id: string, pid: number, epoch: number, topics: Topics, now: number, version = 3, partitionExists?: (t: string, p: number) => boolean) {
  const req = { ...defaultAddPartitionsToTxnRequest(), v3AndBelowTransactionalId: id, v3AndBelowProducerId: BigInt(pid), v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: topics };
  return partitionExists === undefined ? c.handleAddPartitionsToTxn(req, meta(version), now) : c.handleAddPartitionsToTxn(req, meta(version), now, partitionExists);
}

function addBatch(c: TransactionCoordinator, txns: Array<{ id: string; pid: number; epoch: number; verifyOnly: boolean; topics: Topics }>, now: number, version = 5) {
  return c.handleAddPartitionsToTxn(
    { ...defaultAddPartitionsToTxnRequest(), transactions: txns.map((t) => ({ transactionalId: t.id, producerId: BigInt(t.pid), producerEpoch: t.epoch, verifyOnly: t.verifyOnly, topics: t.topics })) },
    meta(version),
    now,
  );
}

function end(c: TransactionCoordinator, id: string, pid: number, epoch: number, commit: boolean, now: number, version = 3) {
  return c.handleEndTxn({ transactionalId: id, producerId: BigInt(pid), producerEpoch: epoch, committed: commit }, meta(version), now);
}

function addOffsets(c: TransactionCoordinator, id: string, pid: number, epoch: number, now: number, version = 3) {
  return c.handleAddOffsetsToTxn({ transactionalId: id, producerId: BigInt(pid), producerEpoch: epoch, groupId: 'group-1' }, meta(version), now, (g) => (g === 'group-1' ? 7 : 0));
}

/** Every partition error code of a v0-3 AddPartitionsToTxn response, in request order. */
function codesV3(e: Effects<Encodable<AddPartitionsToTxnResponse>>): number[] {
  return (e.response?.resultsByTopicV3AndBelow ?? []).flatMap((t) => (t.resultsByPartition ?? []).map((p) => p.partitionErrorCode ?? 0));
}

function describe(c: TransactionCoordinator, id: string, now = 0) {
  return c.handleDescribeTransactions({ transactionalIds: [id] }, now).transactionStates![0]!;
}

function stateOf(rec: TransactionStateRecord): TransactionState | null {
  const p = parseTransactionLogRecord(rec.key, rec.value);
  assert.equal(p.kind, 'transaction');
  return p.kind === 'transaction' ? (p.value?.state ?? null) : null;
}

/** Puts a transactional id into an arbitrary state the way a restart would: through replay. */
function seed(c: TransactionCoordinator, fill: (m: TransactionMetadata) => void): void {
  const m = new TransactionMetadata('seeded', 500, 0, TIMEOUT_MS, 0);
  fill(m);
  c.replay(transactionLogKey(m.transactionalId), transactionLogValue(m));
}

const T1: Topics = [{ name: 'orders', partitions: [1, 0] }];

// ---------- InitProducerId ----------

test('InitProducerId for a new transactional id allocates a producer id at epoch 0 and writes an Empty record', () => {
  const { c, allocated } = coordinator();
  const e = init(c, 'tx', 5);
  assert.deepEqual(e.response, { errorCode: 0, producerId: 1000n, producerEpoch: 0 });
  assert.equal(allocated(), 1);
  assert.equal(e.records.length, 1);
  const rec = e.records[0]!;
  assert.equal(rec.partition, transactionStatePartitionFor('tx', CONFIG.numPartitions));
  const parsed = parseTransactionLogRecord(rec.key, rec.value);
  assert.ok(parsed.kind === 'transaction' && parsed.value !== null);
  assert.equal(parsed.transactionalId, 'tx');
  assert.equal(parsed.value.state, 'Empty');
  assert.equal(parsed.value.producerId, 1000);
  assert.equal(parsed.value.producerEpoch, 0);
  assert.equal(parsed.value.txnTimeoutMs, TIMEOUT_MS);
  assert.equal(parsed.value.txnStartTimestamp, -1);
  assert.equal(parsed.value.txnLastUpdateTimestamp, 5);
  // A second InitProducerId (a new producer instance) bumps the epoch under the same producer id.
  const again = init(c, 'tx', 6);
  assert.deepEqual(again.response, { errorCode: 0, producerId: 1000n, producerEpoch: 1 });
  assert.equal(allocated(), 1);
});

test('InitProducerId refuses bad timeouts, an empty id, and half a KIP-360 identity', () => {
  const { c } = coordinator();
  assert.equal(init(c, 'tx', 0, { transactionTimeoutMs: CONFIG.transactionMaxTimeoutMs + 1 }).response?.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal(init(c, 'tx', 0, { transactionTimeoutMs: 0 }).response?.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal(init(c, 'tx', 0, { transactionTimeoutMs: CONFIG.transactionMaxTimeoutMs }).response?.errorCode, 0);
  assert.equal(init(c, '', 0).response?.errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(init(c, 'tx', 0, { producerId: 1000n, producerEpoch: -1 }, 3).response?.errorCode, ErrorCode.INVALID_REQUEST);
  const failed = init(c, 'other', 0, { transactionTimeoutMs: -5 });
  assert.deepEqual(failed.response, { errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT, producerId: -1n, producerEpoch: -1 });
  assert.equal(failed.records.length, 0);
  assert.equal(c.transaction('other'), undefined);
});

test('KIP-360: a retried InitProducerId gets the same answer; a stale epoch is fenced (INVALID_PRODUCER_EPOCH before v4)', () => {
  const { c } = coordinator();
  init(c, 'tx', 0); // epoch 0
  const bumped = init(c, 'tx', 1, { producerId: 1000n, producerEpoch: 0 }, 4);
  assert.deepEqual(bumped.response, { errorCode: 0, producerId: 1000n, producerEpoch: 1 });
  // The producer never saw that answer and retries with the epoch it had.
  const retry = init(c, 'tx', 2, { producerId: 1000n, producerEpoch: 0 }, 4);
  assert.deepEqual(retry.response, { errorCode: 0, producerId: 1000n, producerEpoch: 1 });
  // Another instance initializes (no identity): the old epoch is no longer the last one.
  assert.equal(init(c, 'tx', 3).response?.producerEpoch, 2);
  assert.equal(init(c, 'tx', 4, { producerId: 1000n, producerEpoch: 0 }, 4).response?.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(init(c, 'tx', 4, { producerId: 1000n, producerEpoch: 0 }, 3).response?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  // An id that is neither the current nor the previous one.
  assert.equal(init(c, 'tx', 5, { producerId: 77n, producerEpoch: 2 }, 4).response?.errorCode, ErrorCode.PRODUCER_FENCED);
  // The current identity continues.
  assert.deepEqual(init(c, 'tx', 6, { producerId: 1000n, producerEpoch: 2 }, 4).response, { errorCode: 0, producerId: 1000n, producerEpoch: 3 });
});

test('epoch exhaustion: at Short.MAX-1 InitProducerId rotates to a new producer id at epoch 0, and a retry of that call gets the same result', () => {
  const { c, allocated } = coordinator();
  seed(c, (m) => {
    m.producerEpoch = MAX_EPOCH - 1;
    m.state = 'CompleteCommit';
    m.txnStartTimestamp = 1;
  });
  const rotated = init(c, 'seeded', 10, { producerId: 500n, producerEpoch: MAX_EPOCH - 1 }, 4);
  assert.deepEqual(rotated.response, { errorCode: 0, producerId: 1000n, producerEpoch: 0 });
  assert.equal(allocated(), 1);
  const retry = init(c, 'seeded', 11, { producerId: 500n, producerEpoch: MAX_EPOCH - 1 }, 4);
  assert.deepEqual(retry.response, { errorCode: 0, producerId: 1000n, producerEpoch: 0 });
  assert.equal(allocated(), 1, 'the retry allocates nothing');

  const other = coordinator();
  seed(other.c, (m) => {
    m.producerEpoch = MAX_EPOCH - 1;
  });
  assert.deepEqual(init(other.c, 'seeded', 10).response, { errorCode: 0, producerId: 1000n, producerEpoch: 0 });
});

test('InitProducerId while a transaction is Ongoing fences it: epoch bump, PrepareAbort, markers, CONCURRENT_TRANSACTIONS', () => {
  const { c } = coordinator();
  init(c, 'tx', 0);
  add(c, 'tx', 1000, 0, T1, 1);
  const e = init(c, 'tx', 2);
  assert.deepEqual(e.response, { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, producerId: -1n, producerEpoch: -1 });
  assert.deepEqual(e.records.map(stateOf), ['PrepareAbort']);
  assert.deepEqual(e.markers, [
    { transactionalId: 'tx', producerId: 1000, producerEpoch: 1, commit: false, coordinatorEpoch: 0, partitions: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }] },
  ]);
  // The old producer is fenced.
  assert.deepEqual(codesV3(add(c, 'tx', 1000, 0, [{ name: 'orders', partitions: [2] }], 3)), [ErrorCode.PRODUCER_FENCED]);
  // While the markers are written the new producer is told to retry.
  assert.equal(init(c, 'tx', 3).response?.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  const done = c.markersWritten('tx', 1000, 1, 4);
  assert.deepEqual(done.records.map(stateOf), ['CompleteAbort']);
  assert.deepEqual(init(c, 'tx', 5).response, { errorCode: 0, producerId: 1000n, producerEpoch: 2 });
});

test('TRANSACTIONAL_IDS_MAX bounds new ids (COORDINATOR_NOT_AVAILABLE); existing ids keep working', () => {
  const { c } = coordinator();
  for (let i = 0; i < TRANSACTIONAL_IDS_MAX; i++) seedId(c, `t${i}`);
  assert.equal(c.transactionalIds().length, TRANSACTIONAL_IDS_MAX);
  assert.equal(init(c, 'one-too-many', 0).response?.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(c.transaction('one-too-many'), undefined);
  assert.equal(init(c, 't5', 0).response?.errorCode, 0);
});

function seedId(c: TransactionCoordinator, id: string): void {
  const m = new TransactionMetadata(id, 1, 0, TIMEOUT_MS, 0);
  c.replay(transactionLogKey(id), transactionLogValue(m));
}

// ---------- AddPartitionsToTxn / AddOffsetsToTxn ----------

test('AddPartitionsToTxn moves Empty to Ongoing, records the start time, and writes nothing for partitions already in', () => {
  const { c } = coordinator();
  init(c, 'tx', 0);
  const e = add(c, 'tx', 1000, 0, T1, 100);
  assert.deepEqual(codesV3(e), [0, 0]);
  assert.deepEqual(e.records.map(stateOf), ['Ongoing']);
  const d = describe(c, 'tx');
  assert.equal(d.transactionState, 'Ongoing');
  assert.equal(d.transactionStartTimeMs, 100n);
  assert.deepEqual(d.topics, [{ topic: 'orders', partitions: [0, 1] }]);
  const again = add(c, 'tx', 1000, 0, [{ name: 'orders', partitions: [0] }], 200);
  assert.deepEqual(codesV3(again), [0]);
  assert.equal(again.records.length, 0);
  const more = add(c, 'tx', 1000, 0, [{ name: 'payments', partitions: [3] }], 300);
  assert.equal(more.records.length, 1);
  assert.equal(describe(c, 'tx').transactionStartTimeMs, 100n, 'the start time is the first add');
  assert.deepEqual(describe(c, 'tx').topics, [{ topic: 'orders', partitions: [0, 1] }, { topic: 'payments', partitions: [3] }]);
});

test('AddPartitionsToTxn errors: unknown id or producer id, fenced epoch by version, unknown partitions', () => {
  const { c } = coordinator();
  assert.deepEqual(codesV3(add(c, 'nobody', 1000, 0, T1, 0)), [ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
  init(c, 'tx', 0);
  init(c, 'tx', 0); // epoch 1
  assert.deepEqual(codesV3(add(c, 'tx', 999, 1, T1, 0)), [ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
  assert.deepEqual(codesV3(add(c, 'tx', 1000, 0, T1, 0, 2)), [ErrorCode.PRODUCER_FENCED, ErrorCode.PRODUCER_FENCED]);
  assert.deepEqual(codesV3(add(c, 'tx', 1000, 0, T1, 0, 1)), [ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_PRODUCER_EPOCH]);
  assert.deepEqual(codesV3(add(c, 'tx', 1000, 0, T1, 0, 0)), [ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_PRODUCER_EPOCH]);
  assert.deepEqual(codesV3(add(c, '', 1000, 1, T1, 0)), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
  // One unknown partition: it is UNKNOWN_TOPIC_OR_PARTITION, the others are not attempted, nothing changes.
  const e = add(c, 'tx', 1000, 1, [{ name: 'orders', partitions: [0, 9] }, { name: 'payments', partitions: [0] }], 0, 3, (t, p) => t !== 'orders' || p < 2);
  assert.deepEqual(codesV3(e), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.OPERATION_NOT_ATTEMPTED]);
  assert.equal(e.records.length, 0);
  assert.equal(c.transaction('tx')!.state, 'Empty');
  assert.deepEqual(codesV3(add(c, 'tx', 1000, 1, T1, 0, 3, () => true)), [0, 0]);
});

test('AddOffsetsToTxn adds the group\'s __consumer_offsets partition', () => {
  const { c } = coordinator();
  init(c, 'tx', 0);
  const e = addOffsets(c, 'tx', 1000, 0, 10);
  assert.deepEqual(e.response, { errorCode: 0 });
  assert.deepEqual(e.records.map(stateOf), ['Ongoing']);
  assert.deepEqual(describe(c, 'tx').topics, [{ topic: '__consumer_offsets', partitions: [7] }]);
  assert.equal(addOffsets(c, 'tx', 1000, 5, 10, 1).response?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(addOffsets(c, 'tx', 1000, 5, 10, 2).response?.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(addOffsets(c, 'tx', 1, 0, 10).response?.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
});

test('AddPartitionsToTxn v4+: a batch per transaction; VerifyOnly answers without changing anything', () => {
  const { c } = coordinator();
  init(c, 'a', 0); // pid 1000
  init(c, 'b', 0); // pid 1001
  add(c, 'a', 1000, 0, [{ name: 'orders', partitions: [0] }], 1);
  const verify = (version: number) =>
    addBatch(
      c,
      [
        { id: 'a', pid: 1000, epoch: 0, verifyOnly: true, topics: [{ name: 'orders', partitions: [0, 1] }] },
        { id: 'b', pid: 1001, epoch: 3, verifyOnly: true, topics: [{ name: 'orders', partitions: [0] }] },
      ],
      2,
      version,
    );
  const v5 = verify(5);
  assert.equal(v5.records.length, 0);
  assert.equal(v5.response?.errorCode, 0);
  assert.deepEqual(v5.response?.resultsByTransaction, [
    { transactionalId: 'a', topicResults: [{ name: 'orders', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: 0 }, { partitionIndex: 1, partitionErrorCode: ErrorCode.TRANSACTION_ABORTABLE }] }] },
    { transactionalId: 'b', topicResults: [{ name: 'orders', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: ErrorCode.PRODUCER_FENCED }] }] },
  ]);
  const v4 = verify(4);
  assert.equal(v4.response?.resultsByTransaction?.[0]?.topicResults?.[0]?.resultsByPartition?.[1]?.partitionErrorCode, ErrorCode.INVALID_TXN_STATE);
  assert.deepEqual(describe(c, 'a').topics, [{ topic: 'orders', partitions: [0] }]);
  assert.equal(c.transaction('b')!.state, 'Empty');
  // Not VerifyOnly: a partition leader adds the partition for a transaction-version-2 producer.
  const added = addBatch(c, [{ id: 'b', pid: 1001, epoch: 0, verifyOnly: false, topics: [{ name: 'orders', partitions: [4] }] }], 3);
  assert.equal(added.response?.resultsByTransaction?.[0]?.topicResults?.[0]?.resultsByPartition?.[0]?.partitionErrorCode, 0);
  assert.deepEqual(added.records.map(stateOf), ['Ongoing']);
  assert.equal(c.transaction('b')!.clientTransactionVersion, 2);
  assert.equal(added.records[0]!.value!.readInt16BE(0), 1, 'a TV2 transaction is written with value version 1');
});

// ---------- EndTxn (before KIP-890 part 2) ----------

test('commit: PrepareCommit record and markers, retries while completing, CompleteCommit after markers, then retry rules', () => {
  const { c } = coordinator();
  init(c, 'tx', 0);
  add(c, 'tx', 1000, 0, T1, 1);
  addOffsets(c, 'tx', 1000, 0, 2);
  const e = end(c, 'tx', 1000, 0, true, 3);
  assert.deepEqual(e.response, { errorCode: 0, producerId: -1n, producerEpoch: -1 });
  assert.deepEqual(e.records.map(stateOf), ['PrepareCommit']);
  const marker: MarkerRequest = {
    transactionalId: 'tx',
    producerId: 1000,
    producerEpoch: 0,
    commit: true,
    coordinatorEpoch: 0,
    partitions: [{ topic: '__consumer_offsets', partition: 7 }, { topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }],
  };
  assert.deepEqual(e.markers, [marker]);
  assert.equal(describe(c, 'tx').transactionState, 'PrepareCommit');
  // While the markers are being written.
  assert.equal(end(c, 'tx', 1000, 0, true, 4).response?.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(end(c, 'tx', 1000, 0, false, 4).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.deepEqual(codesV3(add(c, 'tx', 1000, 0, [{ name: 'orders', partitions: [5] }], 4)), [ErrorCode.CONCURRENT_TRANSACTIONS]);
  assert.equal(init(c, 'tx', 4).response?.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.deepEqual(c.pendingMarkers(), [marker]);
  // A stale completion (wrong epoch) changes nothing.
  assert.equal(c.markersWritten('tx', 1000, 7, 5).records.length, 0);
  const done = c.markersWritten('tx', 1000, 0, 5);
  assert.deepEqual(done.records.map(stateOf), ['CompleteCommit']);
  assert.deepEqual(describe(c, 'tx').topics, []);
  assert.deepEqual(c.pendingMarkers(), []);
  assert.equal(c.markersWritten('tx', 1000, 0, 6).records.length, 0, 'a second completion is ignored');
  // Retry of the commit: NONE. Abort of a committed transaction: INVALID_TXN_STATE.
  const retry = end(c, 'tx', 1000, 0, true, 6);
  assert.equal(retry.response?.errorCode, 0);
  assert.equal(retry.records.length, 0);
  assert.equal(end(c, 'tx', 1000, 0, false, 6).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
  // The next transaction starts from CompleteCommit.
  const next = add(c, 'tx', 1000, 0, [{ name: 'orders', partitions: [2] }], 7);
  assert.deepEqual(codesV3(next), [0]);
  assert.equal(describe(c, 'tx').transactionStartTimeMs, 7n);
  assert.deepEqual(describe(c, 'tx').topics, [{ topic: 'orders', partitions: [2] }]);
});

test('abort: PrepareAbort then CompleteAbort; abort retry NONE, commit after abort INVALID_TXN_STATE', () => {
  const { c } = coordinator();
  init(c, 'tx', 0);
  add(c, 'tx', 1000, 0, T1, 1);
  const e = end(c, 'tx', 1000, 0, false, 2);
  assert.equal(e.response?.errorCode, 0);
  assert.deepEqual(e.records.map(stateOf), ['PrepareAbort']);
  assert.equal(e.markers[0]!.commit, false);
  assert.equal(end(c, 'tx', 1000, 0, false, 3).response?.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(end(c, 'tx', 1000, 0, true, 3).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.deepEqual(c.markersWritten('tx', 1000, 0, 4).records.map(stateOf), ['CompleteAbort']);
  assert.equal(end(c, 'tx', 1000, 0, false, 5).response?.errorCode, 0);
  assert.equal(end(c, 'tx', 1000, 0, true, 5).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
});

test('EndTxn errors: Empty, unknown id, wrong producer id, wrong epoch (INVALID_PRODUCER_EPOCH before v2)', () => {
  const { c } = coordinator();
  assert.equal(end(c, 'nobody', 1000, 0, true, 0).response?.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  init(c, 'tx', 0);
  assert.equal(end(c, 'tx', 1000, 0, true, 0).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(end(c, 'tx', 1000, 0, false, 0).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
  add(c, 'tx', 1000, 0, T1, 1);
  assert.equal(end(c, 'tx', 42, 0, true, 2).response?.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(end(c, 'tx', 1000, 1, true, 2, 2).response?.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(end(c, 'tx', 1000, 1, true, 2, 1).response?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(end(c, '', 1000, 0, true, 2).response?.errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(c.transaction('tx')!.state, 'Ongoing');
});

// ---------- EndTxn v5+ (KIP-890 part 2) ----------

test('EndTxn v5 bumps the epoch at the end of every transaction: markers and response carry the bumped epoch', () => {
  const { c } = coordinator();
  init(c, 'tx', 0, {}, 5);
  addBatch(c, [{ id: 'tx', pid: 1000, epoch: 0, verifyOnly: false, topics: T1 }], 1);
  const e = end(c, 'tx', 1000, 0, true, 2, 5);
  assert.deepEqual(e.response, { errorCode: 0, producerId: 1000n, producerEpoch: 1 });
  assert.equal(e.markers.length, 1);
  assert.equal(e.markers[0]!.producerEpoch, 1);
  assert.equal(e.markers[0]!.commit, true);
  assert.deepEqual(e.records.map(stateOf), ['PrepareCommit']);
  // Retry with the old epoch while completing; the current epoch is not valid for a Prepare state.
  assert.equal(end(c, 'tx', 1000, 0, true, 3, 5).response?.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(end(c, 'tx', 1000, 1, true, 3, 5).response?.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.deepEqual(c.markersWritten('tx', 1000, 1, 4).records.map(stateOf), ['CompleteCommit']);
  // Retry after completion: NONE with the bumped epoch, nothing written.
  const retry = end(c, 'tx', 1000, 0, true, 5, 5);
  assert.deepEqual(retry.response, { errorCode: 0, producerId: 1000n, producerEpoch: 1 });
  assert.equal(retry.records.length, 0);
  // Same epoch means a new transaction: committing nothing is INVALID_TXN_STATE; an abort retry on commit too.
  assert.equal(end(c, 'tx', 1000, 1, true, 5, 5).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(end(c, 'tx', 1000, 0, false, 5, 5).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(end(c, 'tx', 1000, 5, false, 5, 5).response?.errorCode, ErrorCode.PRODUCER_FENCED);
  // Aborting with nothing added: bumped, PrepareAbort and CompleteAbort at once, no markers.
  const empty = end(c, 'tx', 1000, 1, false, 6, 5);
  assert.deepEqual(empty.response, { errorCode: 0, producerId: 1000n, producerEpoch: 2 });
  assert.deepEqual(empty.records.map(stateOf), ['PrepareAbort', 'CompleteAbort']);
  assert.deepEqual(empty.markers, []);
  // Retried abort: NONE.
  assert.deepEqual(end(c, 'tx', 1000, 1, false, 7, 5).response, { errorCode: 0, producerId: 1000n, producerEpoch: 2 });
  // The old producer (epoch 0) is two bumps behind.
  assert.equal(end(c, 'tx', 1000, 0, false, 7, 5).response?.errorCode, ErrorCode.PRODUCER_FENCED);
});

test('EndTxn v5 on Empty: abort is allowed (and bumps), commit is INVALID_TXN_STATE', () => {
  const { c } = coordinator();
  init(c, 'tx', 0, {}, 5);
  assert.equal(end(c, 'tx', 1000, 0, true, 1, 5).response?.errorCode, ErrorCode.INVALID_TXN_STATE);
  const e = end(c, 'tx', 1000, 0, false, 1, 5);
  assert.deepEqual(e.response, { errorCode: 0, producerId: 1000n, producerEpoch: 1 });
  assert.equal(describe(c, 'tx').transactionState, 'CompleteAbort');
});

test('EndTxn v5 at the last epoch continues under a new producer id; a retry is recognised across the rotation', () => {
  const { c, allocated } = coordinator();
  seed(c, (m) => {
    m.producerEpoch = MAX_EPOCH - 1;
    m.state = 'Ongoing';
    m.txnStartTimestamp = 1;
    m.clientTransactionVersion = 2;
    m.addPartition('orders', 0);
  });
  const e = end(c, 'seeded', 500, MAX_EPOCH - 1, true, 10, 5);
  assert.deepEqual(e.response, { errorCode: 0, producerId: 1000n, producerEpoch: 0 });
  assert.equal(allocated(), 1);
  assert.deepEqual(e.markers.map((m) => [m.producerId, m.producerEpoch]), [[500, MAX_EPOCH]]);
  // A restart while completing keeps the next producer id (value version 1 carries it).
  const restarted = coordinator().c;
  restarted.replay(e.records[0]!.key, e.records[0]!.value);
  assert.deepEqual(restarted.pendingMarkers().map((m) => [m.producerId, m.producerEpoch]), [[500, MAX_EPOCH]]);
  assert.deepEqual(restarted.markersWritten('seeded', 500, MAX_EPOCH, 11).records.map(stateOf), ['CompleteCommit']);
  assert.equal(restarted.transaction('seeded')!.producerId, 1000);
  // Back on the first coordinator.
  assert.deepEqual(c.markersWritten('seeded', 500, MAX_EPOCH, 11).records.map(stateOf), ['CompleteCommit']);
  assert.equal(describe(c, 'seeded').producerId, 1000n);
  assert.equal(describe(c, 'seeded').producerEpoch, 0);
  const retry = end(c, 'seeded', 500, MAX_EPOCH - 1, true, 12, 5);
  assert.deepEqual(retry.response, { errorCode: 0, producerId: 1000n, producerEpoch: 0 });
  assert.equal(retry.records.length, 0);
});

// ---------- time ----------

test('tick aborts a transaction past its timeout with an epoch bump, fencing the producer', () => {
  const { c } = coordinator();
  init(c, 'tx', 0);
  add(c, 'tx', 1000, 0, T1, 1000);
  assert.equal(c.nextDeadline(), 1000 + TIMEOUT_MS + 1);
  const early = c.tick(1000 + TIMEOUT_MS);
  assert.equal(early.records.length + early.markers.length, 0, 'Kafka aborts strictly after start + timeout');
  const e = c.tick(1000 + TIMEOUT_MS + 1);
  assert.deepEqual(e.records.map(stateOf), ['PrepareAbort']);
  assert.deepEqual(e.markers, [{ transactionalId: 'tx', producerId: 1000, producerEpoch: 1, commit: false, coordinatorEpoch: 0, partitions: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }] }]);
  // The timed-out producer is fenced everywhere.
  assert.deepEqual(codesV3(add(c, 'tx', 1000, 0, T1, 70_000)), [ErrorCode.PRODUCER_FENCED, ErrorCode.PRODUCER_FENCED]);
  assert.equal(end(c, 'tx', 1000, 0, true, 70_000, 1).response?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(end(c, 'tx', 1000, 0, true, 70_000, 3).response?.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.deepEqual(c.markersWritten('tx', 1000, 1, 70_001).records.map(stateOf), ['CompleteAbort']);
  assert.equal(end(c, 'tx', 1000, 0, false, 70_002, 3).response?.errorCode, ErrorCode.PRODUCER_FENCED);
  // The producer re-initializes and continues with a later epoch.
  assert.deepEqual(init(c, 'tx', 70_003).response, { errorCode: 0, producerId: 1000n, producerEpoch: 2 });
});

test('transactional ids idle past transactional.id.expiration.ms are removed with a tombstone; Ongoing ones are not', () => {
  const expiry = 1000;
  const { c } = coordinator({ transactionalIdExpirationMs: expiry });
  init(c, 'idle', 0);
  init(c, 'busy', 0);
  add(c, 'busy', 1001, 0, T1, 0);
  assert.equal(c.nextDeadline(), expiry);
  assert.equal(c.tick(expiry - 1).records.length, 0);
  const e = c.tick(expiry);
  assert.equal(e.records.length, 1);
  assert.equal(e.records[0]!.value, null);
  assert.equal(e.records[0]!.partition, transactionStatePartitionFor('idle', CONFIG.numPartitions));
  const parsed = parseTransactionLogRecord(e.records[0]!.key, null);
  assert.deepEqual(parsed, { kind: 'transaction', transactionalId: 'idle', value: null });
  assert.equal(describe(c, 'idle').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  assert.equal(describe(c, 'busy').transactionState, 'Ongoing');
  // A removed id starts over with a new producer id.
  assert.deepEqual(init(c, 'idle', expiry + 1).response, { errorCode: 0, producerId: 1002n, producerEpoch: 0 });
});

// ---------- admin ----------

test('ListTransactions filters by state, producer id and duration, and reports unknown state names', () => {
  const { c } = coordinator();
  init(c, 'a', 0); // 1000, Empty
  init(c, 'b', 0); // 1001
  add(c, 'b', 1001, 0, T1, 100); // Ongoing since 100
  init(c, 'd', 0); // 1002
  add(c, 'd', 1002, 0, T1, 900); // Ongoing since 900
  const list = (req: Partial<ReturnType<typeof defaultListTransactionsRequest>>, now = 1000) => c.handleListTransactions({ ...defaultListTransactionsRequest(), ...req }, now);
  assert.deepEqual(list({}).transactionStates?.map((t) => t.transactionalId), ['a', 'b', 'd']);
  const ongoing = list({ stateFilters: ['Ongoing', 'Bogus'] });
  assert.deepEqual(ongoing.transactionStates, [
    { transactionalId: 'b', producerId: 1001n, transactionState: 'Ongoing' },
    { transactionalId: 'd', producerId: 1002n, transactionState: 'Ongoing' },
  ]);
  assert.deepEqual(ongoing.unknownStateFilters, ['Bogus']);
  assert.deepEqual(list({ producerIdFilters: [1000n, 1002n] }).transactionStates?.map((t) => t.transactionalId), ['a', 'd']);
  assert.deepEqual(list({ stateFilters: ['Ongoing'], durationFilter: 500n }).transactionStates?.map((t) => t.transactionalId), ['b']);
  assert.deepEqual(list({ stateFilters: ['Bogus'] }).transactionStates, []);
});

test('DescribeTransactions: TRANSACTIONAL_ID_NOT_FOUND for unknown ids, INVALID_REQUEST for the empty id', () => {
  const { c } = coordinator();
  init(c, 'tx', 0);
  add(c, 'tx', 1000, 0, [{ name: 'b', partitions: [2] }, { name: 'a', partitions: [1, 0] }], 50);
  const r = c.handleDescribeTransactions({ transactionalIds: ['tx', 'nobody', ''] }, 60).transactionStates!;
  assert.deepEqual(r[0], {
    errorCode: 0,
    transactionalId: 'tx',
    transactionState: 'Ongoing',
    transactionTimeoutMs: TIMEOUT_MS,
    transactionStartTimeMs: 50n,
    producerId: 1000n,
    producerEpoch: 0,
    topics: [{ topic: 'a', partitions: [0, 1] }, { topic: 'b', partitions: [2] }],
  });
  assert.deepEqual(r[1], { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: 'nobody' });
  assert.deepEqual(r[2], { errorCode: ErrorCode.INVALID_REQUEST, transactionalId: '' });
});

// ---------- replay ----------

test('replay: feeding every emitted record to a fresh coordinator rebuilds the same state and pending markers', () => {
  const expiry = 10_000;
  const { c } = coordinator({ transactionalIdExpirationMs: expiry });
  const log: TransactionStateRecord[] = [];
  const run = (e: Effects): void => void log.push(...e.records);
  run(init(c, 'committed', 0));
  run(add(c, 'committed', 1000, 0, T1, 1));
  run(end(c, 'committed', 1000, 0, true, 2));
  run(c.markersWritten('committed', 1000, 0, 3));
  run(init(c, 'preparing', 0));
  run(add(c, 'preparing', 1001, 0, [{ name: 'orders', partitions: [3] }], 4));
  run(addOffsets(c, 'preparing', 1001, 0, 5));
  run(end(c, 'preparing', 1001, 0, false, 6));
  run(init(c, 'ongoing', 7));
  run(add(c, 'ongoing', 1002, 0, T1, 8));
  run(init(c, 'tv2', 9, {}, 5));
  run(addBatch(c, [{ id: 'tv2', pid: 1003, epoch: 0, verifyOnly: false, topics: T1 }], 10));
  run(end(c, 'tv2', 1003, 0, true, 11, 5));
  run(init(c, 'expiring', 0));
  run(c.tick(70_000)); // 'expiring' and 'committed' are tombstoned; 'ongoing' timed out and is aborted
  const ids = ['committed', 'preparing', 'ongoing', 'tv2', 'expiring'];
  assert.ok(log.some((r) => r.value === null), 'the log holds tombstones');

  const fresh = coordinator({ transactionalIdExpirationMs: expiry }).c;
  for (const r of log) fresh.replay(r.key, r.value);
  assert.deepEqual(fresh.handleDescribeTransactions({ transactionalIds: ids }, 0), c.handleDescribeTransactions({ transactionalIds: ids }, 0));
  assert.deepEqual(fresh.handleListTransactions(defaultListTransactionsRequest(), 0), c.handleListTransactions(defaultListTransactionsRequest(), 0));
  assert.deepEqual(fresh.pendingMarkers(), c.pendingMarkers());
  assert.deepEqual(
    fresh.pendingMarkers().map((m) => [m.transactionalId, m.commit]),
    [
      ['preparing', false],
      ['ongoing', false],
      ['tv2', true],
    ],
  );
  assert.equal(fresh.nextDeadline(), c.nextDeadline());
  // The rebuilt coordinator carries on: completing the markers and serving the producers.
  assert.deepEqual(fresh.markersWritten('tv2', 1003, 1, 20).records.map(stateOf), ['CompleteCommit']);
  assert.deepEqual(fresh.markersWritten('preparing', 1001, 0, 20).records.map(stateOf), ['CompleteAbort']);
  assert.deepEqual(init(fresh, 'preparing', 21).response, { errorCode: 0, producerId: 1001n, producerEpoch: 1 });
});

test('replay ignores records it cannot read', () => {
  const { c } = coordinator();
  c.replay(Buffer.from([0, 9, 0, 1, 0x61]), Buffer.from([0, 0]));
  c.replay(transactionLogKey('x'), Buffer.from([0, 7, 1, 2]));
  c.replay(transactionLogKey('x'), Buffer.from([0, 0, 1]));
  assert.deepEqual(c.transactionalIds(), []);
});

// ---------- record layout ----------

test('record layout: a hand-built __transaction_state key and value v0 match what we encode', () => {
  const key = Buffer.concat([Buffer.from([0x00, 0x00]), Buffer.from([0x00, 0x03]), Buffer.from('abc')]);
  assert.deepEqual(transactionLogKey('abc'), key);
  const m = new TransactionMetadata('abc', 0x0102, 5, 60_000, 0x10);
  m.state = 'Ongoing';
  m.txnStartTimestamp = 0x08;
  m.addPartition('t', 2);
  m.addPartition('t', 1);
  const int64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return b;
  };
  const expected = Buffer.concat([
    Buffer.from([0x00, 0x00]), // value version 0
    int64(0x0102), // producer id
    Buffer.from([0x00, 0x05]), // producer epoch
    Buffer.from([0x00, 0x00, 0xea, 0x60]), // timeout 60000
    Buffer.from([0x01]), // Ongoing
    Buffer.from([0x00, 0x00, 0x00, 0x01]), // one topic
    Buffer.from([0x00, 0x01, 0x74]), // "t"
    Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02]), // [1, 2]
    int64(0x10), // last update
    int64(0x08), // start
  ]);
  assert.deepEqual(transactionLogValue(m), expected);
  // Empty writes a null partition list (-1), as Kafka does.
  const empty = new TransactionMetadata('abc', 1, 0, 1000, 0);
  const v = transactionLogValue(empty);
  assert.equal(v.readInt32BE(2 + 8 + 2 + 4 + 1), -1);
});

test('record layout: what we encode decodes with the generated codecs (v0 and flexible v1)', () => {
  const m = new TransactionMetadata('my-txn', 4242, 3, 30_000, 99);
  m.state = 'PrepareCommit';
  m.txnStartTimestamp = 50;
  m.addPartition('b', 0);
  m.addPartition('a', 4);
  m.addPartition('a', 3);
  const key = transactionLogKey('my-txn');
  const kr = new Reader(key);
  assert.equal(kr.int16(), 0);
  assert.equal(decodeTransactionLogKey(kr, 0).transactionalId, 'my-txn');
  assert.ok(kr.ok);
  for (const [tv, version] of [
    [0, 0],
    [2, 1],
  ] as const) {
    m.clientTransactionVersion = tv;
    m.previousProducerId = tv === 2 ? 4000 : -1;
    m.nextProducerId = tv === 2 ? 4343 : -1;
    const vr = new Reader(transactionLogValue(m));
    assert.equal(vr.int16(), version);
    const v = decodeTransactionLogValue(vr, version);
    assert.ok(vr.ok);
    assert.equal(vr.remaining(), 0);
    assert.equal(v.producerId, 4242n);
    assert.equal(v.producerEpoch, 3);
    assert.equal(v.transactionTimeoutMs, 30_000);
    assert.equal(v.transactionStatus, 2);
    assert.deepEqual(v.transactionPartitions, [
      { topic: 'a', partitionIds: [3, 4] },
      { topic: 'b', partitionIds: [0] },
    ]);
    assert.equal(v.transactionLastUpdateTimestampMs, 99n);
    assert.equal(v.transactionStartTimestampMs, 50n);
    assert.equal(v.clientTransactionVersion, tv);
    assert.equal(v.previousProducerId, tv === 2 ? 4000n : -1n);
    assert.equal(v.nextProducerId, tv === 2 ? 4343n : -1n);
  }
});

test('Kafka state ids and partitioning by Java String.hashCode', () => {
  const states: TransactionState[] = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'];
  states.forEach((state, id) => {
    const m = new TransactionMetadata('s', 1, 0, 1000, 0);
    m.state = state;
    if (state !== 'Empty') m.txnStartTimestamp = 0;
    assert.equal(transactionLogValue(m).readInt8(2 + 8 + 2 + 4), id, state);
  });
  // "abc".hashCode() = 96354; "polygenelubricants".hashCode() = Integer.MIN_VALUE, whose abs Kafka takes as 0.
  assert.equal(transactionStatePartitionFor('abc', 50), 96354 % 50);
  assert.equal(transactionStatePartitionFor('polygenelubricants', 50), 0);
  // "Aa" and "BB" share a hash code.
  assert.equal(transactionStatePartitionFor('Aa', 7), transactionStatePartitionFor('BB', 7));
});
