// The consumer against an embedded broker: assignment, positions, seeks, offset lookups, pause and
// resume, the async iterator and the API's argument checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createCluster } from '../../src/client/client-options.js';
import type { Cluster } from '../../src/client/cluster.js';
import { ClientError } from '../../src/client/errors.js';
import { deserializers } from '../../src/client/serializers.js';
import { buildRecordBatch, type RecordInput } from '../../src/protocol/records/index.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { createConsumer, NoOffsetForPartitionError, RecordDeserializationError, type Consumer, type ConsumerRecord } from '../../src/client/consumer/index.js';

let broker: RunningBroker;
let cluster: Cluster;

before(async () => {
  broker = await startBroker();
  cluster = createCluster({ bootstrapServers: broker.bootstrapServers }, 'consumer-test-producer');
});

after(async () => {
  await cluster.close();
  await broker.close();
});

/** Append one batch through a raw Produce (the Fjord producer is built separately); returns its base offset. */
async function produce(topic: string, partition: number, records: RecordInput[]): Promise<bigint> {
  const conn = await cluster.leaderFor(topic, partition);
  const res = await conn.request<ProduceResponse>(0, {
    acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records: await buildRecordBatch({ records }) }] }],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  assert.equal(p.errorCode, 0);
  return p.baseOffset;
}

function values(n: number, tag: string, ts = 1_000): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`${tag}-${i}`), timestamp: ts + i }));
}

function topicWith(name: string, partitions: number): string {
  broker.broker.createTopic(name, partitions, 1, {});
  return name;
}

/** Poll until `n` records arrived (or fail after `ms`). */
async function pollN<K, V>(c: Consumer<K, V>, n: number, ms = 10_000): Promise<Array<ConsumerRecord<K, V>>> {
  const out: Array<ConsumerRecord<K, V>> = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    assert.ok(Date.now() < deadline, `only ${out.length} of ${n} records after ${ms} ms`);
    out.push(...(await c.poll({ timeoutMs: 200, maxRecords: n - out.length })));
  }
  return out;
}

const str = (b: Buffer | null): string | null => (b === null ? null : b.toString());

test('earliest: every record with its key, value, headers, timestamp and offset, in order', async () => {
  const topic = topicWith('c-earliest', 2);
  await produce(topic, 0, [
    { key: null, value: Buffer.from('a'), timestamp: 1000, headers: [{ key: 'h1', value: Buffer.from('x') }, { key: 'h1', value: null }] },
    { key: Buffer.from('k'), value: null, timestamp: 1001 },
  ]);
  await produce(topic, 0, values(5, 'second', 2000));
  await produce(topic, 1, values(3, 'other', 3000));
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
  try {
    c.assign([{ topic, partition: 0 }, { topic, partition: 1 }]);
    assert.deepEqual(c.assignment(), [{ topic, partition: 0 }, { topic, partition: 1 }]);
    const recs = await pollN(c, 10);
    const p0 = recs.filter((r) => r.partition === 0);
    const p1 = recs.filter((r) => r.partition === 1);
    assert.deepEqual(p0.map((r) => r.offset), [0n, 1n, 2n, 3n, 4n, 5n, 6n]);
    assert.deepEqual(p1.map((r) => r.offset), [0n, 1n, 2n]);
    assert.equal(p0[0]!.key, null);
    assert.equal(str(p0[0]!.value), 'a');
    assert.deepEqual(p0[0]!.headers.map(([k, v]) => [k, str(v)]), [['h1', 'x'], ['h1', null]]);
    assert.equal(p0[0]!.timestamp, 1000);
    assert.equal(p0[0]!.timestampType, 'CreateTime');
    assert.equal(p0[0]!.topic, topic);
    assert.equal(str(p0[1]!.key), 'k');
    assert.equal(p0[1]!.value, null);
    assert.deepEqual(p0.slice(2).map((r) => str(r.value)), ['second-0', 'second-1', 'second-2', 'second-3', 'second-4']);
    assert.deepEqual(p1.map((r) => [str(r.key), str(r.value), r.timestamp]), [['k0', 'other-0', 3000], ['k1', 'other-1', 3001], ['k2', 'other-2', 3002]]);
    assert.equal(await c.position({ topic, partition: 0 }), 7n);
    assert.deepEqual(await c.poll({ timeoutMs: 50 }), []);
  } finally {
    await c.close();
  }
});

