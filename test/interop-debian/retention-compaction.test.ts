// Retention and compaction seen by real Debian clients, on the disk engine with short intervals:
// (a) kafka-python writes hour-old and fresh records; once retention.ms is lowered the broker's
//     retention check deletes the old segments, and confluent-kafka consumers whose group committed
//     an offset below the new log start get OFFSET_OUT_OF_RANGE and follow auto.offset.reset
//     (earliest: the first remaining record; latest: the end; error: the error surfaces).
// (b) confluent-kafka writes a compacted topic with repeated keys and tombstones; after cleaning,
//     kafka-python reading from the beginning gets exactly the latest value per key (tombstones
//     included, at their original offsets), and once delete.retention.ms has passed, with no new
//     writes, the tombstones are gone too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdmin, startBroker, type Admin, type RunningBroker } from '../../src/index.js';
import { decodeRecordBatches } from '../../src/protocol/records/record-batch-reader.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { runPyJson } from './helpers.js';

const HOUR = 3_600_000;

interface Harness {
  broker: RunningBroker;
  admin: Admin;
  lines: string[];
}

/** A disk broker with second-scale retention and cleaner intervals; everything closed in finally. */
async function withBroker(fn: (h: Harness) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-interop-lifecycle-'));
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(`ERROR ${m}`) };
  let broker: RunningBroker | null = null;
  let admin: Admin | null = null;
  try {
    broker = await startBroker({
      dataDir,
      logger,
      config: {
        'log.retention.check.interval.ms': '200',
        'log.cleaner.backoff.ms': '200',
        'group.initial.rebalance.delay.ms': '0',
        'group.min.session.timeout.ms': '1000',
      },
    });
    admin = createAdmin({ bootstrapServers: broker.bootstrapServers });
    await fn({ broker, admin, lines });
  } finally {
    await admin?.close();
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface ResetRun {
  low: number;
  high: number;
  assigned: number[];
  records: Array<[number, string]>;
  errors: Array<{ code: number; name: string; str: string; is_auto_offset_reset: boolean }>;
}

test('retention deletes old segments; confluent-kafka groups committed below the log start reset per auto.offset.reset', { timeout: 90_000 }, async () => {
  await withBroker(async ({ broker, admin, lines }) => {
    const topic = 'aging';
    const bootstrap = broker.bootstrapServers;
    const produced = await runPyJson<{ old: number[]; fresh: number[] }>(
      'kafka_python_timed_produce.py',
      [bootstrap, topic, '20', String(Date.now() - HOUR), '5', 'segment.bytes=1024'],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(produced.old, Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(produced.fresh, [20, 21, 22, 23, 24]);
    const log = broker.broker.logs.partition(topic, 0) as PartitionLog;
    await sleep(500); // a couple of retention checks under the default seven days
    assert.equal(log.logStartOffset(), 0, 'nothing is old enough for retention.ms=7 days');

    const groups = ['g-earliest', 'g-latest', 'g-error'];
    for (const g of groups) {
      const c = await runPyJson<{ committed: number }>('confluent_offset_reset.py', ['commit', bootstrap, topic, g, '3'], { timeoutMs: 30_000 });
      assert.equal(c.committed, 3);
    }

    await admin.incrementalAlterConfigs([{ type: 'topic', name: topic, ops: [{ key: 'retention.ms', op: 'set', value: '60000' }] }]);
    await waitFor('retention to move the log start', () => log.logStartOffset() > 3);
    const start = log.logStartOffset();
    assert.ok(start <= 20, `the segment holding fresh records stays (start ${start})`);
    assert.ok(lines.some((l) => l.includes(`of ${topic}-0 by retention`) && l.includes(`log start offset is now ${start}`)), lines.join('\n'));

    // auto.offset.reset=error: the out-of-range fetch surfaces as librdkafka's _AUTO_OFFSET_RESET error.
    const strict = await runPyJson<ResetRun>('confluent_offset_reset.py', ['consume', bootstrap, topic, 'g-error', 'error'], { timeoutMs: 60_000 });
    assert.deepEqual(strict.records, []);
    assert.ok(strict.errors.length > 0 && strict.errors[0]?.is_auto_offset_reset, JSON.stringify(strict.errors));
    assert.match(strict.errors[0]?.str ?? '', /out of range/i);

    // earliest: from the first remaining record to the end, nothing skipped.
    const early = await runPyJson<ResetRun>('confluent_offset_reset.py', ['consume', bootstrap, topic, 'g-earliest', 'earliest'], { timeoutMs: 60_000 });
    assert.deepEqual(early.errors, []);
    assert.deepEqual([early.low, early.high], [start, 25]);
    assert.deepEqual(early.records.map(([o]) => o), Array.from({ length: 25 - start }, (_, i) => start + i));
    assert.ok(early.records[early.records.length - 1]?.[1].startsWith('fresh-4|'));

    // latest: nothing old is delivered; the first record is the one written after the reset, at the old end.
    const late = await runPyJson<ResetRun>('confluent_offset_reset.py', ['consume', bootstrap, topic, 'g-latest', 'latest'], { timeoutMs: 60_000 });
    assert.deepEqual(late.errors, []);
    assert.equal(late.high, 25);
    assert.deepEqual(late.records, [[25, 'marker']]);
  });
});

type Row = [number, string | null, string | null];

/** What the partition holds now, read inside the broker (to know when the cleaner has finished). */
async function stored(log: PartitionLog): Promise<Row[]> {
  const r = log.read(log.logStartOffset(), 1 << 24, true);
  const out: Row[] = [];
  for (const b of await decodeRecordBatches(Buffer.concat(r.chunks), { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
    for (const rec of b.records) out.push([rec.offset, rec.key?.toString() ?? null, rec.value?.toString() ?? null]);
  }
  return out;
}

function hasDuplicateKeys(rows: readonly Row[]): boolean {
  const keys = rows.map(([, k]) => k);
  return new Set(keys).size !== keys.length;
}

test('a compacted topic written by confluent-kafka reads back through kafka-python as the latest value per key; tombstones expire on schedule', { timeout: 90_000 }, async () => {
  await withBroker(async ({ broker, admin, lines }) => {
    const topic = 'table';
    const bootstrap = broker.bootstrapServers;
    const deleteRetentionMs = 6000;
    await admin.createTopics([
      {
        name: topic,
        partitions: 1,
        configs: { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': String(deleteRetentionMs) },
      },
    ]);
    const deleted = [2, 5, 7];
    const produced = await runPyJson<{ written: Row[]; errors: string[]; tombstone_ts: number }>(
      'confluent_compacted_produce.py',
      [bootstrap, topic, '10', '4', deleted.join(','), '12'],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(produced.errors, []);
    assert.equal(produced.written.length, 10 * 4 + deleted.length + 12);
    // The latest record per key, as written (offset, key, value; null for a tombstone).
    const latest = new Map<string, Row>();
    for (const row of produced.written) latest.set(row[1] as string, row);
    const expectWithTombstones = [...latest.values()].sort((a, b) => a[0] - b[0]);
    const log = broker.broker.logs.partition(topic, 0) as PartitionLog;

    await waitFor('the cleaner to deduplicate the keyed history', async () => !hasDuplicateKeys(await stored(log)));
    const first = await runPyJson<{ begin: number; end: number; records: Row[] }>('kafka_python_read_all.py', [bootstrap, topic], { timeoutMs: 60_000 });
    assert.ok(Date.now() < produced.tombstone_ts + deleteRetentionMs, 'the first read finished within delete.retention.ms (else the test cannot tell)');
    assert.deepEqual([first.begin, first.end], [0, produced.written.length]);
    assert.deepEqual(first.records, expectWithTombstones, 'exactly the latest record per key, tombstones included, at their original offsets');
    assert.deepEqual(first.records.filter(([, , v]) => v === null).map(([, k]) => k), deleted.map((k) => `k${k}`));

    // No more writes: a later pass drops the tombstones once delete.retention.ms has passed, not before.
    await waitFor('the tombstones to expire', async () => !(await stored(log)).some(([, , v]) => v === null), 20_000);
    assert.ok(Date.now() >= produced.tombstone_ts + deleteRetentionMs, 'tombstones were not dropped early');
    // The pass logs once its final directory sync is done, a moment after the swap is visible.
    await waitFor('the tombstone pass to be logged', () => lines.some((l) => l.startsWith(`Cleaned ${topic}-0`) && l.includes('tombstones past delete.retention.ms')), 5000);
    const second = await runPyJson<{ begin: number; end: number; records: Row[] }>('kafka_python_read_all.py', [bootstrap, topic], { timeoutMs: 60_000 });
    assert.deepEqual([second.begin, second.end], [0, produced.written.length]);
    assert.deepEqual(second.records, expectWithTombstones.filter(([, , v]) => v !== null));
  });
});
