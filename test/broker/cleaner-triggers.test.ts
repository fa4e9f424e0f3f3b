// The log cleaner scheduler on a manual clock: max.compaction.lag.ms cleans a log whose dirty ratio is
// below min.cleanable.dirty.ratio, and tombstones kept by one pass are removed by a later one once
// delete.retention.ms has passed, with no new writes, also after a restart and after a config change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, type Logger } from '../../src/broker/broker.js';
import { BrokerConfig } from '../../src/broker/broker-config.js';
import { LogCleanerScheduler } from '../../src/broker/log-cleaner-scheduler.js';
import { systemRandom } from '../../src/io/random.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/records/record-batch-reader.js';
import { createDiskLogManager, createMemoryLogManager } from '../../src/storage/index.js';
import type { LogManager, PartitionLog } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { ManualClock } from '../storage/manual-clock.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const INTERVAL = 15 * SECOND;

interface Setup {
  clock: ManualClock;
  logs: LogManager;
  broker: Broker;
  lines: string[];
  fs: MemoryFileSystem | null;
}

async function setup(engine: 'memory' | 'disk', clock = new ManualClock(), fs: MemoryFileSystem | null = engine === 'disk' ? new MemoryFileSystem() : null): Promise<Setup> {
  const logs =
    fs === null ? createMemoryLogManager() : createDiskLogManager({ logDir: '/data', fs, clock, options: { segmentBytes: 300 } });
  await logs.open();
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(`ERROR ${m}`) };
  const broker = new Broker({ config: new BrokerConfig({}), logs, clock, random: systemRandom, log, clusterId: 'c', advertisedHost: 'h', advertisedPort: 1 });
  return { clock, logs, broker, lines, fs };
}

async function put(p: PartitionLog, key: string, value: string | null, timestamp: number): Promise<number> {
  return p.append(await buildRecordBatch({ records: [{ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp }] })).baseOffset;
}

