// Fetch responses are views of pooled read buffers (disk engine). The memory may serve another read
// only after the socket has taken the response: a response still queued must keep its bytes even
// while later fetches run, and once it has left its memory is reused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from '../../src/broker/broker.js';
import { BrokerConfig } from '../../src/broker/broker-config.js';
import { Connection } from '../../src/broker/connection.js';
import { systemRandom } from '../../src/io/random.js';
import { Writer } from '../../src/protocol/writer.js';
import { Reader } from '../../src/protocol/reader.js';
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { encodeFetchRequest, decodeFetchResponse } from '../../src/protocol/generated/fetch.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { createDiskLogManager } from '../../src/storage/index.js';
import { READ_BUFFERS } from '../../src/storage/read-buffer-pool.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { ManualClock } from '../storage/manual-clock.js';

const FETCH_VERSION = 11;

function fetchFrame(correlationId: number, fetchOffset: bigint): Buffer {
  const w = new Writer(256);
  encodeRequestHeader(w, { requestApiKey: 1, requestApiVersion: FETCH_VERSION, correlationId, clientId: 't' }, 1);
  encodeFetchRequest(w, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1n, partitionMaxBytes: 4 << 20 }] }],
    forgottenTopicsData: [], rackId: '',
  }, FETCH_VERSION);
  return w.toBuffer();
}

function recordsOf(chunks: Buffer[]): Buffer {
  const r = new Reader(Buffer.concat(chunks).subarray(4));
  r.int32(); // correlation id
  const res = decodeFetchResponse(r, FETCH_VERSION);
  const p = res.responses[0]!.partitions[0]!;
  assert.equal(p.errorCode, 0);
  return Buffer.from(p.records!);
}

test('a queued fetch response keeps its bytes while later fetches read; its memory is reused once sent', async () => {
  const clock = new ManualClock();
  const logs = createDiskLogManager({ logDir: '/data', fs: new MemoryFileSystem(), clock });
  await logs.open();
  const broker = new Broker({ config: new BrokerConfig({}), logs, clock, random: systemRandom, log: { info: () => {}, warn: () => {}, error: () => {} }, clusterId: 'c', advertisedHost: 'h', advertisedPort: 1 });
  logs.createTopic('t', 1, {}, 'AAAAAAAAAAAAAAAAAAAAAA');
  const log = logs.partition('t', 0)!;
  // Two ranges with different contents, each well above the pooled minimum.
  for (const fill of [0x11, 0x22]) {
    const records = Array.from({ length: 200 }, () => ({ key: null, value: Buffer.alloc(1000, fill), timestamp: 1 }));
    log.append(await buildRecordBatch({ records }));
  }
  await log.flush();
  const secondOffset = 200n;

  const held: Array<{ chunks: Buffer[]; sent: (() => void) | undefined }> = [];
  const conn = new Connection(broker, { write: (chunks, sent) => void held.push({ chunks, sent }), close: (r) => assert.fail(r) }, 'test');
  const settle = async (n: number): Promise<void> => {
    for (let i = 0; i < 100 && held.length < n; i++) await new Promise((r) => setImmediate(r));
    assert.equal(held.length, n);
  };

  conn.onFrame(fetchFrame(1, 0n));
  await settle(1);
  const first = held[0]!;
  const expected = recordsOf(first.chunks);
  assert.ok(expected.length > 64 * 1024);
  const firstMemory = first.chunks.find((c) => c.length >= expected.length)!.buffer;
  assert.equal(READ_BUFFERS.isLent(firstMemory), true, 'the response is a view of pooled memory');
  assert.ok(first.sent !== undefined, 'the sink is asked to report when the chunks have left');

  // Not yet sent: later fetches of other data must not land in the first response's memory.
  for (let i = 0; i < 3; i++) conn.onFrame(fetchFrame(2 + i, secondOffset));
  await settle(4);
  assert.deepEqual(recordsOf(first.chunks), expected, 'queued bytes unchanged');
  for (const h of held.slice(1)) assert.notEqual(h.chunks.find((c) => c.length >= 64 * 1024)!.buffer, firstMemory);

  // Sent: the memory goes back to the pool and serves the next read of the same size.
  first.sent!();
  assert.equal(READ_BUFFERS.isLent(firstMemory), false);
  conn.onFrame(fetchFrame(9, 0n));
  await settle(5);
  assert.equal(held[4]!.chunks.find((c) => c.length >= 64 * 1024)!.buffer, firstMemory, 'reused after it left');
  assert.deepEqual(recordsOf(held[4]!.chunks), expected);
  for (const h of held.slice(1)) h.sent?.();
  await logs.close();
});
