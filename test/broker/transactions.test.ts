// Transactions with hand-built requests: exact error codes (EndTxn without a transaction, a fenced
// epoch in old and new versions, a transactional produce to a partition outside the transaction,
// CONCURRENT_TRANSACTIONS while the markers are pending), the admin views (DescribeTransactions,
// ListTransactions, DescribeProducers), Fetch/ListOffsets read_committed at the LSO, and an open
// transaction surviving a clean restart and a SIGKILL of a CLI broker: still open (LSO held), then
// committed by its producer or aborted by its timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { Writer } from '../../src/protocol/writer.js';
import { API_DESCRIPTORS } from '../../src/protocol/generated/api-table.js';
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { RawClient } from './raw-client.js';
import { freePort, waitExit } from '../interop-debian/helpers.js';

const CONFIG: Record<string, string> = {
  'transaction.max.timeout.ms': '120000',
  'transaction.state.log.num.partitions': '3',
  'offsets.topic.num.partitions': '3',
  'group.initial.rebalance.delay.ms': '0',
};

interface InitRes { errorCode: number; producerId: bigint; producerEpoch: number }
interface AddPartsRes { errorCode: number; resultsByTopicV3AndBelow: Array<{ name: string; resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }> }> }
interface ErrRes { errorCode: number }
interface ProduceRes { responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: bigint }> }> }
interface FetchRes { responses: Array<{ partitions: Array<{ errorCode: number; highWatermark: bigint; lastStableOffset: bigint; abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null }> }> }
interface ListOffsetsRes { topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }> }
interface DescribeProducersRes { topics: Array<{ partitions: Array<{ partitionIndex: number; errorCode: number; activeProducers: Array<{ producerId: bigint; producerEpoch: number; lastSequence: number; lastTimestamp: bigint; coordinatorEpoch: number; currentTxnStartOffset: bigint }> }> }> }
interface DescribeTxnRes { transactionStates: Array<{ errorCode: number; transactionalId: string; transactionState: string; transactionTimeoutMs: number; producerId: bigint; producerEpoch: number; topics: Array<{ topic: string; partitions: number[] }> }> }
interface ListTxnRes { errorCode: number; unknownStateFilters: string[]; transactionStates: Array<{ transactionalId: string; producerId: bigint; transactionState: string }> }

/** One size-prefixed request frame, for writing several in one chunk. */
function requestFrame(apiKey: number, version: number, body: object, correlationId: number): Buffer {
  const api = API_DESCRIPTORS.find((a) => a.apiKey === apiKey)!;
  const w = new Writer();
  encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'txn-test' }, version >= api.requestFlexibleMin ? 2 : 1);
  api.encodeRequest(w, body, version);
  const payload = w.toBuffer();
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Txn {
  producerId = -1n;
  producerEpoch = -1;
  private seq = new Map<string, number>();
  constructor(private readonly c: RawClient, readonly id: string, private readonly timeoutMs = 60_000) {}

  /** Kafka answers CONCURRENT_TRANSACTIONS while it aborts the previous producer's transaction; clients retry. */
  async init(): Promise<number[]> {
    const retried: number[] = [];
    let r: InitRes;
    for (;;) {
      r = await this.c.request<InitRes>(22, 4, { transactionalId: this.id, transactionTimeoutMs: this.timeoutMs, producerId: -1n, producerEpoch: -1 });
      if (r.errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS || retried.length >= 100) break;
      retried.push(r.errorCode);
      await sleep(10);
    }
    assert.equal(r.errorCode, 0, `InitProducerId ${this.id}`);
    this.producerId = r.producerId;
    this.producerEpoch = r.producerEpoch;
    this.seq.clear();
    return retried;
  }

  async add(topic: string, partitions: number[], epoch = this.producerEpoch, version = 3): Promise<number[]> {
    const r = await this.c.request<AddPartsRes>(24, version, { v3AndBelowTransactionalId: this.id, v3AndBelowProducerId: this.producerId, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: topic, partitions }] });
    return r.resultsByTopicV3AndBelow[0]!.resultsByPartition.sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.partitionErrorCode);
  }

  /** A transactional batch of `values` to topic-partition; sequences continue per partition. */
  async produce(topic: string, partition: number, values: string[]): Promise<{ errorCode: number; baseOffset: number }> {
    const key = `${topic}-${partition}`;
    const seq = this.seq.get(key) ?? 0;
    const records = await buildRecordBatch({
      producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: seq, isTransactional: true,
      records: values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: 1_700_000_000_000 })),
    });
    const res = await this.c.request<ProduceRes>(0, 8, { transactionalId: this.id, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
    const p = res.responses[0]!.partitionResponses[0]!;
    if (p.errorCode === 0) this.seq.set(key, seq + values.length);
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
  }

  endBody(commit: boolean, epoch = this.producerEpoch): object {
    return { transactionalId: this.id, producerId: this.producerId, producerEpoch: epoch, committed: commit };
  }

  async end(commit: boolean, version = 3, epoch = this.producerEpoch): Promise<number> {
    return (await this.c.request<ErrRes>(26, version, this.endBody(commit, epoch))).errorCode;
  }
}

