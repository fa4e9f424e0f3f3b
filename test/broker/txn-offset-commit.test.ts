// TxnOffsetCommit end to end over the wire, through the real transaction coordinator: offsets sent to
// a transaction are invisible (UNSTABLE_OFFSET_COMMIT with require_stable) until EndTxn's marker
// reaches __consumer_offsets, are dropped on abort, survive a restart once committed, and a
// transaction left open by a dead producer is aborted by its timeout after the restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from './raw-client.js';

interface ErrorRes { errorCode: number }
interface InitRes { errorCode: number; producerId: bigint; producerEpoch: number }
interface TxnCommitRes { topics: Array<{ partitions: Array<{ partitionIndex: number; errorCode: number }> }> }
interface FetchRes { groups: Array<{ errorCode: number; topics: Array<{ partitions: Array<{ partitionIndex: number; committedOffset: bigint; errorCode: number }> }> }> }

const GROUP = 'copier-group';

async function fetchOffset(c: RawClient, requireStable: boolean): Promise<{ offset: bigint; errorCode: number }> {
  const r = await c.request<FetchRes>(9, 8, { groups: [{ groupId: GROUP, topics: [{ name: 'in', partitionIndexes: [0] }] }], requireStable });
  assert.equal(r.groups[0]!.errorCode, 0, 'errors are per partition; the group-level error stays NONE');
  const p = r.groups[0]!.topics[0]!.partitions[0]!;
  return { offset: p.committedOffset, errorCode: p.errorCode };
}

/** Markers are written after EndTxn answers: wait until the offsets partition is stable again. */
async function untilStable(c: RawClient, timeoutMs = 10_000): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetchOffset(c, true);
    if (r.errorCode === 0) return r.offset;
    assert.equal(r.errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
    if (Date.now() > deadline) assert.fail('the transactional offsets never became stable');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

class TxnProducer {
  producerId = -1n;
  producerEpoch = -1;
  constructor(private readonly c: RawClient, readonly transactionalId: string, private readonly timeoutMs = 60_000) {}

  async init(): Promise<void> {
    const r = await this.c.request<InitRes>(22, 4, { transactionalId: this.transactionalId, transactionTimeoutMs: this.timeoutMs, producerId: -1n, producerEpoch: -1 });
    assert.equal(r.errorCode, 0);
    this.producerId = r.producerId;
    this.producerEpoch = r.producerEpoch;
  }

  /** Retries CONCURRENT_TRANSACTIONS as clients do: the last transaction's markers may still be syncing. */
  async addOffsets(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await this.c.request<ErrorRes>(25, 3, { transactionalId: this.transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch, groupId: GROUP });
      if (r.errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS || Date.now() > deadline) {
        assert.equal(r.errorCode, 0);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async commitOffset(offset: bigint): Promise<number> {
    const r = await this.c.request<TxnCommitRes>(28, 3, {
      transactionalId: this.transactionalId, groupId: GROUP, producerId: this.producerId, producerEpoch: this.producerEpoch,
      generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 'in', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'txn' }] }],
    });
    return r.topics[0]!.partitions[0]!.errorCode;
  }

  async end(commit: boolean): Promise<void> {
    const r = await this.c.request<ErrorRes>(26, 3, { transactionalId: this.transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch, committed: commit });
    assert.equal(r.errorCode, 0);
  }
}

test('transactional offsets: pending until the marker, dropped on abort, committed ones survive a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-txn-offsets-'));
  let broker: RunningBroker = await startBroker({ dataDir });
  let c = await RawClient.connect(broker.port);
  try {
    await c.request(19, 5, { topics: [{ name: 'in', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
    const p = new TxnProducer(c, 'copier');
    await p.init();

    // Not yet in a transaction with the group's offsets partition: refused (KIP-890 verification).
    assert.equal(await p.commitOffset(1n), ErrorCode.INVALID_TXN_STATE);

    // Commit.
    await p.addOffsets();
    assert.equal(await p.commitOffset(10n), 0);
    assert.deepEqual(await fetchOffset(c, true), { offset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
    assert.deepEqual(await fetchOffset(c, false), { offset: -1n, errorCode: 0 }, 'without require_stable: the last committed offset (none)');
    await p.end(true);
    assert.equal(await untilStable(c), 10n);

    // Abort: the offset stays at 10.
    await p.addOffsets();
    assert.equal(await p.commitOffset(20n), 0);
    assert.deepEqual(await fetchOffset(c, false), { offset: 10n, errorCode: 0 });
    await p.end(false);
    assert.equal(await untilStable(c), 10n);

    // Commit 30, then leave a transaction of a short-lived producer open (offset 40) and restart.
    await p.addOffsets();
    assert.equal(await p.commitOffset(30n), 0);
    await p.end(true);
    assert.equal(await untilStable(c), 30n);
    const zombie = new TxnProducer(c, 'zombie', 2000);
    await zombie.init();
    await zombie.addOffsets();
    assert.equal(await zombie.commitOffset(40n), 0);
    c.close();
    await broker.close();

    broker = await startBroker({ dataDir });
    c = await RawClient.connect(broker.port);
    // The committed offset was replayed with its COMMIT marker; the open transaction is still pending.
    assert.deepEqual(await fetchOffset(c, false), { offset: 30n, errorCode: 0 });
    // The transaction coordinator aborts the zombie's transaction at its timeout: 40 never shows.
    assert.equal(await untilStable(c, 15_000), 30n);
  } finally {
    c.close();
    await broker.close();
  }
});
