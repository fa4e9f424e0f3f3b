// @platformatic/kafka 1.35.0 (npm, written by others; flexible versions only: Metadata v12,
// Produce v9+, Fetch v12-17 with topic ids) against an embedded Fjord broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Producer, Consumer, stringSerializers, ProduceAcks } from '@platformatic/kafka';
import { startBroker, type RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
const clientOpts = (): { clientId: string; bootstrapBrokers: string[]; retries: number } => ({ clientId: 'fjord-pk-test', bootstrapBrokers: [broker.bootstrapServers], retries: 2 });

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.close();
});

interface Got { offset: bigint; key: string | null; value: string | null; headers: Record<string, string> }

/** Read a whole partition with the client's own Fetch (by topic id) and record decoder. */
async function readPartition(topic: string, partition: number): Promise<Got[]> {
  const consumer = new Consumer({ ...clientOpts(), groupId: 'unused-fetch-only' });
  try {
    const meta = await consumer.metadata({ topics: [topic] });
    const t = meta.topics.get(topic)!;
    const leader = t.partitions[partition]!.leader;
    const out: Got[] = [];
    let offset = 0n;
    for (let round = 0; round < 1000; round++) {
      const res = await consumer.fetch({
        node: leader,
        maxWaitTime: 100,
        topics: [{ topicId: t.id, partitions: [{ partition, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
      });
      const p = res.responses[0]!.partitions[0]!;
      assert.equal(p.errorCode, 0);
      for (const batch of p.records ?? []) {
        for (const r of batch.records) {
          const o = batch.firstOffset + BigInt(r.offsetDelta);
          if (o < offset) continue;
          const headers: Record<string, string> = {};
          for (const [k, v] of r.headers) headers[k!.toString()] = v?.toString() ?? '';
          out.push({ offset: o, key: r.key?.toString() ?? null, value: r.value === null ? null : r.value.toString(), headers });
          offset = o + 1n;
        }
      }
      if (offset >= p.highWatermark) break;
    }
    return out;
  } finally {
    await consumer.close();
  }
}

test('platformatic admin creates and lists a topic', async () => {
  const admin = new Admin(clientOpts());
  try {
    const created = await admin.createTopics({ topics: ['pk-admin'], partitions: 4, replicas: 1 });
    assert.equal(created[0]!.name, 'pk-admin');
    assert.equal(created[0]!.partitions, 4);
    assert.ok((await admin.listTopics()).includes('pk-admin'));
    await assert.rejects(admin.createTopics({ topics: ['pk-admin'], partitions: 1, replicas: 1 }));
  } finally {
    await admin.close();
  }
});

for (const compression of ['none', 'gzip', 'snappy', 'lz4'] as const) {
  test(`platformatic produces (${compression}) with keys, headers and null values and reads them back`, async () => {
    const topic = `pk-rt-${compression}`;
    const admin = new Admin(clientOpts());
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    await admin.close();
    const producer = new Producer({ ...clientOpts(), serializers: stringSerializers, compression });
    const body = 'payload '.repeat(150);
    try {
      for (let i = 0; i < 3; i++) {
        const res = await producer.send({
          acks: ProduceAcks.ALL,
          messages: Array.from({ length: 10 }, (_, j) => ({
            topic,
            partition: 0,
            key: `k${i * 10 + j}`,
            value: (i * 10 + j) % 7 === 6 ? (null as unknown as string) : `${body}${i * 10 + j}`,
            headers: new Map([['idx', String(i * 10 + j)]]),
          })),
        });
        assert.ok(res.offsets !== undefined && res.offsets.length > 0);
      }
    } finally {
      await producer.close();
    }
    const got = await readPartition(topic, 0);
    assert.equal(got.length, 30);
    got.forEach((g, i) => {
      assert.equal(g.offset, BigInt(i));
      assert.equal(g.key, `k${i}`);
      assert.equal(g.headers['idx'], String(i));
      assert.equal(g.value, i % 7 === 6 ? null : `${body}${i}`);
    });
  });
}
