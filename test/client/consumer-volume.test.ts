// The consumer under volume: 100k records over 4 partitions in exact order with nothing missing or
// repeated, fetching overlapped with production, and the prefetch bound (maxBufferedBytes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createCluster } from '../../src/client/client-options.js';
import type { Cluster } from '../../src/client/cluster.js';
import { buildRecordBatch, type RecordInput } from '../../src/protocol/records/index.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { createConsumer } from '../../src/client/consumer/index.js';

let broker: RunningBroker;
let cluster: Cluster;

before(async () => {
  broker = await startBroker();
  cluster = createCluster({ bootstrapServers: broker.bootstrapServers }, 'consumer-volume-producer');
});

after(async () => {
  await cluster.close();
  await broker.close();
});

/** One raw Produce carrying one batch per listed partition. */
async function produce(topic: string, batches: Array<[number, RecordInput[]]>): Promise<void> {
  const conn = await cluster.leaderFor(topic, 0);
  const partitionData = await Promise.all(batches.map(async ([index, records]) => ({ index, records: await buildRecordBatch({ records }) })));
  const res = await conn.request<ProduceResponse>(0, { acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData }] });
  for (const p of res.responses[0]!.partitionResponses) assert.equal(p.errorCode, 0);
}

const PARTITIONS = 4;
const PER_PARTITION = 25_000;
const BATCH = 500;

function record(p: number, i: number): RecordInput {
  return { key: Buffer.from(`p${p}`), value: Buffer.from(`${p}:${i}`), timestamp: 1_000_000 + i };
}

test('100k small records across 4 partitions: exact order per partition, nothing missing or duplicated', async () => {
  const topic = 'vol-100k';
  broker.broker.createTopic(topic, PARTITIONS, 1, {});
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', maxPartitionFetchBytes: 64 * 1024 });
  c.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
  // Produce while consuming, so fetches race appends (long polls woken by each append).
  const producing = (async () => {
    for (let start = 0; start < PER_PARTITION; start += BATCH) {
      const batches: Array<[number, RecordInput[]]> = [];
      for (let p = 0; p < PARTITIONS; p++) batches.push([p, Array.from({ length: BATCH }, (_, j) => record(p, start + j))]);
      await produce(topic, batches);
    }
  })();
  const next = new Array<number>(PARTITIONS).fill(0);
  let total = 0;
  const deadline = Date.now() + 60_000;
  try {
    while (total < PARTITIONS * PER_PARTITION) {
      assert.ok(Date.now() < deadline, `only ${total} records within 60 s`);
      const recs = await c.poll({ maxRecords: 2000, timeoutMs: 1000 });
      for (const r of recs) {
        const p = r.partition;
        const i = next[p]!;
        // Every check is per record: order, no gap, no duplicate, the right contents.
        if (r.offset !== BigInt(i) || r.value!.toString() !== `${p}:${i}` || r.key!.toString() !== `p${p}` || r.timestamp !== 1_000_000 + i) {
          assert.fail(`partition ${p}: expected offset ${i}, got ${r.offset} value ${r.value!.toString()}`);
        }
        next[p] = i + 1;
      }
      total += recs.length;
    }
    await producing;
    assert.deepEqual(next, new Array(PARTITIONS).fill(PER_PARTITION));
    assert.deepEqual(await c.poll({ timeoutMs: 200 }), [], 'nothing beyond the end');
    const m = c.metrics();
    assert.equal(m.recordsReturned, PARTITIONS * PER_PARTITION);
    for (let p = 0; p < PARTITIONS; p++) assert.equal(await c.position({ topic, partition: p }), BigInt(PER_PARTITION));
  } finally {
    await producing.catch(() => undefined);
    await c.close();
  }
});

test('the same 100k records read back from the beginning in one pass, at full speed', async () => {
  const topic = 'vol-100k';
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
  c.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
  try {
    const seen = new Array<number>(PARTITIONS).fill(0);
    let total = 0;
    const started = Date.now();
    while (total < PARTITIONS * PER_PARTITION) {
      assert.ok(Date.now() - started < 60_000);
      const recs = await c.poll({ maxRecords: 5000, timeoutMs: 1000 });
      for (const r of recs) {
        if (r.offset !== BigInt(seen[r.partition]!)) assert.fail(`partition ${r.partition}: offset ${r.offset}, expected ${seen[r.partition]}`);
        seen[r.partition]!++;
      }
      total += recs.length;
    }
    assert.equal(total, PARTITIONS * PER_PARTITION);
  } finally {
    await c.close();
  }
});

