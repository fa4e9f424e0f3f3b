// kill -9 torture: Fjord's producer (acks=all, no client retries, so any duplicate would be the
// broker's) writes unique values while the broker process is SIGKILLed at random moments and restarted
// on the same data directory. The history checker then finds no acknowledged record lost, none
// duplicated, no offset holding two values. FJORD_KILL9_RESTARTS (default 12; `npm run torture`: 60).
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
