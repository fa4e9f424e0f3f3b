// Compaction of transactional data end to end, through a disk broker and hand-built requests:
// InitProducerId, AddPartitionsToTxn, transactional Produce, EndTxn (commit and abort), an open
// transaction, then the log cleaner, then Fetch. read_uncommitted sees no aborted record and the
// latest committed value of every key below the LSO; read_committed gets the aborted transaction list
// it needs; markers stay while their data does, a COMMIT marker whose data is gone goes a pass later;
// a restart reads the same. On __consumer_offsets, transactional offset commits: the aborted one is
// removed, the committed one keeps its COMMIT marker, so the replay after a restart finds it stable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { LogCleanerScheduler } from '../../src/broker/log-cleaner-scheduler.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ControlType } from '../../src/protocol/records/control-batch.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/records/record-batch-reader.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { RawClient } from './raw-client.js';

const TOPIC = 'state';
const GROUP = 'copier';
const CONFIG: Record<string, string> = {
  'transaction.state.log.num.partitions': '1',
  'offsets.topic.num.partitions': '1',
  // Small segments everywhere (__consumer_offsets included), so that written data leaves the active segment.
  'log.segment.bytes': '400',
  'log.cleaner.min.cleanable.ratio': '0.01',
  'log.cleaner.delete.retention.ms': '0',
  // Only this test's cleaner passes run.
  'log.cleaner.backoff.ms': '3600000',
};

interface InitRes { errorCode: number; producerId: bigint; producerEpoch: number }
interface AddPartsRes { errorCode: number; resultsByTopicV3AndBelow: Array<{ resultsByPartition: Array<{ partitionErrorCode: number }> }> }
interface ErrRes { errorCode: number }
interface ProduceRes { responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: bigint }> }> }
interface TxnCommitRes { topics: Array<{ partitions: Array<{ errorCode: number }> }> }
interface OffsetFetchRes { groups: Array<{ topics: Array<{ partitions: Array<{ committedOffset: bigint; errorCode: number }> }> }> }
interface FetchPartition {
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null;
  records: Buffer | null;
}
interface FetchRes { responses: Array<{ partitions: FetchPartition[] }> }

/** "key=value@offset" -> offset, and -> "key=value". */
const offsetOf = (entry: string): number => Number(entry.slice(entry.lastIndexOf('@') + 1));
const withoutOffset = (entry: string): string => entry.slice(0, entry.lastIndexOf('@'));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function kv(key: string, value: string): { key: Buffer; value: Buffer; timestamp: number } {
  return { key: Buffer.from(key), value: Buffer.from(value), timestamp: Date.now() };
}

class Txn {
  producerId = -1n;
  producerEpoch = -1;
  private seq = 0;
  constructor(private readonly c: RawClient, readonly id: string) {}