async function createTopic(c: RawClient, name: string, partitions: number): Promise<void> {
  await c.request(19, 5, { topics: [{ name, numPartitions: partitions, replicationFactor: 1 }], timeoutMs: 1000 });
}

async function plainProduce(c: RawClient, topic: string, partition: number, values: string[]): Promise<number> {
  const records = await buildRecordBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: 1_700_000_000_000 })) });
  const res = await c.request<ProduceRes>(0, 8, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  const p = res.responses[0]!.partitionResponses[0]!;
  assert.equal(p.errorCode, 0);
  return Number(p.baseOffset);
}

async function fetch(c: RawClient, topic: string, partition: number, isolationLevel: 0 | 1): Promise<FetchRes['responses'][0]['partitions'][0]> {
  const r = await c.request<FetchRes>(1, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
    forgottenTopicsData: [], rackId: '',
  });
  return r.responses[0]!.partitions[0]!;
}

async function latest(c: RawClient, topic: string, partition: number, isolationLevel: 0 | 1): Promise<number> {
  const r = await c.request<ListOffsetsRes>(2, 7, { replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }] });
  const p = r.topics[0]!.partitions[0]!;
  assert.equal(p.errorCode, 0);
  return Number(p.offset);
}

async function describeProducers(c: RawClient, topic: string, partition: number): Promise<DescribeProducersRes['topics'][0]['partitions'][0]['activeProducers']> {
  const r = await c.request<DescribeProducersRes>(61, 0, { topics: [{ name: topic, partitionIndexes: [partition] }] });
  const p = r.topics[0]!.partitions[0]!;
  assert.equal(p.errorCode, 0);
  return p.activeProducers;
}

async function describeTxn(c: RawClient, id: string): Promise<DescribeTxnRes['transactionStates'][0]> {
  return (await c.request<DescribeTxnRes>(65, 0, { transactionalIds: [id] })).transactionStates[0]!;
}