test('latest: only records appended after the position was resolved', async () => {
  const topic = topicWith('c-latest', 1);
  await produce(topic, 0, values(4, 'old'));
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers });
  try {
    c.assign([{ topic, partition: 0 }]);
    assert.equal(await c.position({ topic, partition: 0 }), 4n);
    assert.deepEqual(await c.poll({ timeoutMs: 100 }), []);
    await produce(topic, 0, values(2, 'new'));
    const recs = await pollN(c, 2);
    assert.deepEqual(recs.map((r) => [r.offset, str(r.value)]), [[4n, 'new-0'], [5n, 'new-1']]);
  } finally {
    await c.close();
  }
});

test('a waiting poll wakes as soon as records arrive (long-poll fetch, no busy loop)', async () => {
  const topic = topicWith('c-wake', 1);
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', fetchMaxWaitMs: 5_000 });
  try {
    c.assign([{ topic, partition: 0 }]);
    assert.deepEqual(await c.poll({ timeoutMs: 100 }), []);
    const started = Date.now();
    const pending = c.poll({ timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await produce(topic, 0, values(1, 'late'));
    const recs = await pending;
    assert.equal(recs.length, 1);
    assert.ok(Date.now() - started < 3_000, 'the parked fetch answered on append');
    assert.ok(c.metrics().fetchRequests < 10, `few fetches while idle: ${c.metrics().fetchRequests}`);
  } finally {
    await c.close();
  }
});

test('fetchMinBytes 0 (no long polling): the idle background fetcher does not spin', async () => {
  const topic = topicWith('c-minbytes0', 1);
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', fetchMinBytes: 0, retryBackoffMs: 100 });
  try {
    c.assign([{ topic, partition: 0 }]);
    assert.deepEqual(await c.poll({ timeoutMs: 600 }), []);
    const fetches = c.metrics().fetchRequests;
    assert.ok(fetches >= 2 && fetches <= 12, `about one empty fetch per retryBackoffMs while idle: ${fetches}`);
    await produce(topic, 0, values(3, 'm'));
    assert.equal((await pollN(c, 3)).length, 3);
  } finally {
    await c.close();
  }
});

test('assign with an offset, seek into the middle of a batch, and position', async () => {
  const topic = topicWith('c-seek', 1);
  await produce(topic, 0, values(10, 'a'));
  await produce(topic, 0, values(10, 'b'));
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
  try {
    c.assign([{ topic, partition: 0, offset: 7n }]);
    assert.equal(await c.position({ topic, partition: 0 }), 7n);
    let recs = await pollN(c, 3);
    assert.deepEqual(recs.map((r) => str(r.value)), ['a-7', 'a-8', 'a-9']);
    assert.equal(await c.position({ topic, partition: 0 }), 10n);
    c.seek({ topic, partition: 0 }, 15n);
    assert.equal(await c.position({ topic, partition: 0 }), 15n);
    recs = await pollN(c, 5);
    assert.deepEqual(recs.map((r) => r.offset), [15n, 16n, 17n, 18n, 19n]);
    c.seek({ topic, partition: 0 }, 2n);
    recs = await pollN(c, 2);
    assert.deepEqual(recs.map((r) => str(r.value)), ['a-2', 'a-3']);
    // Assigning again keeps the position of partitions that stay assigned.
    c.assign([{ topic, partition: 0 }]);
    assert.equal(await c.position({ topic, partition: 0 }), 4n);
    assert.equal(str((await pollN(c, 1))[0]!.value), 'a-4');
  } finally {
    await c.close();
  }
});

test('seekToBeginning and seekToEnd', async () => {
  const topic = topicWith('c-seekto', 2);
  await produce(topic, 0, values(3, 'x'));
  await produce(topic, 1, values(5, 'y'));
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
  try {
    c.assign([{ topic, partition: 0 }, { topic, partition: 1 }]);
    await pollN(c, 8);
    c.seekToBeginning([{ topic, partition: 1 }]);
    let recs = await pollN(c, 5);
    assert.ok(recs.every((r) => r.partition === 1));
    assert.deepEqual(recs.map((r) => r.offset), [0n, 1n, 2n, 3n, 4n]);
    c.seekToBeginning();
    assert.equal(await c.position({ topic, partition: 0 }), 0n);
    assert.equal(await c.position({ topic, partition: 1 }), 0n);
    c.seekToEnd();
    assert.equal(await c.position({ topic, partition: 0 }), 3n);
    assert.equal(await c.position({ topic, partition: 1 }), 5n);
    assert.deepEqual(await c.poll({ timeoutMs: 100 }), []);
    await produce(topic, 0, values(1, 'z'));
    recs = await pollN(c, 1);
    assert.deepEqual(recs.map((r) => [r.partition, r.offset]), [[0, 3n]]);
    // seekToEnd is lazy: resolved by the next poll even without position().
    c.seekToBeginning([{ topic, partition: 0 }]);
    recs = await pollN(c, 4);
    assert.deepEqual(recs.map((r) => r.offset), [0n, 1n, 2n, 3n]);
  } finally {
    await c.close();
  }
});

test('offsetsForTimes, beginningOffsets and endOffsets', async () => {
  const topic = topicWith('c-times', 2);
  await produce(topic, 0, values(10, 't', 10_000)); // timestamps 10000..10009
  await produce(topic, 0, values(10, 'u', 20_000)); // 20000..20009
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers });
  try {
    const at = async (timestamp: number): Promise<unknown> => (await c.offsetsForTimes([{ topic, partition: 0, timestamp }]))[0];
    assert.deepEqual(await at(0), { topic, partition: 0, offset: 0n, timestamp: 10_000 });
    assert.deepEqual(await at(10_005), { topic, partition: 0, offset: 5n, timestamp: 10_005 });
    assert.deepEqual(await at(15_000), { topic, partition: 0, offset: 10n, timestamp: 20_000 });
    assert.deepEqual(await at(30_000), { topic, partition: 0, offset: null, timestamp: null });
    assert.deepEqual(await c.offsetsForTimes([{ topic, partition: 1, timestamp: 0 }, { topic, partition: 0, timestamp: 20_003 }]), [
      { topic, partition: 1, offset: null, timestamp: null },
      { topic, partition: 0, offset: 13n, timestamp: 20_003 },
    ]);
    await assert.rejects(c.offsetsForTimes([{ topic, partition: 0, timestamp: 1 }, { topic, partition: 0, timestamp: 2 }]), /more than once/);
    assert.deepEqual(await c.beginningOffsets([{ topic, partition: 0 }, { topic, partition: 1 }]), [{ topic, partition: 0, offset: 0n }, { topic, partition: 1, offset: 0n }]);
    assert.deepEqual(await c.endOffsets([{ topic, partition: 0 }, { topic, partition: 1 }]), [{ topic, partition: 0, offset: 20n }, { topic, partition: 1, offset: 0n }]);
    // Seeking to what offsetsForTimes found reads from there.
    const [hit] = await c.offsetsForTimes([{ topic, partition: 0, timestamp: 20_007 }]);
    c.assign([{ topic, partition: 0, offset: hit!.offset! }]);
    const recs = await pollN(c, 3);
    assert.deepEqual(recs.map((r) => r.timestamp), [20_007, 20_008, 20_009]);
    const short = createConsumer({ bootstrapServers: broker.bootstrapServers, defaultApiTimeoutMs: 300 });
    try {
      await assert.rejects(short.endOffsets([{ topic: 'c-no-such-topic', partition: 0 }]), /UNKNOWN_TOPIC_OR_PARTITION/);
    } finally {
      await short.close();
    }
  } finally {
    await c.close();
  }
});

