// Fetch semantics against a socket broker: size limits, long polling, offsets out of range, and
// incremental fetch sessions (KIP-227).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { buildRecordBatch } from '../../src/protocol/records/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from './raw-client.js';

let broker: RunningBroker;
let c: RawClient;

interface FetchPartition { partitionIndex: number; errorCode: number; highWatermark: bigint; records: Buffer | null }
interface FetchRes { errorCode: number; sessionId: number; responses: Array<{ topic: string; partitions: FetchPartition[] }> }

before(async () => {
  broker = await startBroker();
  c = await RawClient.connect(broker.port);
  await c.request(19, 5, { topics: [{ name: 'f', numPartitions: 2, replicationFactor: 1 }], timeoutMs: 1000 });
});
after(async () => {
  c.close();
  await broker.close();
});

async function produce(partition: number, n: number, valueBytes = 100): Promise<void> {
  const records = Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.alloc(valueBytes, i), timestamp: 1000 + i }));
  const res = await c.request<{ responses: Array<{ partitionResponses: Array<{ errorCode: number }> }> }>(0, 8, {
    acks: 1, timeoutMs: 1000, topicData: [{ name: 'f', partitionData: [{ index: partition, records: await buildRecordBatch({ records }) }] }],
  });
  assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, 0);
}

function fetchBody(parts: Array<[number, bigint, number?]>, extra: object = {}): object {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: parts.length === 0 ? [] : [{ topic: 'f', partitions: parts.map(([partition, fetchOffset, max]) => ({ partition, fetchOffset, partitionMaxBytes: max ?? 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n })) }],
    forgottenTopicsData: [], rackId: '', ...extra,
  };
}

test('a fetch returns whole batches and always at least one, even past max_bytes (KIP-74)', async () => {
  await produce(0, 10, 1000); // one batch of ~10 KB
  await produce(0, 1, 10);
  const small = await c.request<FetchRes>(1, 11, fetchBody([[0, 0n, 100]]));
  const p = small.responses[0]!.partitions[0]!;
  assert.equal(p.errorCode, 0);
  assert.ok(p.records!.length > 10_000, 'the first batch is returned whole');
  assert.equal(p.records!.readBigInt64BE(0), 0n);
  assert.equal(p.highWatermark, 11n);
  // From the middle of the first batch: the containing batch comes back.
  const mid = await c.request<FetchRes>(1, 11, fetchBody([[0, 5n]]));
  assert.equal(mid.responses[0]!.partitions[0]!.records!.readBigInt64BE(0), 0n);
  const end = await c.request<FetchRes>(1, 11, fetchBody([[0, 11n]]));
  assert.equal(end.responses[0]!.partitions[0]!.records!.length, 0);
  const beyond = await c.request<FetchRes>(1, 11, fetchBody([[0, 12n]]));
  assert.equal(beyond.responses[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
});

test('a fetch below min_bytes waits for an append, then answers at once', async () => {
  const other = await RawClient.connect(broker.port);
  const started = Date.now();
  const pending = other.request<FetchRes>(1, 11, fetchBody([[1, 0n]], { maxWaitMs: 5000, minBytes: 1 }));
  await new Promise((r) => setTimeout(r, 100));
  await produce(1, 1);
  const res = await pending;
  assert.ok(Date.now() - started < 4000);
  assert.ok(res.responses[0]!.partitions[0]!.records!.length > 0);
  const timedOut = await other.request<FetchRes>(1, 11, fetchBody([[1, 1n]], { maxWaitMs: 200, minBytes: 1 }));
  assert.equal(timedOut.responses[0]!.partitions[0]!.records!.length, 0);
  other.close();
});

test('incremental fetch sessions carry only partitions with news', async () => {
  const full = await c.request<FetchRes>(1, 11, fetchBody([[0, 11n], [1, 1n]], { sessionEpoch: 0 }));
  assert.equal(full.errorCode, 0);
  assert.notEqual(full.sessionId, 0);
  assert.equal(full.responses[0]!.partitions.length, 2);
  const id = full.sessionId;
  // Nothing changed: an incremental fetch lists no partitions.
  const quiet = await c.request<FetchRes>(1, 11, fetchBody([], { sessionId: id, sessionEpoch: 1 }));
  assert.equal(quiet.errorCode, 0);
  assert.equal(quiet.responses.length, 0);
  await produce(1, 2);
  const news = await c.request<FetchRes>(1, 11, fetchBody([], { sessionId: id, sessionEpoch: 2 }));
  assert.deepEqual(news.responses[0]!.partitions.map((p) => p.partitionIndex), [1]);
  assert.equal(news.responses[0]!.partitions[0]!.highWatermark, 3n);
  // A stale epoch is refused; an unknown session too.
  const stale = await c.request<FetchRes>(1, 11, fetchBody([], { sessionId: id, sessionEpoch: 2 }));
  assert.equal(stale.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  const unknown = await c.request<FetchRes>(1, 11, fetchBody([], { sessionId: id + 1, sessionEpoch: 1 }));
  assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  // Forget partition 0; advance partition 1's offset; new data on 0 is not reported.
  await produce(0, 1);
  const forgot = await c.request<FetchRes>(1, 11, fetchBody([[1, 3n]], { sessionId: id, sessionEpoch: 3, forgottenTopicsData: [{ topic: 'f', partitions: [0] }] }));
  assert.equal(forgot.errorCode, 0);
  assert.ok(forgot.responses.every((t) => t.partitions.every((p) => p.partitionIndex === 1)));
  // The final epoch closes the session.
  await c.request<FetchRes>(1, 11, fetchBody([], { sessionId: id, sessionEpoch: -1 }));
  const closed = await c.request<FetchRes>(1, 11, fetchBody([], { sessionId: id, sessionEpoch: 4 }));
  assert.equal(closed.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
});
