// Topic configs altered over the wire (IncrementalAlterConfigs, and legacy AlterConfigs) on a running
// broker change its behaviour at the next retention check, cleaner pass or produce, with no restart:
// retention.ms, retention.bytes, cleanup.policy, min.cleanable.dirty.ratio, segment.bytes,
// max.message.bytes. The broker's own schedulers are parked (hour-long intervals) and the test runs
// the same schedulers' checks itself, so "the next check" is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdmin, createProducer, startBroker, type Admin, type Producer, type RunningBroker } from '../../src/index.js';
import { LogCleanerScheduler } from '../../src/broker/log-cleaner-scheduler.js';
import { RetentionScheduler } from '../../src/broker/retention-scheduler.js';
import { KafkaProtocolError } from '../../src/client/errors.js';

const HOUR = 3_600_000;

interface Live {
  dataDir: string;
  broker: RunningBroker;
  admin: Admin;
  producer: Producer;
  retention: RetentionScheduler;
  cleaner: LogCleanerScheduler;
}

async function withBroker(fn: (live: Live) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-live-config-'));
  let broker: RunningBroker | null = null;
  let admin: Admin | null = null;
  let producer: Producer | null = null;
  try {
    broker = await startBroker({ dataDir, config: { 'log.retention.check.interval.ms': String(HOUR), 'log.cleaner.backoff.ms': String(HOUR) } });
    admin = createAdmin({ bootstrapServers: broker.bootstrapServers });
    producer = createProducer({ bootstrapServers: broker.bootstrapServers, lingerMs: 0 });
    await fn({ dataDir, broker, admin, producer, retention: new RetentionScheduler(broker.broker), cleaner: new LogCleanerScheduler(broker.broker) });
  } finally {
    await producer?.close();
    await admin?.close();
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function set(admin: Admin, topic: string, configs: Record<string, string>): Promise<void> {
  await admin.incrementalAlterConfigs([{ type: 'topic', name: topic, ops: Object.entries(configs).map(([key, value]) => ({ key, op: 'set' as const, value })) }]);
}

function segmentFiles(dataDir: string, topic: string): number {
  return readdirSync(join(dataDir, `${topic}-0`)).filter((n) => n.endsWith('.log')).length;
}

test('retention.ms, retention.bytes and cleanup.policy changes apply at the next retention check', { timeout: 30_000 }, async () => {
  await withBroker(async ({ broker, admin, producer, retention, dataDir }) => {
    await admin.createTopics([{ name: 'live', partitions: 1, configs: { 'segment.bytes': '1024' } }]);
    const log = broker.broker.logs.partition('live', 0)!;
    const send = async (n: number, timestamp?: number) => {
      for (let i = 0; i < n; i++) await producer.send({ topic: 'live', partition: 0, value: Buffer.alloc(300, 'x'), ...(timestamp === undefined ? {} : { timestamp }) });
    };
    await send(12, Date.now() - HOUR);
    await send(2);
    assert.ok(segmentFiles(dataDir, 'live') >= 4, 'several segments');
    assert.deepEqual(retention.runOnce(), [], 'within the default seven days');

    await set(admin, 'live', { 'retention.ms': String(HOUR / 2) });
    const byTime = retention.runOnce();
    assert.equal(byTime.length, 1);
    assert.equal(byTime[0]?.retentionMs, HOUR / 2);
    const startAfterTime = log.logStartOffset();
    assert.ok(startAfterTime > 0 && startAfterTime <= 12, `hour-old segments went (start ${startAfterTime})`);

    await send(12);
    assert.deepEqual(retention.runOnce(), [], 'fresh records are within retention.ms');
    await set(admin, 'live', { 'retention.bytes': '1024' });
    const bySize = retention.runOnce();
    assert.equal(bySize[0]?.retentionBytes, 1024);
    assert.ok(log.logStartOffset() > startAfterTime);
    assert.ok(log.sizeBytes() < 2 * 1024 + 400, `size bounded (${log.sizeBytes()})`);

    // compact alone: retention no longer applies, however large the log.
    await set(admin, 'live', { 'cleanup.policy': 'compact' });
    await send(12);
    const startCompact = log.logStartOffset();
    assert.deepEqual(retention.runOnce(), []);
    assert.equal(log.logStartOffset(), startCompact);
    await set(admin, 'live', { 'cleanup.policy': 'compact,delete' });
    assert.equal(retention.runOnce().length, 1);
    assert.ok(log.logStartOffset() > startCompact);
    assert.ok(log.sizeBytes() < 2 * 1024 + 400, `size bounded again (${log.sizeBytes()})`);
  });
});

test('cleanup.policy and min.cleanable.dirty.ratio changes apply at the next cleaner pass', { timeout: 30_000 }, async () => {
  await withBroker(async ({ broker, admin, producer, cleaner }) => {
    await admin.createTopics([{ name: 'table', partitions: 1, configs: { 'segment.bytes': '1024' } }]);
    const log = broker.broker.logs.partition('table', 0)!;
    const put = (key: string, value: string) => producer.send({ topic: 'table', partition: 0, key: Buffer.from(key), value: Buffer.from(value.padEnd(100, '.')) });
    for (let round = 0; round < 3; round++) for (let k = 0; k < 10; k++) await put(`k${k}`, `v${round}`);
    await put('last', 'x');
    assert.deepEqual(await cleaner.runOnce(), [], 'cleanup.policy=delete: not compacted');

    await set(admin, 'table', { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.9' });
    const first = await cleaner.runOnce();
    assert.deepEqual(first.map((r) => [r.topic, r.reason]), [['table', 'dirty-ratio']]);
    assert.ok((first[0]?.recordsRemoved ?? 0) >= 10);

    // A little new dirt: below 0.9, so the next pass leaves it...
    for (let k = 0; k < 3; k++) await put(`k${k}`, 'v3');
    for (let i = 0; i < 10; i++) await put(`filler${i}`, 'x');
    const size = log.sizeBytes();
    assert.deepEqual(await cleaner.runOnce(), []);
    assert.equal(log.sizeBytes(), size);
    // ...until the ratio is lowered.
    await set(admin, 'table', { 'min.cleanable.dirty.ratio': '0.01' });
    const second = await cleaner.runOnce();
    assert.deepEqual(second.map((r) => [r.topic, r.reason]), [['table', 'dirty-ratio']]);
    assert.ok(log.sizeBytes() < size);
  });
});

test('segment.bytes and max.message.bytes changes apply to the next produce', { timeout: 30_000 }, async () => {
  await withBroker(async ({ admin, producer, dataDir }) => {
    await admin.createTopics([{ name: 'segs', partitions: 1 }]);
    const send = (bytes: number) => producer.send({ topic: 'segs', partition: 0, value: Buffer.alloc(bytes, 'y') });
    for (let i = 0; i < 10; i++) await send(300);
    assert.equal(segmentFiles(dataDir, 'segs'), 1, 'the 1 GiB default');
    await set(admin, 'segs', { 'segment.bytes': '1024' });
    for (let i = 0; i < 10; i++) await send(300);
    assert.ok(segmentFiles(dataDir, 'segs') >= 3, `rolled at the new size (${segmentFiles(dataDir, 'segs')} segments)`);

    await send(2000);
    await set(admin, 'segs', { 'max.message.bytes': '1000' });
    await assert.rejects(send(2000), (err: unknown) => err instanceof KafkaProtocolError && err.code === 'MESSAGE_TOO_LARGE');
    await send(500);
    // Legacy AlterConfigs replaces the whole set: segment.bytes goes back to its default too.
    await admin.alterConfigs([{ type: 'topic', name: 'segs', configs: { 'max.message.bytes': '100000' } }]);
    await send(2000);
    const before = segmentFiles(dataDir, 'segs');
    for (let i = 0; i < 10; i++) await send(300);
    assert.equal(segmentFiles(dataDir, 'segs'), before, 'no more rolls at 1 KiB');
  });
});