async function waitUntil(what: string, cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('EndTxn and transactional produce: exact error codes', async () => {
  // On disk, so the markers take an fsync and the PrepareCommit state is observable.
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-txn-codes-'));
  const broker = await startBroker({ dataDir, config: CONFIG });
  const c = await RawClient.connect(broker.port);
  try {
    await createTopic(c, 'codes', 2);
    const t = new Txn(c, 'codes-txn');
    await t.init();
    assert.equal(t.producerEpoch, 0);

    // No transaction: EndTxn is INVALID_TXN_STATE in every version.
    assert.equal(await t.end(true, 3), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await t.end(false, 1), ErrorCode.INVALID_TXN_STATE);

    // A transactional batch for a partition the transaction does not hold.
    assert.equal((await t.produce('codes', 0, ['x'])).errorCode, ErrorCode.INVALID_TXN_STATE, 'no transaction at all');
    assert.deepEqual(await t.add('codes', [0]), [0]);
    assert.equal((await t.produce('codes', 1, ['y'])).errorCode, ErrorCode.INVALID_TXN_STATE, 'partition 1 was not added');
    assert.deepEqual(await t.produce('codes', 0, ['a', 'b']), { errorCode: 0, baseOffset: 0 });

    // A second InitProducerId fences epoch 0 (and aborts its open transaction).
    const oldEpoch = t.producerEpoch;
    const successor = new Txn(c, 'codes-txn');
    const retried = await successor.init();
    assert.equal(retried[0], ErrorCode.CONCURRENT_TRANSACTIONS, 'the first InitProducerId starts the abort and asks the client to retry');
    assert.equal(successor.producerId, t.producerId);
    // As in Kafka: the fence bumps to 1 (the abort markers carry it), the retry after the abort to 2.
    assert.equal(successor.producerEpoch, oldEpoch + 2);
    assert.equal(await t.end(true, 3, oldEpoch), ErrorCode.PRODUCER_FENCED, 'EndTxn v2+: PRODUCER_FENCED');
    assert.equal(await t.end(true, 1, oldEpoch), ErrorCode.INVALID_PRODUCER_EPOCH, 'EndTxn v0-1: INVALID_PRODUCER_EPOCH');
    assert.deepEqual(await t.add('codes', [1], oldEpoch, 3), [ErrorCode.PRODUCER_FENCED], 'AddPartitionsToTxn v3 with the old epoch');
    assert.deepEqual(await t.add('codes', [1], oldEpoch, 1), [ErrorCode.INVALID_PRODUCER_EPOCH], 'AddPartitionsToTxn v1 with the old epoch');
    const late = await t.produce('codes', 0, ['late']);
    assert.equal(late.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'a produce with the fenced epoch');

    // The fenced transaction was aborted: read_committed sees nothing, the abort is listed.
    await waitUntil('the fenced transaction\'s abort marker', async () => (await fetch(c, 'codes', 0, 1)).lastStableOffset === 3n);
    const f = await fetch(c, 'codes', 0, 1);
    assert.deepEqual(f.abortedTransactions, [{ producerId: t.producerId, firstOffset: 0n }]);

    // CONCURRENT_TRANSACTIONS: a second EndTxn pipelined behind the first finds the transaction in
    // PrepareCommit (its markers not yet written); then the retry after completion is NONE (v1-v4).
    assert.deepEqual(await successor.add('codes', [0, 1]), [0, 0]);
    assert.equal((await successor.produce('codes', 1, ['s'])).errorCode, 0);
    // Both frames in one write, so the broker reads them in one chunk and handles the second at once.
    c.sendRaw(Buffer.concat([requestFrame(26, 3, successor.endBody(true), 9001), requestFrame(26, 3, successor.endBody(true), 9002)]));
    const codes: number[] = [];
    for (let i = 0; i < 2; i++) {
      const frame = (await c.nextFrame())!;
      assert.equal(frame.readInt32BE(0), 9001 + i);
      // EndTxn v3 response: correlation id, tagged fields, throttle_time_ms, error_code.
      codes.push(frame.readInt16BE(4 + 1 + 4));
    }
    assert.deepEqual(codes, [0, ErrorCode.CONCURRENT_TRANSACTIONS]);
    await waitUntil('the commit to complete', async () => (await describeTxn(c, 'codes-txn')).transactionState === 'CompleteCommit');
    assert.equal(await successor.end(true, 3), 0, 'a retried commit after completion is NONE');
    assert.equal(await successor.end(false, 3), ErrorCode.INVALID_TXN_STATE, 'an abort after a completed commit');
  } finally {
    c.close();
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('DescribeTransactions, ListTransactions, DescribeProducers, and read_committed Fetch/ListOffsets at the LSO', async () => {
  const broker = await startBroker({ config: CONFIG });
  const c = await RawClient.connect(broker.port);
  try {
    await createTopic(c, 'views', 2);
    assert.equal(await plainProduce(c, 'views', 0, ['p0', 'p1']), 0);
    const t = new Txn(c, 'views-txn', 45_000);
    await t.init();
    assert.deepEqual(await t.add('views', [1, 0]), [0, 0]);
    assert.deepEqual(await t.produce('views', 0, ['t0', 't1', 't2']), { errorCode: 0, baseOffset: 2 });
    assert.equal(await plainProduce(c, 'views', 0, ['after']), 5);

    const d = await describeTxn(c, 'views-txn');
    assert.deepEqual(
      { ...d, transactionStartTimeMs: undefined },
      { errorCode: 0, transactionalId: 'views-txn', transactionState: 'Ongoing', transactionTimeoutMs: 45_000, transactionStartTimeMs: undefined, producerId: t.producerId, producerEpoch: 0, topics: [{ topic: 'views', partitions: [0, 1] }] },
    );
    assert.equal((await describeTxn(c, 'nobody')).errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);

    const list = await c.request<ListTxnRes>(66, 0, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [] });
    assert.equal(list.errorCode, 0);
    assert.deepEqual(list.unknownStateFilters, ['Bogus']);
    assert.deepEqual(list.transactionStates, [{ transactionalId: 'views-txn', producerId: t.producerId, transactionState: 'Ongoing' }]);
    const none = await c.request<ListTxnRes>(66, 0, { stateFilters: ['CompleteCommit'], producerIdFilters: [] });
    assert.deepEqual(none.transactionStates, []);

    assert.deepEqual(await describeProducers(c, 'views', 0), [{ producerId: t.producerId, producerEpoch: 0, lastSequence: 2, lastTimestamp: 1_700_000_000_000n, coordinatorEpoch: -1, currentTxnStartOffset: 2n }]);
    assert.deepEqual(await describeProducers(c, 'views', 1), [], 'added but never written: no producer state there');

    const rc = await fetch(c, 'views', 0, 1);
    assert.equal(rc.highWatermark, 6n);
    assert.equal(rc.lastStableOffset, 2n);
    assert.deepEqual(rc.abortedTransactions, []);
    assert.equal(await latest(c, 'views', 0, 1), 2, 'ListOffsets latest, read_committed: the LSO');
    assert.equal(await latest(c, 'views', 0, 0), 6, 'ListOffsets latest, read_uncommitted: the high watermark');

    assert.equal(await t.end(false), 0);
    await waitUntil('the abort marker', async () => (await fetch(c, 'views', 0, 1)).lastStableOffset === 7n);
    const after = await fetch(c, 'views', 0, 1);
    assert.deepEqual(after.abortedTransactions, [{ producerId: t.producerId, firstOffset: 2n }]);
    assert.equal(await latest(c, 'views', 0, 1), 7);
    const [p] = await describeProducers(c, 'views', 0);
    assert.equal(p!.currentTxnStartOffset, -1n, 'no open transaction after the marker');
    assert.equal(p!.coordinatorEpoch, 0, 'the marker recorded the coordinator epoch');
    const ended = await c.request<ListTxnRes>(66, 0, { stateFilters: ['CompleteAbort'], producerIdFilters: [t.producerId] });
    assert.deepEqual(ended.transactionStates, [{ transactionalId: 'views-txn', producerId: t.producerId, transactionState: 'CompleteAbort' }]);
  } finally {
    c.close();
    await broker.close();
  }
});

/** The CLI broker in a child process, so it can be SIGKILLed. */
async function startCli(port: number, dataDir: string): Promise<ChildProcess> {
  const args = ['bin/fjord', 'start', '--port', String(port), '--data-dir', dataDir, ...Object.entries(CONFIG).flatMap(([k, v]) => ['--override', `${k}=${v}`])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`CLI broker not listening:\n${out}`)); }, 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (/listening on/.test(out)) { clearTimeout(timer); resolve(); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`CLI broker exited ${code ?? signal}:\n${out}`)); });
  });
  return child;
}