async function contents(p: PartitionLog): Promise<Array<[string, string | null]>> {
  const r = p.read(p.logStartOffset(), 1 << 24, true);
  const out: Array<[string, string | null]> = [];
  for (const b of await decodeRecordBatches(Buffer.concat(r.chunks), { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
    for (const rec of b.records) out.push([rec.key?.toString() ?? '', rec.value?.toString() ?? null]);
  }
  return out;
}

/** Advance to the next timer-driven pass and wait for it (runOnce joins the pass in flight). */
async function tick(clock: ManualClock, scheduler: LogCleanerScheduler, ms = INTERVAL): Promise<Array<{ topic: string; reason: string | undefined; recordsRemoved: number }>> {
  clock.advance(ms);
  const runs = await scheduler.runOnce();
  return runs.map((r) => ({ topic: r.topic, reason: r.reason, recordsRemoved: r.recordsRemoved }));
}

for (const engine of ['memory', 'disk'] as const) {
  test(`${engine}: max.compaction.lag.ms cleans a log below min.cleanable.dirty.ratio once its dirty data is old enough`, async () => {
    const { clock, logs, broker, lines } = await setup(engine);
    broker.createTopic('lagged', 1, -1, { 'cleanup.policy': 'compact', 'max.compaction.lag.ms': String(2 * MINUTE) });
    broker.createTopic('unbounded', 1, -1, { 'cleanup.policy': 'compact' });
    const scheduler = new LogCleanerScheduler(broker, { intervalMs: INTERVAL });
    for (const t of ['lagged', 'unbounded']) {
      const p = logs.partition(t, 0)!;
      for (let k = 0; k < 30; k++) await put(p, `k${k}`, 'v0', clock.now());
    }
    scheduler.start();
    assert.deepEqual((await tick(clock, scheduler)).map((r) => [r.topic, r.reason]), [['lagged', 'dirty-ratio'], ['unbounded', 'dirty-ratio']]);
    // A few duplicates over a large clean part: the ratio stays under 0.5.
    for (const t of ['lagged', 'unbounded']) {
      const p = logs.partition(t, 0)!;
      await put(p, 'k0', 'v1', clock.now());
      for (let i = 0; i < 8; i++) await put(p, `f${i}`, 'x', clock.now());
    }
    const dirtySince = clock.now() - INTERVAL; // the oldest dirty unit starts with a first-pass record
    // Passes at +15 s ... +2 min after that timestamp: nothing is old enough.
    for (let t = clock.now(); t + INTERVAL <= dirtySince + 2 * MINUTE; t += INTERVAL) assert.deepEqual(await tick(clock, scheduler), [], `at ${clock.now() - dirtySince} ms`);
    const k0Count = async (t: string) => (await contents(logs.partition(t, 0)!)).filter(([k]) => k === 'k0').length;
    assert.equal(await k0Count('lagged'), 2);
    const runs = await tick(clock, scheduler);
    assert.deepEqual(runs.map((r) => [r.topic, r.reason]), [['lagged', 'max-compaction-lag']]);
    assert.ok(clock.now() - dirtySince > 2 * MINUTE);
    assert.equal(await k0Count('lagged'), 1, 'the old k0 is gone');
    assert.equal(await k0Count('unbounded'), 2, 'without max.compaction.lag.ms the ratio still rules');
    assert.ok(lines.some((l) => l.startsWith('Cleaned lagged-0') && l.includes('max.compaction.lag.ms exceeded')), lines.join('\n'));
    scheduler.stop();
    await logs.close();
  });

  test(`${engine}: tombstones kept by one pass expire at a later one with no new writes`, async () => {
    const { clock, logs, broker, lines } = await setup(engine);
    broker.createTopic('table', 1, -1, { 'cleanup.policy': 'compact', 'delete.retention.ms': String(MINUTE) });
    const p = logs.partition('table', 0)!;
    const written = clock.now();
    await put(p, 'a', 'a1', written);
    await put(p, 'b', 'b1', written);
    await put(p, 'a', null, written);
    for (let i = 0; i < 8; i++) await put(p, 'c', `c${i}`, written);
    const scheduler = new LogCleanerScheduler(broker, { intervalMs: INTERVAL });
    scheduler.start();
    const first = await tick(clock, scheduler);
    assert.deepEqual(first.map((r) => r.reason), ['dirty-ratio']);
    assert.deepEqual((await contents(p)).filter(([k]) => k === 'a'), [['a', null]], 'the tombstone stays for delete.retention.ms');
    // Until a minute has passed since the tombstone's timestamp, passes find nothing to do.
    while (clock.now() + INTERVAL <= written + MINUTE) assert.deepEqual(await tick(clock, scheduler), []);
    assert.deepEqual((await contents(p)).filter(([k]) => k === 'a'), [['a', null]]);
    const expiry = await tick(clock, scheduler);
    assert.deepEqual(expiry, [{ topic: 'table', reason: 'tombstones', recordsRemoved: 1 }]);
    const after = await contents(p);
    assert.deepEqual(after.filter(([k]) => k !== 'c'), [['b', 'b1']]);
    assert.ok(lines.some((l) => l.startsWith('Cleaned table-0') && l.includes('tombstones past delete.retention.ms')), lines.join('\n'));
    // Nothing more is due: later passes stay idle.
    assert.deepEqual(await tick(clock, scheduler), []);
    assert.deepEqual(await tick(clock, scheduler, 10 * MINUTE), []);
    scheduler.stop();
    await logs.close();
  });

  test(`${engine}: a lower delete.retention.ms applies to tombstones already kept`, async () => {
    const { clock, logs, broker } = await setup(engine);
    broker.createTopic('table', 1, -1, { 'cleanup.policy': 'compact', 'delete.retention.ms': String(60 * MINUTE) });
    const p = logs.partition('table', 0)!;
    await put(p, 'a', 'a1', clock.now());
    await put(p, 'a', null, clock.now());
    for (let i = 0; i < 8; i++) await put(p, 'c', `c${i}`, clock.now());
    const scheduler = new LogCleanerScheduler(broker, { intervalMs: INTERVAL });
    assert.deepEqual((await scheduler.runOnce()).map((r) => r.reason), ['dirty-ratio']);
    clock.advance(5 * MINUTE);
    assert.deepEqual(await scheduler.runOnce(), []);
    assert.ok((await contents(p)).some(([k]) => k === 'a'));
    logs.setTopicConfigs('table', { 'cleanup.policy': 'compact', 'delete.retention.ms': String(MINUTE) });
    assert.deepEqual((await scheduler.runOnce()).map((r) => [r.reason, r.recordsRemoved]), [['tombstones', 1]]);
    assert.ok(!(await contents(p)).some(([k]) => k === 'a'));
    await logs.close();
  });
}

test('disk: after a restart, the first pass removes tombstones that fell due while the broker was down', async () => {
  const fs = new MemoryFileSystem();
  const clock = new ManualClock();
  let s = await setup('disk', clock, fs);
  s.broker.createTopic('table', 1, -1, { 'cleanup.policy': 'compact', 'delete.retention.ms': String(MINUTE) });
  let p = s.logs.partition('table', 0)!;
  await put(p, 'a', 'a1', clock.now());
  await put(p, 'a', null, clock.now());
  for (let i = 0; i < 8; i++) await put(p, 'c', `c${i}`, clock.now());
  assert.deepEqual((await new LogCleanerScheduler(s.broker).runOnce()).map((r) => r.reason), ['dirty-ratio']);
  assert.ok((await contents(p)).some(([k]) => k === 'a'));
  await s.logs.close();

  clock.advance(2 * MINUTE);
  s = await setup('disk', clock, fs);
  p = s.logs.partition('table', 0)!;
  assert.ok((await contents(p)).some(([k]) => k === 'a'), 'still there after reopening');
  const scheduler = new LogCleanerScheduler(s.broker);
  assert.deepEqual((await scheduler.runOnce()).map((r) => [r.reason, r.recordsRemoved]), [['tombstones', 1]]);
  assert.ok(!(await contents(p)).some(([k]) => k === 'a'));
  // The start-up check found out; the next pass does nothing and logs nothing.
  const before = s.lines.length;
  assert.deepEqual(await scheduler.runOnce(), []);
  assert.equal(s.lines.length, before);
  await s.logs.close();
});
