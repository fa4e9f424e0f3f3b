// kill -9 torture: producers write unique values while the broker process is SIGKILLed at random
// moments and restarted on the same data directory; the history checker then finds no acknowledged
// record lost, none duplicated, no offset holding two values.
// - Fjord's producer (acks=all, no client retries, so any duplicate would be the broker's).
// - librdkafka's idempotent producer (confluent-kafka, enable.idempotence=true, acks=all, unlimited
//   retries): its retries of requests the dead broker may already have stored must be deduplicated
//   by the producer state the broker rebuilds at start-up.
// FJORD_KILL9_RESTARTS (default 12 for Fjord's producer, 5 for librdkafka's; `npm run torture`: 60).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProducer, createConsumer, createAdmin } from '../../src/index.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { HistoryRecorder, checkHistory, formatCheckResult } from '../../src/testing/history-checker.js';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { PYTHON } from '../interop-debian/helpers.js';
import { runIdempotentKillWorkload } from '../interop-debian/idempotent-workload.js';

const RESTARTS = Number(process.env['FJORD_KILL9_RESTARTS'] ?? 12);
const SEED = Number(process.env['FJORD_TORTURE_SEED'] ?? 7);
const BIN = join(process.cwd(), 'bin', 'fjord');
const TOPIC = 'kill9';
const PARTITIONS = 3;

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function start(port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', String(port), '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${err}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`broker exited ${code}: ${err}`)));
  });
  return child;
}

test(`kill -9 torture: ${RESTARTS} restarts lose no acknowledged record (seed ${SEED})`, { timeout: 600_000 }, async () => {
  const rnd = new SeededRandom(SEED);
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-kill9-'));
  const port = await freePort();
  const bootstrap = `127.0.0.1:${port}`;
  let broker = await start(port, dataDir);
  const admin = createAdmin({ bootstrapServers: bootstrap });
  await admin.createTopics([{ name: TOPIC, partitions: PARTITIONS }]);
  await admin.close();
  const recorder = new HistoryRecorder();
  let proc = 0;
  let acked = 0;
  let value = 0;
  try {
    for (let round = 0; round < RESTARTS; round++) {
      const producer = createProducer({ bootstrapServers: bootstrap, acks: 'all', retries: 0, lingerMs: 1, requestTimeoutMs: 5000, deliveryTimeoutMs: 10_000, reconnectBackoffMaxMs: 100 });
      const killAt = Date.now() + rnd.int(150, 700);
      const inflight = new Set<Promise<void>>();
      while (Date.now() < killAt) {
        const partition = rnd.int(0, PARTITIONS - 1);
        const v = `v${value++}`;
        const p = proc++;
        recorder.invoke(p, 'send', [['send', `${TOPIC}-${partition}`, [null, v]]]);
        const sent = producer
          .send({ topic: TOPIC, partition, value: Buffer.from(v) })
          .then((m) => {
            recorder.ok(p, [['send', `${TOPIC}-${partition}`, [Number(m.offset), v]]]);
            acked++;
          })
          .catch(() => void recorder.info(p));
        inflight.add(sent);
        void sent.finally(() => inflight.delete(sent));
        if (inflight.size >= 16) await Promise.race(inflight);
      }
      broker.kill('SIGKILL');
      await new Promise<void>((r) => (broker.exitCode !== null || broker.signalCode !== null ? r() : broker.once('exit', () => r())));
      await Promise.all(inflight);
      await producer.close().catch(() => {});
      broker = await start(port, dataDir);
    }
    // Read everything back.
    const consumer = createConsumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest' });
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
    const ends = await consumer.endOffsets(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
    const polled: Record<string, Array<[number, string]>> = {};
    let remaining = ends.reduce((s, e) => s + Number(e.offset), 0);
    const deadline = Date.now() + 60_000;
    while (remaining > 0 && Date.now() < deadline) {
      for (const r of await consumer.poll({ timeoutMs: 500 })) {
        (polled[`${r.topic}-${r.partition}`] ??= []).push([Number(r.offset), (r.value as Buffer).toString()]);
        remaining--;
      }
    }
    await consumer.close();
    const reader = proc++;
    recorder.invoke(reader, 'poll', []);
    recorder.ok(reader, [['poll', polled]]);
    const finalOffsets = Object.fromEntries(ends.map((e) => [`${e.topic}-${e.partition}`, Number(e.offset)]));
    const result = checkHistory(recorder.history(), { finalOffsets });
    assert.ok(acked > RESTARTS * 5, `only ${acked} acknowledged sends`);
    assert.ok(result.valid, `seed ${SEED}: ${formatCheckResult(result)}`);
  } finally {
    broker.kill('SIGKILL');
  }
});

const IDEMPOTENT_RESTARTS = Number(process.env['FJORD_KILL9_RESTARTS'] ?? 5);
/** confluent-kafka comes from Debian (python3-confluent-kafka), importable only by /usr/bin/python3. */
const confluentKafka = spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { stdio: 'ignore', timeout: 20_000 }).status === 0;

