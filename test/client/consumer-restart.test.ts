// The broker restarts mid-stream on the same port and data: Fjord's consumer reconnects and resumes at
// the right offset: every record once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, createProducer, createConsumer } from '../../src/index.js';

test('the consumer resumes at the right offset after a broker restart', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-consumer-restart-'));
  let broker = await startBroker({ dataDir });
  const port = broker.port;
  const bootstrap = broker.bootstrapServers;
  const producer = createProducer({ bootstrapServers: bootstrap, acks: 'all' });
  await Promise.all(Array.from({ length: 500 }, (_, i) => producer.send({ topic: 'resume', partition: 0, value: Buffer.from(`a${i}`) })));
  await producer.close();
  const consumer = createConsumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest', reconnectBackoffMs: 20, reconnectBackoffMaxMs: 200, maxPartitionFetchBytes: 4096 });
  consumer.assign([{ topic: 'resume', partition: 0 }]);
  const got: string[] = [];
  try {
    while (got.length < 200) for (const r of await consumer.poll({ maxRecords: 50, timeoutMs: 500 })) got.push((r.value as Buffer).toString());
    await broker.close();
    broker = await startBroker({ dataDir, port });
    const p2 = createProducer({ bootstrapServers: bootstrap, acks: 'all' });
    await Promise.all(Array.from({ length: 100 }, (_, i) => p2.send({ topic: 'resume', partition: 0, value: Buffer.from(`b${i}`) })));
    await p2.close();
    const deadline = Date.now() + 30_000;
    while (got.length < 600 && Date.now() < deadline) for (const r of await consumer.poll({ timeoutMs: 500 })) got.push((r.value as Buffer).toString());
    assert.deepEqual(got, [...Array.from({ length: 500 }, (_, i) => `a${i}`), ...Array.from({ length: 100 }, (_, i) => `b${i}`)]);
  } finally {
    await consumer.close();
    await broker.close();
  }
});