test('pause stops delivering one partition, resume delivers it again (buffered records included)', async () => {
  const topic = topicWith('c-pause', 2);
  await produce(topic, 0, values(5, 'p0'));
  await produce(topic, 1, values(5, 'p1'));
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
  try {
    c.assign([{ topic, partition: 0 }, { topic, partition: 1 }]);
    // Let the first fetch buffer both partitions, then pause one of them.
    const first = await c.poll({ maxRecords: 1, timeoutMs: 5000 });
    assert.equal(first.length, 1);
    const pausedP = first[0]!.partition === 0 ? 1 : 0;
    const otherP = 1 - pausedP;
    c.pause([{ topic, partition: pausedP }]);
    assert.deepEqual(c.paused(), [{ topic, partition: pausedP }]);
    await produce(topic, pausedP, values(3, 'while-paused'));
    await produce(topic, otherP, values(3, 'while-paused'));
    const got = await pollN(c, 4 + 3, 5000);
    assert.ok(got.every((r) => r.partition === otherP), 'nothing from the paused partition');
    assert.deepEqual(await c.poll({ timeoutMs: 300 }), []);
    assert.equal(await c.position({ topic, partition: pausedP }), 0n);
    c.resume([{ topic, partition: pausedP }]);
    assert.deepEqual(c.paused(), []);
    const resumed = await pollN(c, 8);
    assert.ok(resumed.every((r) => r.partition === pausedP));
    assert.deepEqual(resumed.map((r) => r.offset), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
  } finally {
    await c.close();
  }
});

test('the async iterator yields one record at a time; leaving the loop loses nothing', async () => {
  const topic = topicWith('c-iter', 1);
  await produce(topic, 0, values(20, 'it'));
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', keyDeserializer: deserializers.string, valueDeserializer: deserializers.string });
  try {
    c.assign([{ topic, partition: 0 }]);
    const seen: string[] = [];
    for await (const r of c) {
      seen.push(r.value!);
      if (seen.length === 7) break;
    }
    assert.deepEqual(seen, Array.from({ length: 7 }, (_, i) => `it-${i}`));
    assert.equal(await c.position({ topic, partition: 0 }), 7n);
    const rest = await pollN(c, 13);
    assert.equal(rest[0]!.value, 'it-7');
    assert.equal(rest[0]!.key, 'k7');
    // The iterator ends when the consumer closes.
    const iterated: string[] = [];
    const loop = (async () => {
      for await (const r of c) iterated.push(r.value!);
    })();
    await new Promise((r) => setTimeout(r, 100));
    await produce(topic, 0, values(2, 'end'));
    const deadline = Date.now() + 5000;
    while (iterated.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await c.close();
    await loop;
    assert.deepEqual(iterated, ['end-0', 'end-1']);
  } finally {
    await c.close();
  }
});

test('a throwing deserializer stops at that record until the application seeks past it', async () => {
  const topic = topicWith('c-deser', 1);
  await produce(topic, 0, [
    { key: null, value: Buffer.from('{"n":1}'), timestamp: 1 },
    { key: null, value: Buffer.from('not json'), timestamp: 2 },
    { key: null, value: Buffer.from('{"n":3}'), timestamp: 3 },
  ]);
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', valueDeserializer: deserializers.json });
  try {
    c.assign([{ topic, partition: 0 }]);
    const first = await pollN(c, 1);
    assert.deepEqual(first[0]!.value, { n: 1 });
    await assert.rejects(c.poll({ timeoutMs: 1000 }), (e: unknown) => e instanceof RecordDeserializationError && e.offset === 1n && e.partition === 0);
    await assert.rejects(c.poll({ timeoutMs: 1000 }), RecordDeserializationError);
    assert.equal(await c.position({ topic, partition: 0 }), 1n);
    c.seek({ topic, partition: 0 }, 2n);
    assert.deepEqual((await pollN(c, 1))[0]!.value, { n: 3 });
  } finally {
    await c.close();
  }
});

test("autoOffsetReset 'none' without an offset: poll and position reject until a seek", async () => {
  const topic = topicWith('c-none', 1);
  await produce(topic, 0, values(2, 'n'));
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'none' });
  try {
    c.assign([{ topic, partition: 0 }]);
    await assert.rejects(c.poll({ timeoutMs: 100 }), NoOffsetForPartitionError);
    await assert.rejects(c.position({ topic, partition: 0 }), NoOffsetForPartitionError);
    c.seekToBeginning();
    assert.equal((await pollN(c, 2)).length, 2);
  } finally {
    await c.close();
  }
});

