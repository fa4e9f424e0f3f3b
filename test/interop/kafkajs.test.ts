// kafkajs 2.2.4 (npm, written by others) against an embedded Fjord broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, CompressionTypes, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
let kafka: Kafka;

before(async () => {
  broker = await startBroker();
  kafka = new Kafka({ clientId: 'fjord-test', brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
});

after(async () => {
  await broker.close();
});

test('kafkajs admin creates, lists and describes topics', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 3 }] }), true);
    assert.equal(await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 3 }] }), false);
    assert.ok((await admin.listTopics()).includes('kjs-admin'));
    const meta = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] });
    assert.equal(meta.topics[0]!.partitions.length, 3);
    const offsets = await admin.fetchTopicOffsets('kjs-admin');
    assert.deepEqual(offsets.map((o) => [o.partition, o.offset, o.low]).sort(), [[0, '0', '0'], [1, '0', '0'], [2, '0', '0']]);
  } finally {
    await admin.disconnect();
  }
});

test('kafkajs produces with keys, headers and null values, and consumes them from the beginning', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'kjs-rt', numPartitions: 2 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: 50 }, (_, i) => ({
    key: `key-${i % 7}`,
    value: i % 10 === 9 ? null : `value-${i}`,
    headers: { 'h-index': String(i), 'h-kind': 'test' },
  }));
  const acks = await producer.send({ topic: 'kjs-rt', messages, acks: -1 });
  assert.ok(acks.length >= 1);
  for (const a of acks) assert.equal(a.errorCode, 0);
  await producer.disconnect();

  const received: Array<{ partition: number; offset: string; key: string | null; value: string | null; h: string }> = [];
  const admin2 = kafka.admin();
  await admin2.connect();
  const consumerOffsets = await admin2.fetchTopicOffsets('kjs-rt');
  await admin2.disconnect();
  const total = consumerOffsets.reduce((s, o) => s + Number(o.high), 0);
  assert.equal(total, 50);
  // kafkajs's consumer needs a group coordinator; read with a raw fetch through the admin-less path:
  // the group API arrives with the consumer-groups issue, so here we use kafkajs's low-level cluster.
  const { fetchAll } = await import('./kafkajs-fetch.js');
  for (const partition of [0, 1]) {
    for (const m of await fetchAll(broker.bootstrapServers, 'kjs-rt', partition)) {
      received.push({ partition, offset: m.offset, key: m.key, value: m.value, h: m.headers['h-index'] ?? '' });
    }
  }
  assert.equal(received.length, 50);
  // Same key, same partition, in send order.
  const byKey = new Map<string, number>();
  for (const r of received) {
    const prev = byKey.get(r.key!);
    if (prev !== undefined) assert.equal(prev, r.partition);
    byKey.set(r.key!, r.partition);
  }
  for (const partition of [0, 1]) {
    const idx = received.filter((r) => r.partition === partition).map((r) => Number(r.h));
    assert.deepEqual(idx, [...idx].sort((a, b) => a - b));
  }
  const nine = received.find((r) => r.h === '9')!;
  assert.equal(nine.value, null);
  assert.equal(received.find((r) => r.h === '3')!.value, 'value-3');
});

test('kafkajs produces with gzip compression', async () => {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const value = 'compressible '.repeat(100);
  await producer.send({ topic: 'kjs-gzip', compression: CompressionTypes.GZIP, messages: Array.from({ length: 20 }, (_, i) => ({ key: String(i), value: value + i })) });
  await producer.disconnect();
  const { fetchAll } = await import('./kafkajs-fetch.js');
  const got = await fetchAll(broker.bootstrapServers, 'kjs-gzip', 0);
  assert.equal(got.length, 20);
  assert.equal(got[19]!.value, value + '19');
});
