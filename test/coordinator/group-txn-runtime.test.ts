// Transactional offset commits through GroupRuntime on in-memory logs: one transactional batch per
// TxnOffsetCommit with the producer's id, epoch and next sequence; refusals by the log's producer state
// or by the transaction check answer with their code; markers complete the offsets; and a restart
// (a fresh runtime replaying __consumer_offsets) rebuilds the same committed and pending offsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestBroker } from '../../src/testing/test-broker.js';
import type { Broker } from '../../src/broker/broker.js';
import { GroupRuntime, OFFSETS_TOPIC, type TxnVerifier } from '../../src/broker/group-runtime.js';
import { SerialQueue } from '../../src/broker/serial-queue.js';
import type { RequestContext } from '../../src/broker/request-context.js';
import { handleTxnOffsetCommit } from '../../src/broker/handlers/28-txn-offset-commit.js';
import { offsetsPartitionFor } from '../../src/coordinator/group/offsets-topic-records.js';
import { defaultTxnOffsetCommitRequest, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../../src/protocol/generated/txn-offset-commit.js';
import { defaultOffsetFetchRequest, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.js';
import { decodeRecordBatches, type DecodedBatch } from '../../src/protocol/records/record-batch-reader.js';
import type { Encodable } from '../../src/protocol/encodable.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const ok: TxnVerifier = () => null;

function ctx(broker: Broker, apiKey = 28, apiVersion = 3): RequestContext {
  return { apiKey, apiVersion, correlationId: 1, clientId: 'c', broker, clientHost: '127.0.0.1', appendOrder: new SerialQueue(), afterResponse: () => undefined };
}

function req(producerId: number, producerEpoch: number, offsets: Array<[number, bigint]>): TxnOffsetCommitRequest {
  return {
    ...defaultTxnOffsetCommitRequest(),
    transactionalId: `tx-${producerId}`,
    groupId: 'g',
    producerId: BigInt(producerId),
    producerEpoch,
    topics: [{ name: 't', partitions: offsets.map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: -1, committedMetadata: '' })) }],
  };
}

function codes(r: Encodable<TxnOffsetCommitResponse>): number[] {
  return (r.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p) => p.errorCode ?? 0));
}

async function fetchOffsets(runtime: GroupRuntime, broker: Broker, requireStable: boolean): Promise<Array<[bigint, number]>> {
  const r = (await runtime.run((token) =>
    runtime.coordinator.fetchOffsets({ ...defaultOffsetFetchRequest(), groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1, 2] }], requireStable }, runtime.meta(ctx(broker, 9, 7), token), () => []),
  )) as Encodable<OffsetFetchResponse>;
  return r.topics![0]!.partitions!.map((p) => [p.committedOffset!, p.errorCode!]);
}

async function batches(broker: Broker, partition: number): Promise<DecodedBatch[]> {
  const log = broker.logs.partition(OFFSETS_TOPIC, partition)!;
  const read = log.read(log.logStartOffset(), 1 << 20, true);
  const out: DecodedBatch[] = [];
  for (const chunk of read.chunks) out.push(...(await decodeRecordBatches(chunk, { verifyCrc: true, maxDecompressedBytes: 1 << 20 })));
  return out;
}