test(
  `kill -9 torture, librdkafka idempotent producer: ${IDEMPOTENT_RESTARTS} restarts, 0 lost, 0 duplicates, 0 inconsistent offsets (seed ${SEED})`,
  { timeout: 900_000, skip: confluentKafka ? false : `${PYTHON} cannot import confluent_kafka (apt-get install python3-confluent-kafka)` },
  async (t) => {
    const workDir = mkdtempSync(join(tmpdir(), 'fjord-kill9-idem-'));
    try {
      const r = await runIdempotentKillWorkload({
        port: await freePort(),
        dataDir: join(workDir, 'data'),
        topic: 'kill9-idem',
        partitions: PARTITIONS,
        restarts: IDEMPOTENT_RESTARTS,
        seed: SEED,
        rate: 2000,
        killGapMs: [150, 1500],
        downMs: [0, 300],
      });
      const head =
        `seed ${SEED}: ${r.restarts} restarts, ${r.attempted} sent, ${r.acked} acked, ${r.failed} failed, ` +
        `${r.readBack.records} read back, client errors ${JSON.stringify(r.summary.errors)}`;
      const report = `${head}\n${formatCheckResult(r.check)}`;
      t.diagnostic(head);
      assert.equal(r.restarts, IDEMPOTENT_RESTARTS, report);
      assert.equal(r.summary.fatal, null, `fatal client error: ${r.summary.fatal}\n${report}`);
      assert.equal(r.failed, 0, `every record delivered within message.timeout.ms\n${report}`);
      assert.ok(r.acked > IDEMPOTENT_RESTARTS * 100, `only ${r.acked} acknowledged\n${report}`);
      assert.equal(r.readBack.complete, true, report);
      assert.deepEqual(r.orderViolations, [], report);
      for (const name of ['lost-write', 'duplicate', 'inconsistent-offsets', 'unseen'] as const) {
        assert.equal(r.check.anomalies[name]?.length ?? 0, 0, `${name}\n${report}`);
      }
      assert.ok(r.check.valid, report);
      assert.equal(r.readBack.records, r.acked, `the log holds exactly the acknowledged records\n${report}`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
);

/**
 * Fjord's own producer with idempotence (acks=all, retries until deliveryTimeoutMs, up to 5 requests in
 * flight per connection): one producer lives through every restart, so its retries of requests the dead
 * broker may already have stored reach the restarted broker and must be deduplicated there.
 */
test(`kill -9 torture, Fjord's idempotent producer: ${IDEMPOTENT_RESTARTS} restarts, 0 lost, 0 duplicates, 0 inconsistent offsets (seed ${SEED})`, { timeout: 900_000 }, async (t) => {
  const rnd = new SeededRandom(SEED + 1);
  const workDir = mkdtempSync(join(tmpdir(), 'fjord-kill9-fjord-idem-'));
  const dataDir = join(workDir, 'data');
  const port = await freePort();
  const bootstrap = `127.0.0.1:${port}`;
  const topic = 'kill9-fjord-idem';
  let broker = await start(port, dataDir);
  const producer = createProducer({
    bootstrapServers: bootstrap,
    acks: 'all',
    idempotent: true,
    maxInFlight: 5,
    lingerMs: 2,
    requestTimeoutMs: 5000,
    deliveryTimeoutMs: 120_000,
    retryBackoffMs: 50,
    reconnectBackoffMaxMs: 200,
  });
  const recorder = new HistoryRecorder();
  const acks = new Map<number, { partition: number; offset: number }>();
  const failures: string[] = [];
  let value = 0;
  let stop = false;
  const inflight = new Set<Promise<void>>();
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  try {
    const admin = createAdmin({ bootstrapServers: bootstrap });
    await admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
    await admin.close();
    // Offer records at a steady pace, at most 200 outstanding (while the broker is down they queue).
    const writer = (async () => {
      while (!stop) {
        const i = value++;
        const partition = i % PARTITIONS;
        const key = `${topic}-${partition}`;
        const v = `v${i}`;
        recorder.invoke(i, 'send', [['send', key, [null, v]]]);
        const sent = producer
          .send({ topic, partition, value: Buffer.from(v) })
          .then((m) => {
            recorder.ok(i, [['send', key, [Number(m.offset), v]]]);
            acks.set(i, { partition, offset: Number(m.offset) });
          })
          .catch((e: unknown) => {
            failures.push(String(e));
            recorder.info(i);
          });
        inflight.add(sent);
        void sent.finally(() => inflight.delete(sent));
        if (inflight.size >= 200) await Promise.race(inflight);
        if (i % 10 === 0) await sleep(5);
      }
    })();
    const startDeadline = Date.now() + 30_000;
    while (acks.size < 50 && Date.now() < startDeadline) await sleep(20);
    assert.ok(acks.size >= 50, `no acks: ${failures.slice(0, 3).join('; ')}`);
    for (let r = 0; r < IDEMPOTENT_RESTARTS; r++) {
      await sleep(rnd.int(150, 1500));
      broker.kill('SIGKILL');
      await new Promise<void>((res) => (broker.exitCode !== null || broker.signalCode !== null ? res() : broker.once('exit', () => res())));
      await sleep(rnd.int(0, 300));
      broker = await start(port, dataDir);
    }
    const ackedAtLastRestart = acks.size;
    const settle = Date.now() + 60_000;
    while (acks.size < ackedAtLastRestart + 200 && Date.now() < settle) await sleep(20);
    stop = true;
    await writer;
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(inflight), new Promise<void>((r) => (drainTimer = setTimeout(r, 150_000)))]);
    clearTimeout(drainTimer);
    assert.equal(inflight.size, 0, 'every send settled');
    await producer.close();

    const consumer = createConsumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest' });
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
    consumer.assign(tps);
    const ends = await consumer.endOffsets(tps);
    const polled: Record<string, Array<[number, string]>> = {};
    let remaining = ends.reduce((s, e) => s + Number(e.offset), 0);
    const total = remaining;
    const deadline = Date.now() + 60_000;
    while (remaining > 0 && Date.now() < deadline) {
      for (const r of await consumer.poll({ timeoutMs: 500 })) {
        (polled[`${r.topic}-${r.partition}`] ??= []).push([Number(r.offset), (r.value as Buffer).toString()]);
        remaining--;
      }
    }
    await consumer.close();
    const reader = value + 1;
    recorder.invoke(reader, 'poll', []);
    recorder.ok(reader, [['poll', polled]]);
    const finalOffsets = Object.fromEntries(ends.map((e) => [`${e.topic}-${e.partition}`, Number(e.offset)]));
    const result = checkHistory(recorder.history(), { finalOffsets });
    // Idempotence keeps the send order per partition: offsets grow with the value's index.
    const orderViolations: string[] = [];
    const last = new Map<number, { i: number; offset: number }>();
    for (const i of [...acks.keys()].sort((a, b) => a - b)) {
      const a = acks.get(i)!;
      const prev = last.get(a.partition);
      if (prev !== undefined && a.offset <= prev.offset) orderViolations.push(`p${a.partition}: v${i} at ${a.offset} after v${prev.i} at ${prev.offset}`);
      last.set(a.partition, { i, offset: a.offset });
    }
    const head = `seed ${SEED}: ${IDEMPOTENT_RESTARTS} restarts, ${value} sent, ${acks.size} acked, ${failures.length} failed (${failures.slice(0, 3).join('; ')}), ${total - remaining}/${total} read back`;
    const report = `${head}\n${formatCheckResult(result)}`;
    t.diagnostic(head);
    assert.equal(remaining, 0, report);
    assert.equal(failures.length, 0, report);
    assert.ok(acks.size >= ackedAtLastRestart + 200, `the producer recovered after the last restart\n${report}`);
    assert.deepEqual(orderViolations.slice(0, 5), [], report);
    for (const name of ['lost-write', 'duplicate', 'inconsistent-offsets', 'unseen'] as const) {
      assert.equal(result.anomalies[name]?.length ?? 0, 0, `${name}\n${report}`);
    }
    assert.ok(result.valid, report);
    assert.equal(total, acks.size, `the log holds exactly the acknowledged records\n${report}`);
  } finally {
    stop = true;
    await producer.close().catch(() => {});
    broker.kill('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  }
});