/** Leave two transactions open on 'r' partition 0: 'keeper' (long timeout) and 'doomed' (6 s). */
async function openTransactions(c: RawClient): Promise<{ keeper: Txn; doomed: Txn }> {
  await createTopic(c, 'r', 1);
  assert.equal(await plainProduce(c, 'r', 0, ['before']), 0);
  const keeper = new Txn(c, 'keeper', 60_000);
  await keeper.init();
  assert.deepEqual(await keeper.add('r', [0]), [0]);
  assert.deepEqual(await keeper.produce('r', 0, ['k0', 'k1']), { errorCode: 0, baseOffset: 1 });
  const doomed = new Txn(c, 'doomed', 6_000);
  await doomed.init();
  assert.deepEqual(await doomed.add('r', [0]), [0]);
  assert.deepEqual(await doomed.produce('r', 0, ['d0']), { errorCode: 0, baseOffset: 3 });
  assert.equal(await latest(c, 'r', 0, 1), 1);
  return { keeper, doomed };
}

/** After a restart: both still open (LSO held at 1), then the doomed one times out and the keeper commits. */
async function checkAfterRestart(broker: RunningBroker, keeper: Txn, doomed: Txn): Promise<void> {
  const c = await RawClient.connect(broker.port);
  try {
    const producers = (await describeProducers(c, 'r', 0)).map((p) => [p.producerId, p.currentTxnStartOffset]);
    assert.deepEqual(producers.sort((a, b) => Number(a[0]) - Number(b[0])), [[keeper.producerId, 1n], [doomed.producerId, 3n]].sort((a, b) => Number(a[0]) - Number(b[0])));
    assert.equal((await describeTxn(c, 'keeper')).transactionState, 'Ongoing');
    assert.equal(await latest(c, 'r', 0, 1), 1, 'the open transaction still holds the LSO');
    assert.equal(await latest(c, 'r', 0, 0), 4);

    // The doomed transaction's 6 s timeout (counted from its start, before the restart) aborts it.
    await waitUntil('the timed-out transaction to be aborted', async () => (await describeTxn(c, 'doomed')).transactionState === 'CompleteAbort', 15_000);
    assert.equal(await latest(c, 'r', 0, 1), 1, 'the keeper still holds the LSO');
    assert.equal(await doomed.end(true), ErrorCode.PRODUCER_FENCED, 'the timed-out producer cannot commit');

    // The keeper's producer continues with its epoch across the restart and commits.
    assert.deepEqual(await keeper.produce('r', 0, ['k2']), { errorCode: 0, baseOffset: 5 });
    assert.equal(await keeper.end(true), 0);
    await waitUntil('the commit marker', async () => (await latest(c, 'r', 0, 1)) === 7);
    const f = await fetch(c, 'r', 0, 1);
    assert.equal(f.lastStableOffset, 7n);
    assert.deepEqual(f.abortedTransactions, [{ producerId: doomed.producerId, firstOffset: 3n }]);
  } finally {
    c.close();
  }
}