test('argument checks, overlapping polls, and close', async () => {
  const topic = topicWith('c-args', 1);
  assert.throws(() => createConsumer({ bootstrapServers: broker.bootstrapServers, fetchMaxBytes: 0 }), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'smallest' as 'earliest' }), /autoOffsetReset/);
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers });
  assert.throws(() => c.assign([{ topic, partition: -1 }]), /invalid partition/);
  assert.throws(() => c.assign([{ topic: '', partition: 0 }]), /invalid topic/);
  assert.throws(() => c.assign([{ topic, partition: 0, offset: -1n }]), /invalid offset/);
  assert.throws(() => c.seek({ topic, partition: 0 }, 0n), /not assigned/);
  assert.throws(() => c.pause([{ topic, partition: 0 }]), /not assigned/);
  await assert.rejects(c.position({ topic, partition: 0 }), /not assigned/);
  await assert.rejects(c.offsetsForTimes([{ topic, partition: 0, timestamp: -5 }]), /invalid timestamp/);
  c.assign([{ topic, partition: 0 }]);
  const waiting = c.poll({ timeoutMs: 10_000 });
  await assert.rejects(c.poll({ timeoutMs: 10 }), /already in progress/);
  await assert.rejects(c.poll({ maxRecords: 0 }), /maxRecords/);
  await c.close();
  assert.deepEqual(await waiting, [], 'close wakes a waiting poll with no records');
  await assert.rejects(c.poll(), (e: unknown) => e instanceof ClientError && e.code === 'CLIENT_CLOSED');
  assert.throws(() => c.assign([]), /closed/);
  await c.close();
});
