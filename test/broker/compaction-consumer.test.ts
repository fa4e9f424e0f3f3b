// After compaction, Fjord's consumer reads a log with offset gaps: the latest value of every key, in
// offset order, and continues past the gaps to new records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, createProducer, createConsumer, createAdmin } from '../../src/index.js';
import { LogCleanerScheduler } from '../../src/broker/log-cleaner-scheduler.js';

test('a consumer reads a compacted log with gaps', async () => {
  const broker = await startBroker({ dataDir: mkdtempSync(join(tmpdir(), 'fjord-compact-')), config: { 'log.segment.bytes': '1024' } });
  try {
    const admin = createAdmin({ bootstrapServers: broker.bootstrapServers });
    await admin.createTopics([{ name: 'state', partitions: 1, configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.01' } }]);
    await admin.close();
    const producer = createProducer({ bootstrapServers: broker.bootstrapServers, lingerMs: 0 });
    for (let i = 0; i < 200; i++) await producer.send({ topic: 'state', partition: 0, key: Buffer.from(`k${i % 10}`), value: Buffer.from(`v${i}`) });
    await producer.close();
    const runs = await new LogCleanerScheduler(broker.broker, { intervalMs: 1_000_000 }).runOnce();
    assert.ok(runs.length > 0, 'the cleaner ran');
    const log = broker.broker.logs.partition('state', 0)!;
    assert.equal(log.logEndOffset(), 200);

    const consumer = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
    consumer.assign([{ topic: 'state', partition: 0 }]);
    const got: Array<[bigint, string, string]> = [];
    for (let i = 0; i < 50 && (got.length === 0 || got[got.length - 1]![0] < 199n); i++) {
      for (const r of await consumer.poll({ timeoutMs: 300 })) got.push([r.offset, (r.key as Buffer).toString(), (r.value as Buffer).toString()]);
    }
    await consumer.close();
    const offsets = got.map((g) => g[0]);
    assert.deepEqual(offsets, [...offsets].sort((a, b) => (a < b ? -1 : 1)), 'in offset order');
    assert.ok(got.length < 200, `compaction removed records (${got.length} left)`);
    assert.equal(got[got.length - 1]![0], 199n, 'read to the end across the gaps');
    // The latest value of every key is there, at its original offset.
    for (let k = 0; k < 10; k++) {
      const last = 190 + k;
      assert.ok(got.some(([o, key, v]) => o === BigInt(last) && key === `k${k}` && v === `v${last}`), `k${k}`);
    }
  } finally {
    await broker.close();
  }
});