  async init(): Promise<void> {
    let r: InitRes;
    for (let i = 0; ; i++) {
      r = await this.c.request<InitRes>(22, 4, { transactionalId: this.id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
      if (r.errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS || i >= 100) break;
      await sleep(10);
    }
    assert.equal(r.errorCode, 0, `InitProducerId ${this.id}`);
    this.producerId = r.producerId;
    this.producerEpoch = r.producerEpoch;
  }

  /** AddPartitionsToTxn (once per transaction), then one transactional batch of `records`. */
  async produce(...records: Array<readonly [string, string]>): Promise<number> {
    const added = await this.c.request<AddPartsRes>(24, 3, { v3AndBelowTransactionalId: this.id, v3AndBelowProducerId: this.producerId, v3AndBelowProducerEpoch: this.producerEpoch, v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }] });
    assert.equal(added.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, 0);
    const batch = await buildRecordBatch({
      producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: this.seq, isTransactional: true,
      records: records.map(([k, v]) => kv(k, v)),
    });
    const res = await this.c.request<ProduceRes>(0, 8, { transactionalId: this.id, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }] });
    const p = res.responses[0]!.partitionResponses[0]!;
    assert.equal(p.errorCode, 0);
    this.seq += records.length;
    return Number(p.baseOffset);
  }

  async commitOffset(offset: bigint): Promise<void> {
    const added = await this.c.request<ErrRes>(25, 3, { transactionalId: this.id, producerId: this.producerId, producerEpoch: this.producerEpoch, groupId: GROUP });
    assert.equal(added.errorCode, 0);
    const r = await this.c.request<TxnCommitRes>(28, 3, {
      transactionalId: this.id, groupId: GROUP, producerId: this.producerId, producerEpoch: this.producerEpoch, generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'txn' }] }],
    });
    assert.equal(r.topics[0]!.partitions[0]!.errorCode, 0);
  }

  /** EndTxn, then wait until its markers are in the logs (they are written after the answer). */
  async end(commit: boolean, logs: PartitionLog[]): Promise<void> {
    const r = await this.c.request<ErrRes>(26, 3, { transactionalId: this.id, producerId: this.producerId, producerEpoch: this.producerEpoch, committed: commit });
    assert.equal(r.errorCode, 0);
    const deadline = Date.now() + 10_000;
    while (logs.some((log) => log.producerState().openTransactionStart(Number(this.producerId)) >= 0)) {
      assert.ok(Date.now() < deadline, `the markers of ${this.id} never arrived`);
      await sleep(5);
    }
    // The coordinator bumps the epoch at the end of every transaction (KIP-890); a client learns it from the
    // EndTxn v5 answer, and with older versions goes on with the same epoch. Re-init to follow either way.
    await this.init();
    this.seq = 0;
  }
}

async function plain(c: RawClient, ...records: Array<readonly [string, string]>): Promise<number> {
  const batch = await buildRecordBatch({ records: records.map(([k, v]) => kv(k, v)) });
  const res = await c.request<ProduceRes>(0, 8, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }] });
  const p = res.responses[0]!.partitionResponses[0]!;
  assert.equal(p.errorCode, 0);
  return Number(p.baseOffset);
}

interface Read {
  hw: number;
  lso: number;
  aborted: Array<{ producerId: number; firstOffset: number }>;
  /** "key=value@offset" of every record, with "COMMIT:<offset>" / "ABORT:<offset>" for markers. */
  entries: string[];
}

async function fetchAll(c: RawClient, isolationLevel: 0 | 1): Promise<Read> {
  const r = await c.request<FetchRes>(1, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 22, isolationLevel, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 22, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
    forgottenTopicsData: [], rackId: '',
  });
  const p = r.responses[0]!.partitions[0]!;
  assert.equal(p.errorCode, 0);
  const entries: string[] = [];
  for (const b of await decodeRecordBatches(p.records ?? Buffer.alloc(0), { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
    if (b.isControl) {
      const type = b.records[0]?.key?.readInt16BE(2);
      entries.push(`${type === ControlType.COMMIT ? 'COMMIT' : 'ABORT'}:${b.header.baseOffset}`);
    } else {
      for (const rec of b.records) entries.push(`${rec.key?.toString()}=${rec.value?.toString()}@${rec.offset}`);
    }
  }
  return {
    hw: Number(p.highWatermark),
    lso: Number(p.lastStableOffset),
    aborted: (p.abortedTransactions ?? []).map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) })),
    entries,
  };
}

/** What read_committed delivers from a fetch: the transactions listed as aborted dropped, as Kafka's consumer does. */
async function readCommitted(c: RawClient): Promise<string[]> {
  const r = await c.request<FetchRes>(1, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 22, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 22, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
    forgottenTopicsData: [], rackId: '',
  });
  const p = r.responses[0]!.partitions[0]!;
  const queue = [...(p.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset - b.firstOffset));
  const abortedProducers = new Set<bigint>();
  const out: string[] = [];
  for (const b of await decodeRecordBatches(p.records ?? Buffer.alloc(0), { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
    const last = b.header.baseOffset + b.header.lastOffsetDelta;
    while (queue.length > 0 && Number(queue[0]!.firstOffset) <= last) abortedProducers.add(queue.shift()!.producerId);
    const pid = BigInt(b.header.producerId);
    if (b.isControl) {
      if (b.records[0]?.key?.readInt16BE(2) === ControlType.ABORT) abortedProducers.delete(pid);
      continue;
    }
    if (b.isTransactional && abortedProducers.has(pid)) continue;
    for (const rec of b.records) out.push(`${rec.key?.toString()}=${rec.value?.toString()}@${rec.offset}`);
  }
  return out;
}

async function fetchGroupOffset(c: RawClient): Promise<{ offset: bigint; errorCode: number }> {
  const r = await c.request<OffsetFetchRes>(9, 8, { groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }] }], requireStable: true });
  const p = r.groups[0]!.topics[0]!.partitions[0]!;
  return { offset: p.committedOffset, errorCode: p.errorCode };
}

