// @platformatic/kafka 1.35.0 consumer groups (flexible JoinGroup/SyncGroup/Heartbeat/OffsetCommit)
// against Fjord: two members share the partitions, everything is consumed, offsets are committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, Producer, Admin, stringSerializers, stringDeserializers, MessagesStreamModes } from '@platformatic/kafka';
import { startBroker } from '../../src/index.js';

test('two platformatic consumers in a group consume every record (at least once) and commit them', { timeout: 90_000 }, async () => {
  const broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } });
  const base = { clientId: 'pk-group', bootstrapBrokers: [broker.bootstrapServers], retries: 5 };
  const admin = new Admin(base);
  const consumers: Array<Consumer<string, string, string, string>> = [];
  try {
    await admin.createTopics({ topics: ['pk-group-topic'], partitions: 4, replicas: 1 });
    const producer = new Producer({ ...base, serializers: stringSerializers });
    for (let i = 0; i < 4; i++) {
      await producer.send({ messages: Array.from({ length: 25 }, (_, j) => ({ topic: 'pk-group-topic', key: `k${i * 25 + j}`, value: `v${i * 25 + j}`, partition: i })) });
    }
    await producer.close();

    const seen = new Map<string, number>();
    for (let c = 0; c < 2; c++) {
      const consumer = new Consumer({ ...base, groupId: 'pk-group', deserializers: stringDeserializers, maxWaitTime: 100, sessionTimeout: 10_000, heartbeatInterval: 300 });
      consumers.push(consumer);
      const stream = await consumer.consume({ autocommit: 100, topics: ['pk-group-topic'], mode: MessagesStreamModes.COMMITTED, fallbackMode: 'earliest' });
      stream.on('data', (m: { value: string }) => seen.set(m.value, (seen.get(m.value) ?? 0) + 1));
    }
    const deadline = Date.now() + 30_000;
    while (seen.size < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.size, 100);
    const g = broker.broker.groups.coordinator.group('pk-group')!;
    assert.equal(g.members.size, 2);
    assert.equal(g.protocolType, 'consumer');
    // Let auto-commit run, then check the committed offsets reach the end.
    const commitDeadline = Date.now() + 10_000;
    const committed = (): bigint => [...g.offsets.values()].reduce((s, o) => s + o.offset, 0n);
    while (committed() < 100n && Date.now() < commitDeadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(committed(), 100n);
  } finally {
    for (const c of consumers) await c.close(true);
    await admin.close();
    await broker.close();
  }
});