test('TxnOffsetCommit: one transactional batch per request, sequences per producer and epoch, markers complete, a restart replays the same state', async () => {
  const broker = await createTestBroker();
  broker.createTopic('t', 3, -1, {});
  const gp = offsetsPartitionFor('g', broker.config.getInt('offsets.topic.num.partitions'));
  const log = () => broker.logs.partition(OFFSETS_TOPIC, gp)!;
  const groups = broker.groups;

  // Producer 7, epoch 0: two requests in one transaction -> sequences 0 then 2 (the first had two records).
  assert.deepEqual(codes(await groups.txnOffsetCommit(req(7, 0, [[0, 10n], [1, 11n]]), ctx(broker), ok)), [0, 0]);
  assert.deepEqual(codes(await groups.txnOffsetCommit(req(7, 0, [[0, 12n]]), ctx(broker), ok)), [0]);
  let written = await batches(broker, gp);
  assert.deepEqual(written.map((b) => [b.isTransactional, b.header.producerId, b.header.producerEpoch, b.header.baseSequence, b.records.length]), [
    [true, 7, 0, 0, 2],
    [true, 7, 0, 2, 1],
  ]);
  assert.equal(log().lastStableOffset(), 0, 'the open transaction holds the LSO of the offsets partition');
  assert.deepEqual(await fetchOffsets(groups, broker, true), [[-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT], [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT], [-1n, 0]]);
  assert.deepEqual(await fetchOffsets(groups, broker, false), [[-1n, 0], [-1n, 0], [-1n, 0]]);

  // The transaction runtime's marker (here appended by hand, as writeTransactionMarkers does).
  log().appendMarker({ producerId: 7, producerEpoch: 0, commit: true, coordinatorEpoch: 0 });
  groups.onTransactionMarker(gp, 7, true);
  assert.deepEqual(await fetchOffsets(groups, broker, true), [[12n, 0], [11n, 0], [-1n, 0]]);

  // Next transaction under a bumped epoch (KIP-890 markers carry it): sequence starts again at 0.
  assert.deepEqual(codes(await groups.txnOffsetCommit(req(7, 1, [[2, 20n]]), ctx(broker), ok)), [0]);
  written = await batches(broker, gp);
  assert.deepEqual(written.slice(-1).map((b) => [b.header.producerEpoch, b.header.baseSequence]), [[1, 0]]);
  // A zombie with the old epoch is refused by the log's producer state, and its offsets are not pending.
  assert.deepEqual(codes(await groups.txnOffsetCommit(req(7, 0, [[1, 99n]]), ctx(broker), ok)), [ErrorCode.INVALID_PRODUCER_EPOCH]);
  assert.deepEqual(await fetchOffsets(groups, broker, true), [[12n, 0], [11n, 0], [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT]]);
  // A transaction that ended while the request waited: the check before the append refuses it.
  const ended: TxnVerifier = () => ({ errorCode: ErrorCode.INVALID_TXN_STATE, message: 'ended' });
  const lengthBefore = log().logEndOffset();
  assert.deepEqual(codes(await groups.txnOffsetCommit(req(7, 1, [[0, 98n]]), ctx(broker), ended)), [ErrorCode.INVALID_TXN_STATE]);
  assert.equal(log().logEndOffset(), lengthBefore, 'nothing written');
  assert.deepEqual(await fetchOffsets(groups, broker, true), [[12n, 0], [11n, 0], [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT]]);

  // Abort the epoch-1 transaction; producer 8 leaves one open at the end of the log.
  log().appendMarker({ producerId: 7, producerEpoch: 1, commit: false, coordinatorEpoch: 0 });
  groups.onTransactionMarker(gp, 7, false);
  assert.deepEqual(codes(await groups.txnOffsetCommit(req(8, 0, [[1, 50n]]), ctx(broker), ok)), [0]);
  const expectStable = [[12n, 0], [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT], [-1n, 0]];
  const expectLoose = [[12n, 0], [11n, 0], [-1n, 0]];
  assert.deepEqual(await fetchOffsets(groups, broker, true), expectStable);
  assert.deepEqual(await fetchOffsets(groups, broker, false), expectLoose);

  // Restart: a fresh runtime replaying __consumer_offsets sees the same committed and pending offsets.
  const restarted = new GroupRuntime(broker);
  await restarted.load();
  assert.deepEqual(await fetchOffsets(restarted, broker, true), expectStable);
  assert.deepEqual(await fetchOffsets(restarted, broker, false), expectLoose);
  assert.deepEqual(restarted.coordinator.pendingTxnProducers('g'), [8]);
  // The open transaction continues after the restart: its sequence follows from the log's producer state.
  assert.deepEqual(codes(await restarted.txnOffsetCommit(req(8, 0, [[1, 51n]]), ctx(broker), ok)), [0]);
  assert.deepEqual((await batches(broker, gp)).slice(-1).map((b) => [b.header.producerId, b.header.baseSequence]), [[8, 1]]);
  // The transaction coordinator completes it after its own recovery.
  log().appendMarker({ producerId: 8, producerEpoch: 0, commit: true, coordinatorEpoch: 0 });
  restarted.onTransactionMarker(gp, 8, true);
  assert.deepEqual(await fetchOffsets(restarted, broker, true), [[12n, 0], [51n, 0], [-1n, 0]]);
  groups.close();
  restarted.close();
});

test('the handler refuses a producer with no ongoing transaction holding the offsets partition (KIP-890)', async () => {
  const broker = await createTestBroker();
  broker.createTopic('t', 1, -1, {});
  const r = await handleTxnOffsetCommit(req(42, 0, [[0, 1n]]), ctx(broker));
  assert.deepEqual(codes(r), [ErrorCode.INVALID_TXN_STATE]);
  assert.equal(broker.groups.coordinator.group('g'), undefined);
  // An empty group id is INVALID_GROUP_ID whatever the transaction.
  assert.deepEqual(codes(await handleTxnOffsetCommit({ ...req(42, 0, [[0, 1n]]), groupId: '' }, ctx(broker))), [ErrorCode.INVALID_GROUP_ID]);
  broker.groups.close();
});
