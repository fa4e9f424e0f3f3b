// Fjord's consumer in a group with each built-in assignor against a real broker: three members split
// six partitions (two each), and every record is consumed exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, createProducer, createConsumer, createAdmin, type RunningBroker } from '../../src/index.js';

let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '300', 'group.min.session.timeout.ms': '100' } });
});
after(async () => {
  await broker.close();
});

for (const assignor of ['range', 'roundrobin', 'cooperative-sticky'] as const) {
  test(`three Fjord consumers with ${assignor} share six partitions and consume each record once`, { timeout: 60_000 }, async () => {
    const topic = `assign-${assignor}`;
    const admin = createAdmin({ bootstrapServers: broker.bootstrapServers });
    await admin.createTopics([{ name: topic, partitions: 6 }]);
    await admin.close();
    const producer = createProducer({ bootstrapServers: broker.bootstrapServers });
    await Promise.all(Array.from({ length: 600 }, (_, i) => producer.send({ topic, partition: i % 6, value: Buffer.from(`v${i}`) })));
    await producer.close();

    const members = Array.from({ length: 3 }, () =>
      createConsumer({ bootstrapServers: broker.bootstrapServers, groupId: `g-${assignor}`, partitionAssignors: [assignor], autoOffsetReset: 'earliest', sessionTimeoutMs: 6000, heartbeatIntervalMs: 200 }),
    );
    const seen = new Map<string, number>();
    const owned = members.map(() => new Set<number>());
    try {
      members.forEach((m) => m.subscribe([topic]));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (seen.size < 600 || owned.some((o) => o.size !== 2))) {
        await Promise.all(
          members.map(async (m, i) => {
            for (const r of await m.poll({ timeoutMs: 100 })) seen.set((r.value as Buffer).toString(), (seen.get((r.value as Buffer).toString()) ?? 0) + 1);
            owned[i] = new Set(m.assignment().map((a) => a.partition));
          }),
        );
      }
      assert.equal(seen.size, 600);
      assert.ok([...seen.values()].every((n) => n === 1), 'each record once');
      assert.deepEqual(owned.map((o) => o.size), [2, 2, 2]);
      assert.deepEqual(owned.flatMap((o) => [...o]).sort(), [0, 1, 2, 3, 4, 5]);
      assert.equal(broker.broker.groups.coordinator.group(`g-${assignor}`)!.protocol, assignor);
    } finally {
      await Promise.all(members.map((m) => m.close()));
    }
  });
}
