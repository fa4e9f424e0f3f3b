// The retention scheduler alone, on a manual clock: it runs every log.retention.check.interval.ms,
// honours each topic's effective cleanup.policy / retention.ms / retention.bytes (read afresh each
// check), logs what it deleted, and stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, type Logger } from '../../src/broker/broker.js';
import { BrokerConfig } from '../../src/broker/broker-config.js';
import { RetentionScheduler } from '../../src/broker/retention-scheduler.js';
import { systemRandom } from '../../src/io/random.js';
import { createMemoryLogManager } from '../../src/storage/index.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { ManualClock } from '../storage/manual-clock.js';
import { makeSizedBatch } from '../storage/make-batch.js';

const HOUR = 3_600_000;

async function setup(config: Record<string, string>) {
  const clock = new ManualClock();
  const logs = createMemoryLogManager();
  await logs.open();
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(`ERROR ${m}`) };
  const broker = new Broker({ config: new BrokerConfig(config), logs, clock, random: systemRandom, log, clusterId: 'c', advertisedHost: 'h', advertisedPort: 1 });
  const scheduler = new RetentionScheduler(broker);
  return { clock, logs, lines, broker, scheduler };
}

/** Four batches, three hours old down to now. */
function fill(p: PartitionLog, now: number): void {
  for (let i = 0; i < 4; i++) p.append(makeSizedBatch(2, 300, `r${i}`, now - (3 - i) * HOUR));
}

test('retention scheduler checks every interval, per topic policy, with live configs', async () => {
  const { clock, logs, lines, broker, scheduler } = await setup({ 'log.retention.check.interval.ms': '1000' });
  broker.createTopic('timed', 2, -1, { 'retention.ms': String(2 * HOUR + 5000) });
  broker.createTopic('compacted', 1, -1, { 'cleanup.policy': 'compact', 'retention.ms': '1' });
  broker.createTopic('both', 1, -1, { 'cleanup.policy': 'compact,delete', 'retention.bytes': '0' });
  broker.createTopic('later', 1, -1, {});
  const now = clock.now();
  for (const [t, n] of [['timed', 2], ['compacted', 1], ['both', 1], ['later', 1]] as const) {
    for (let i = 0; i < n; i++) fill(logs.partition(t, i)!, now);
  }
  const start = (t: string, i = 0) => logs.partition(t, i)!.logStartOffset();

  scheduler.start();
  clock.advance(999);
  assert.equal(start('timed'), 0, 'nothing before the first interval');
  clock.advance(1);
  // timed: the batch 3 h old is past 2 h 5 s; the one 2 h old is not.
  assert.deepEqual([start('timed', 0), start('timed', 1)], [2, 2]);
  assert.equal(start('compacted'), 0, 'compact-only topics are left to compaction');
  assert.equal(start('both'), 6, 'compact,delete applies retention.bytes; the last batch stays');
  assert.equal(start('later'), 0, 'the default retention.ms is 7 days');
  assert.ok(lines.some((l) => /Deleted 1 log segment\(s\) \(\d+ bytes\) of timed-0 by retention .*log start offset is now 2/.test(l)), lines.join('\n'));

  // A topic config change takes effect at the next check.
  logs.setTopicConfigs('later', { 'retention.ms': String(HOUR / 2) });
  assert.equal(start('later'), 0);
  clock.advance(1000);
  assert.equal(start('later'), 6);

  // Checks at +3 s, +4 s, +5 s keep the batch exactly 2 h 5 s old at +5 s (older than, not as old as).
  clock.advance(3000);
  assert.equal(start('timed'), 2);
  // runOnce reports the deletions; time moved on, so `timed` loses its 2 h old batch too.
  clock.advance(500);
  assert.deepEqual(
    scheduler.runOnce().map((d) => [d.topic, d.partition, d.deletedSegments, d.logStartOffset, d.retentionMs]),
    [['timed', 0, 1, 4, 2 * HOUR + 5000], ['timed', 1, 1, 4, 2 * HOUR + 5000]],
  );

  scheduler.stop();
  assert.equal(clock.pendingTimers(), 0, 'stop cancels the timer');
  clock.advance(10 * HOUR);
  assert.equal(start('timed'), 4, 'no checks after stop');
  await logs.close();
});

test('retention scheduler falls back to broker retention settings', async () => {
  const { clock, logs, broker, scheduler } = await setup({ 'log.retention.check.interval.ms': '10', 'log.retention.minutes': '90' });
  broker.createTopic('t', 1, -1, {});
  fill(logs.partition('t', 0)!, clock.now());
  scheduler.start();
  clock.advance(10);
  assert.equal(logs.partition('t', 0)!.logStartOffset(), 4, '90 minutes keeps only the two newest batches');
  scheduler.stop();
  await logs.close();
});