test('an open transaction survives a clean restart: LSO held, then aborted by its timeout or committed', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-txn-restart-'));
  let broker: RunningBroker | null = await startBroker({ dataDir, config: CONFIG });
  try {
    const c = await RawClient.connect(broker.port);
    let opened: { keeper: Txn; doomed: Txn };
    try {
      opened = await openTransactions(c);
    } finally {
      c.close();
    }
    await broker.close();
    broker = await startBroker({ dataDir, config: CONFIG });
    // The producers' state belongs to a dead connection; their ids and epochs are all they need.
    const c2 = await RawClient.connect(broker.port);
    const rebind = (t: Txn): Txn => Object.assign(Object.create(Txn.prototype) as Txn, t, { c: c2 });
    try {
      await checkAfterRestart(broker, rebind(opened.keeper), rebind(opened.doomed));
    } finally {
      c2.close();
    }
  } finally {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an open transaction survives a SIGKILL of the broker: LSO held, then aborted by its timeout or committed', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-txn-kill-'));
  const port = await freePort();
  let child: ChildProcess | null = await startCli(port, dataDir);
  let broker: RunningBroker | null = null;
  try {
    const c = await RawClient.connect(port);
    let opened: { keeper: Txn; doomed: Txn };
    try {
      opened = await openTransactions(c);
    } finally {
      c.close();
    }
    child.kill('SIGKILL');
    await waitExit(child, 10_000);
    child = null;
    broker = await startBroker({ dataDir, config: CONFIG });
    const c2 = await RawClient.connect(broker.port);
    const rebind = (t: Txn): Txn => Object.assign(Object.create(Txn.prototype) as Txn, t, { c: c2 });
    try {
      await checkAfterRestart(broker, rebind(opened.keeper), rebind(opened.doomed));
    } finally {
      c2.close();
    }
  } finally {
    child?.kill('SIGKILL');
    if (child !== null) await waitExit(child, 10_000).catch(() => {});
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