/** Control batches and transactional records of a log, read straight from storage. */
async function rawEntries(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  const r = log.read(log.logStartOffset(), 1 << 24, true);
  for (const b of await decodeRecordBatches(Buffer.concat(r.chunks), { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
    if (b.isControl) out.push(`${b.records[0]?.key?.readInt16BE(2) === ControlType.COMMIT ? 'COMMIT' : 'ABORT'}:${b.header.producerId}@${b.header.baseOffset}`);
    else if (b.isTransactional) out.push(`txn:${b.header.producerId}@${b.header.baseOffset}x${b.records.length}`);
  }
  return out;
}

test('compacting a transactional topic and __consumer_offsets through the broker', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-compact-txn-'));
  let broker: RunningBroker = await startBroker({ dataDir, config: CONFIG });
  let c = await RawClient.connect(broker.port);
  try {
    await c.request(19, 5, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] }], timeoutMs: 1000 });
    const log = (): PartitionLog => broker.broker.logs.partition(TOPIC, 0)!;
    const offsetsLog = (): PartitionLog => broker.broker.logs.partition('__consumer_offsets', 0)!;

    const w = new Txn(c, 'writer');
    await w.init();
    assert.equal(await plain(c, ['k1', 'v0'], ['k2', 'v0']), 0);
    await w.produce(['k1', 'a1'], ['k2', 'a2']); // committed: a1 stays the latest committed k1
    await w.end(true, [log()]);
    const abortedAt = await w.produce(['k1', 'b1'], ['k3', 'b3']); // aborted: must not shadow a1
    await w.end(false, [log()]);
    const e4At = await w.produce(['k4', 'e4']); // committed, then superseded: its marker may go later
    await w.end(true, [log()]);
    await plain(c, ['k4', 'n4']);
    const c2At = await w.produce(['k2', 'c2']);
    await w.end(true, [log()]);
    await plain(c, ['k3', 'n3']);
    // Transactional offset commits to __consumer_offsets: 10 committed, 20 aborted, 30 committed.
    for (const [offset, commit] of [[10n, true], [20n, false], [30n, true]] as const) {
      await w.commitOffset(offset);
      await w.end(commit, [offsetsLog()]);
    }
    assert.deepEqual(await fetchGroupOffset(c), { offset: 30n, errorCode: 0 });
    // Standalone commits of another group roll __consumer_offsets' segment.
    for (let i = 0; i < 8; i++) {
      const r = await c.request<{ topics: Array<{ partitions: Array<{ errorCode: number }> }> }>(8, 8, { groupId: `filler-${i}`, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: BigInt(i), committedLeaderEpoch: -1, committedMetadata: null }] }] });
      assert.equal(r.topics[0]!.partitions[0]!.errorCode, 0);
    }
    // An open transaction of another producer, then more writes behind it.
    const open = new Txn(c, 'open-writer');
    await open.init();
    const lso = await open.produce(['k1', 'd1']);
    for (let i = 0; i < 6; i++) await plain(c, ['k5', `after${i}`]);
    assert.equal(log().lastStableOffset(), lso);
    const end = log().logEndOffset();
    const beforeCleaning = await fetchAll(c, 0);

    const cleaner = new LogCleanerScheduler(broker.broker, { intervalMs: 1_000_000 });
    const runs = await cleaner.runOnce();
    const run = runs.find((r) => r.topic === TOPIC);
    assert.ok(run !== undefined && run.recordsRemoved > 0, 'the topic was cleaned');
    assert.ok(run.cleanedUpTo <= lso, `not cleaned past the LSO (${run.cleanedUpTo} > ${lso})`);
    assert.ok(runs.some((r) => r.topic === '__consumer_offsets' && r.recordsRemoved > 0), '__consumer_offsets was cleaned');

    const check = async (label: string): Promise<void> => {
      const ru = await fetchAll(c, 0);
      assert.equal(ru.hw, end, label);
      const records = ru.entries.filter((e) => e.includes('='));
      const below = records.filter((e) => offsetOf(e) < lso);
      assert.ok(!records.some((e) => /=b\d/.test(e)), `${label}: no aborted record for read_uncommitted (${records.join(' ')})`);
      const latest = new Map<string, string>();
      for (const e of below) latest.set(e.split('=')[0]!, e);
      assert.deepEqual([...latest.values()].map((e) => withoutOffset(e)).sort(), ['k1=a1', 'k2=c2', 'k3=n3', 'k4=n4'], `${label}: latest committed values`);
      assert.equal(below.filter((e) => e.startsWith('k1=')).length, 1, `${label}: k1 compacted (${below.join(' ')})`);
      assert.deepEqual(records.filter((e) => offsetOf(e) >= lso), beforeCleaning.entries.filter((e) => e.includes('=') && offsetOf(e) >= lso), `${label}: untouched from the LSO on`);
      const rc = await fetchAll(c, 1);
      assert.equal(rc.lso, lso, label);
      assert.deepEqual(rc.aborted, [{ producerId: Number(w.producerId), firstOffset: abortedAt }], `${label}: the aborted transaction is listed`);
      assert.deepEqual((await readCommitted(c)).map((e) => withoutOffset(e)).filter((e) => !e.startsWith('k5')), below.map((e) => withoutOffset(e)).filter((e) => !e.startsWith('k5')), `${label}: read_committed`);
      assert.ok(ru.entries.includes(`ABORT:${abortedAt + 2}`), `${label}: ABORT marker kept`);
      assert.ok(ru.entries.includes(`COMMIT:${c2At + 1}`), `${label}: COMMIT marker of live data kept`);
      assert.ok(ru.entries.includes(`COMMIT:${abortedAt - 1}`), `${label}: COMMIT marker of a1 (still live) kept`);
    };
    await check('after the first pass');
    assert.ok((await fetchAll(c, 0)).entries.includes(`COMMIT:${e4At + 1}`), 'a COMMIT marker whose data this pass removed stays for now');
    // __consumer_offsets: the aborted commit (20) and the superseded one (10) are gone, 30 and its marker stay.
    const offsetsEntries = await rawEntries(offsetsLog());
    const [abortedCommit] = offsetsLog().abortedTransactions(0, offsetsLog().logEndOffset());
    assert.ok(abortedCommit !== undefined);
    assert.ok(offsetsEntries.includes(`ABORT:${w.producerId}@${abortedCommit.lastOffset}`), `the ABORT marker stays (${offsetsEntries.join(' ')})`);
    assert.ok(!offsetsEntries.includes(`txn:${w.producerId}@${abortedCommit.firstOffset}x1`), 'the aborted offset commit is gone');
    assert.equal(offsetsEntries.filter((e) => e.startsWith('txn:') && !e.endsWith('x0')).length, 1, `one transactional offset commit left, 30 (${offsetsEntries.join(' ')})`);

    // A later pass (delete.retention.ms is 0): the COMMIT marker without data goes, the others stay.
    await sleep(5);
    await cleaner.runOnce();
    await check('after the second pass');
    assert.ok(!(await fetchAll(c, 0)).entries.includes(`COMMIT:${e4At + 1}`), 'the COMMIT marker of removed data went');

    // A restart: the same reads; the group's offset replays as committed and stable.
    const afterCleaning = await fetchAll(c, 0);
    c.close();
    await broker.close();
    broker = await startBroker({ dataDir, config: CONFIG });
    c = await RawClient.connect(broker.port);
    assert.deepEqual((await fetchAll(c, 0)).entries, afterCleaning.entries);
    await check('after a restart');
    assert.deepEqual(await fetchGroupOffset(c), { offset: 30n, errorCode: 0 }, 'the committed transactional offset is stable after the replay');
  } finally {
    c.close();
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