test('maxBufferedBytes bounds the prefetch; consuming lets it refill', async () => {
  const topic = 'vol-bound';
  broker.broker.createTopic(topic, 2, 1, {});
  // 2 partitions x 40 batches x 20 records x ~1 KB: about 1.6 MB, batches of ~20 KB.
  const value = Buffer.alloc(1000, 'v');
  for (let b = 0; b < 40; b++) {
    await produce(topic, [0, 1].map((p) => [p, Array.from({ length: 20 }, (_, j) => ({ key: null, value, timestamp: b * 20 + j }))] as [number, RecordInput[]]));
  }
  const total = 2 * 40 * 20;
  const bound = 128 * 1024;
  const batchBytes = 21_000;
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', maxBufferedBytes: bound, maxPartitionFetchBytes: 32 * 1024, fetchMaxBytes: 64 * 1024 });
  c.assign([{ topic, partition: 0 }, { topic, partition: 1 }]);
  try {
    assert.equal((await c.poll({ maxRecords: 1, timeoutMs: 5000 })).length, 1);
    // Give the background fetcher every chance to over-fetch.
    await new Promise((r) => setTimeout(r, 500));
    let m = c.metrics();
    assert.ok(m.bufferedBytes <= bound + batchBytes, `buffered ${m.bufferedBytes} > ${bound} + one batch`);
    assert.ok(m.bufferedBytes >= bound / 2, `the prefetch did fill up: ${m.bufferedBytes}`);
    assert.ok(m.fetchedBytes < total * 1000 / 3, `it stopped fetching: ${m.fetchedBytes} bytes fetched`);
    let got = 1;
    while (got < total) {
      const recs = await c.poll({ maxRecords: 37, timeoutMs: 5000 });
      assert.ok(recs.length > 0, `stalled at ${got} of ${total}`);
      got += recs.length;
      m = c.metrics();
      assert.ok(m.bufferedBytes <= bound + batchBytes, `buffered ${m.bufferedBytes}`);
    }
    m = c.metrics();
    assert.ok(m.peakBufferedBytes <= bound + batchBytes, `peak ${m.peakBufferedBytes} > ${bound} + one batch`);
    assert.ok(m.fetchedBytes >= total * 1000, 'everything was fetched in the end');
  } finally {
    await c.close();
  }
});

test('seek, pause and resume churn: every record returned is exactly at its partition position', async () => {
  const topic = 'vol-churn';
  const N = 3000;
  broker.broker.createTopic(topic, 3, 1, {});
  for (let start = 0; start < N; start += 100) {
    await produce(topic, [0, 1, 2].map((p) => [p, Array.from({ length: 100 }, (_, j) => record(p, start + j))] as [number, RecordInput[]]));
  }
  // A small buffer and small fetches keep many fetches in flight and many entries buffered.
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', maxBufferedBytes: 24 * 1024, maxPartitionFetchBytes: 4 * 1024, fetchMaxWaitMs: 50 });
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const expected = [0, 0, 0];
  const paused = new Set<number>();
  c.assign([0, 1, 2].map((partition) => ({ topic, partition })));
  try {
    let delivered = 0;
    for (let step = 0; step < 400; step++) {
      const op = rand(10);
      const p = rand(3);
      if (op === 0) {
        const to = rand(N + 1);
        c.seek({ topic, partition: p }, BigInt(to));
        expected[p] = to;
      } else if (op === 1) {
        c.pause([{ topic, partition: p }]);
        paused.add(p);
      } else if (op === 2) {
        c.resume([{ topic, partition: p }]);
        paused.delete(p);
      } else {
        const recs = await c.poll({ maxRecords: 1 + rand(300), timeoutMs: 20 });
        for (const r of recs) {
          assert.ok(!paused.has(r.partition), `step ${step}: a record of paused partition ${r.partition}`);
          assert.equal(r.offset, BigInt(expected[r.partition]!), `step ${step}: partition ${r.partition} out of position`);
          assert.equal(r.value!.toString(), `${r.partition}:${expected[r.partition]}`);
          expected[r.partition]!++;
        }
        delivered += recs.length;
      }
    }
    for (const p of [0, 1, 2]) assert.equal(await c.position({ topic, partition: p }), BigInt(expected[p]!));
    assert.ok(delivered > 1000, `records flowed: ${delivered}`);
    assert.ok(c.metrics().peakBufferedBytes <= 24 * 1024 + 8 * 1024, `peak ${c.metrics().peakBufferedBytes}`);
  } finally {
    await c.close();
  }
});
