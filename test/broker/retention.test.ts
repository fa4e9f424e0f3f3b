// Log retention end to end on the disk engine: the scheduler deletes expired segments of a topic,
// ListOffsets earliest moves, a consumer at offset 0 gets OFFSET_OUT_OF_RANGE and, with
// autoOffsetReset 'earliest', follows to the new log start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConsumer, createProducer, startBroker } from '../../src/index.js';
import { OffsetOutOfRangeError } from '../../src/client/consumer/index.js';

const TOPIC = 'aging';
const HOUR = 3_600_000;

test('retention deletes expired segments; consumers below the new start reset', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-retention-'));
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(`ERROR ${m}`) };
  const broker = await startBroker({ dataDir, logger, config: { 'log.retention.check.interval.ms': '100', 'log.segment.bytes': '2048' } });
  const producer = createProducer({ bootstrapServers: broker.bootstrapServers, lingerMs: 0 });
  const tp = { topic: TOPIC, partition: 0 };
  const consumers: Array<{ close(): Promise<void> }> = [];
  try {
    // Default retention (7 days) first: nothing of an hour-old log may go.
    broker.broker.createTopic(TOPIC, 1, 1, {});
    const old = Date.now() - HOUR;
    const value = (i: number) => Buffer.from(`old-${i}-`.padEnd(300, '.'));
    for (let i = 0; i < 20; i++) await producer.send({ ...tp, value: value(i), timestamp: old + i });
    const fresh: bigint[] = [];
    for (let i = 0; i < 3; i++) fresh.push((await producer.send({ ...tp, value: Buffer.from(`fresh-${i}`) })).offset);
    const segmentFiles = () => readdirSync(join(dataDir, `${TOPIC}-0`)).filter((n) => n.endsWith('.log')).length;
    const before = segmentFiles();
    assert.ok(before >= 3, `several segments (${before})`);
    const log = broker.broker.logs.partition(TOPIC, 0)!;
    await sleep(300);
    assert.equal(log.logStartOffset(), 0, 'within the default retention');

    // retention.ms of a minute: the hour-old segments go at the next check.
    broker.broker.logs.setTopicConfigs(TOPIC, { 'retention.ms': '60000' });
    for (let i = 0; i < 100 && log.logStartOffset() === 0; i++) await sleep(50);
    const start = log.logStartOffset();
    assert.ok(start > 0, 'log start moved');
    assert.ok(start <= Number(fresh[0]), 'the segment holding fresh records stays');
    assert.ok(segmentFiles() < before, `segments deleted (${before} -> ${segmentFiles()})`);
    assert.ok(lines.some((l) => l.includes(`of ${TOPIC}-0 by retention`) && l.includes(`log start offset is now ${start}`)), lines.join('\n'));

    // ListOffsets earliest.
    const strict = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'none' });
    consumers.push(strict);
    assert.deepEqual(await strict.beginningOffsets([tp]), [{ ...tp, offset: BigInt(start) }]);

    // Fetch at 0 is OFFSET_OUT_OF_RANGE: with no reset policy the consumer surfaces it...
    strict.assign([{ ...tp, offset: 0n }]);
    await assert.rejects(strict.poll({ timeoutMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof OffsetOutOfRangeError, String(err));
      assert.deepEqual(err.partitions.map((p) => p.offset), [0n]);
      return true;
    });

    // ...and with 'earliest' it follows to the new log start and reads everything left.
    const follower = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
    consumers.push(follower);
    follower.assign([{ ...tp, offset: 0n }]);
    const got: Array<{ offset: bigint; value: string }> = [];
    for (let i = 0; i < 50 && got.length < 23 - start; i++) {
      for (const r of await follower.poll({ timeoutMs: 200 })) got.push({ offset: r.offset, value: String(r.value) });
    }
    assert.equal(got[0]?.offset, BigInt(start));
    assert.deepEqual(got.map((r) => r.offset), Array.from({ length: 23 - start }, (_, i) => BigInt(start + i)));
    assert.deepEqual(got.slice(-3).map((r) => r.value), ['fresh-0', 'fresh-1', 'fresh-2']);
  } finally {
    for (const c of consumers) await c.close();
    await producer.close();
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('retention survives a broker restart on the same data directory', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-retention-'));
  const config = { 'log.retention.check.interval.ms': '100', 'log.segment.bytes': '2048' };
  try {
    let broker = await startBroker({ dataDir, config });
    const producer = createProducer({ bootstrapServers: broker.bootstrapServers, lingerMs: 0 });
    broker.broker.createTopic(TOPIC, 1, 1, { 'retention.bytes': '2048' });
    for (let i = 0; i < 30; i++) await producer.send({ topic: TOPIC, partition: 0, value: Buffer.from(`r-${i}-`.padEnd(300, '.')) });
    await producer.close();
    let log = broker.broker.logs.partition(TOPIC, 0)!;
    for (let i = 0; i < 100 && log.logStartOffset() === 0; i++) await sleep(50);
    await sleep(300); // a check may have run mid-production: let the next ones finish the job
    const start = log.logStartOffset();
    assert.ok(start > 0, 'size retention moved the log start');
    assert.ok(log.sizeBytes() < 2 * 2048, `size bounded (${log.sizeBytes()})`);
    await broker.close();
    broker = await startBroker({ dataDir, config });
    log = broker.broker.logs.partition(TOPIC, 0)!;
    assert.equal(log.logStartOffset(), start);
    assert.equal(log.logEndOffset(), 30);
    await broker.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
