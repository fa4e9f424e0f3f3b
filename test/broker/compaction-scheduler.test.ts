import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, type Logger } from '../../src/broker/broker.js';
import { BrokerConfig } from '../../src/broker/broker-config.js';
import { LogCleanerScheduler } from '../../src/broker/log-cleaner-scheduler.js';
import { systemRandom } from '../../src/io/random.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { createMemoryLogManager } from '../../src/storage/index.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { ManualClock } from '../storage/manual-clock.js';

test('log cleaner scheduler compacts topics whose cleanup.policy includes compact, every interval', async () => {
  const clock = new ManualClock();
  const logs = createMemoryLogManager();
  await logs.open();
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(`ERROR ${m}`) };
  const broker = new Broker({ config: new BrokerConfig({}), logs, clock, random: systemRandom, log, clusterId: 'c', advertisedHost: 'h', advertisedPort: 1 });
  broker.createTopic('compacted', 1, -1, { 'cleanup.policy': 'compact,delete', 'min.cleanable.dirty.ratio': '0' });
  broker.createTopic('plain', 1, -1, {});
  for (const name of ['compacted', 'plain']) {
    const p = logs.partition(name, 0) as PartitionLog;
    for (let i = 0; i < 5; i++) p.append(await buildRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from(`v${i}`), timestamp: clock.now() - 1 }] }));
  }
  const scheduler = new LogCleanerScheduler(broker, { intervalMs: 1000 });
  assert.equal(scheduler.intervalMs, 1000);
  const runs = await scheduler.runOnce();
  assert.deepEqual(runs.map((r) => r.topic), ['compacted']);
  assert.ok((logs.partition('compacted', 0) as PartitionLog).sizeBytes() < (logs.partition('plain', 0) as PartitionLog).sizeBytes());
  assert.ok(lines.some((l) => l.startsWith('Cleaned compacted-0')));
  scheduler.start();
  scheduler.stop();
  assert.equal(new LogCleanerScheduler(broker).intervalMs, 15_000);
});
