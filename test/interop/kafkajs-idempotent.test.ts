// kafkajs 2.2.4's idempotent producer (idempotent: true, maxInFlightRequests: 1 as kafkajs requires,
// acks=all) against the CLI broker in a child process that is SIGKILLed and restarted mid-stream.
// kafkajs retries a request whose connection died with the same sequence numbers, so the broker must
// answer a retry of a batch it already stored with the original offset instead of storing it again.
// The history checker then finds nothing lost, nothing duplicated, no offset with two values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { HistoryRecorder, checkHistory, formatCheckResult } from '../../src/testing/history-checker.js';
import { CliBroker } from '../interop-debian/idempotent-workload.js';
import { freePort } from '../interop-debian/helpers.js';
import { sleep, runRecordedSender, killAndRestart, assertNoAnomalies, type SenderStats } from './txn-fixtures.js';

const { Kafka, logLevel } = kafkajs;
const RESTARTS = Number(process.env['FJORD_KAFKAJS_RESTARTS'] ?? 3);
const SEED = Number(process.env['FJORD_KAFKAJS_SEED'] ?? 5);
const TOPIC = 'kjs-idem';
const PARTITIONS = 3;
const PER_SEND = 5;
/** FJORD_KAFKAJS_NO_IDEMPOTENCE=1 turns idempotence off (same retries): the test must then find duplicates. */
const IDEMPOTENT = process.env['FJORD_KAFKAJS_NO_IDEMPOTENCE'] !== '1';

test(`kafkajs idempotent producer: ${RESTARTS} SIGKILLs mid-stream, no record lost or duplicated (seed ${SEED})`, { timeout: 180_000 }, async (t) => {
  const rnd = new SeededRandom(SEED);
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-kjs-idem-'));
  const port = await freePort();
  let broker = await CliBroker.start(port, join(dataDir, 'data'));
  const kafka = new Kafka({
    clientId: 'kjs-idem',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    // Generous retries: a send that gives up would leave kafkajs reusing its sequence numbers for new data.
    retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 },
    requestTimeout: 5000,
    connectionTimeout: 1000,
  });
  const producer = kafka.producer({ idempotent: IDEMPOTENT, maxInFlightRequests: 1, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 } });
  let consumer: ReturnType<typeof kafka.consumer> | null = null;
  let stop = false;
  let sender: Promise<void> = Promise.resolve();
  try {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await admin.disconnect();
    await producer.connect();

    // One process sending sequentially: its acknowledged sends must also be monotonic per partition.
    const recorder = new HistoryRecorder();
    const stats: SenderStats = { acked: 0, failures: [] };
    sender = runRecordedSender(recorder, TOPIC, PARTITIONS, PER_SEND, stats, () => stop, async (partition, values) => {
      const res = await producer.send({ topic: TOPIC, acks: -1, messages: values.map((v) => ({ partition, value: v })) });
      const md = res.find((r) => r.partition === partition);
      if (md === undefined || md.errorCode !== 0 || md.baseOffset === undefined) throw new Error(`bad metadata ${JSON.stringify(res)}`);
      return Number(md.baseOffset);
    });

    const { ackedAtLastRestart } = await killAndRestart(broker, port, dataDir, rnd, RESTARTS, stats, 50, 1200, 'kafkajs got no acks', (b) => { broker = b; });
    stop = true;
    await sender;
    const { acked, failures: failureMessages } = stats;
    await producer.disconnect();

    // Read back with a kafkajs consumer group from the beginning.
    const admin2 = kafka.admin();
    await admin2.connect();
    const ends = await admin2.fetchTopicOffsets(TOPIC);
    await admin2.disconnect();
    const total = ends.reduce((s, e) => s + Number(e.high), 0);
    const polled: Record<string, Array<[number, string]>> = {};
    let read = 0;
    consumer = kafka.consumer({ groupId: 'kjs-idem-reader', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        (polled[`${TOPIC}-${partition}`] ??= []).push([Number(message.offset), message.value!.toString()]);
        read++;
      },
    });
    const readDeadline = Date.now() + 60_000;
    while (read < total && Date.now() < readDeadline) await sleep(50);
    await consumer.disconnect();
    consumer = null;
    for (const list of Object.values(polled)) list.sort((a, b) => a[0] - b[0]);
    recorder.invoke(1, 'poll', []);
    recorder.ok(1, [['poll', polled]]);
    const finalOffsets = Object.fromEntries(ends.map((e) => [`${TOPIC}-${e.partition}`, Number(e.high)]));
    const result = checkHistory(recorder.history(), { finalOffsets });
    const report = `seed ${SEED}: ${RESTARTS} restarts, ${acked} acked, ${failureMessages.length} failed sends (${failureMessages.slice(0, 3).join('; ')}), ${read}/${total} read\n${formatCheckResult(result)}`;
    t.diagnostic(report.split('\n')[0]!);
    assert.equal(read, total, report);
    assert.ok(acked >= ackedAtLastRestart + 100, `the producer recovered after the last restart\n${report}`);
    assert.equal(failureMessages.length, 0, report);
    assertNoAnomalies(result, report);
    assert.equal(total, acked, `the log holds exactly the acknowledged records\n${report}`);
  } finally {
    stop = true;
    await sender.catch(() => {});
    await producer.disconnect().catch(() => {});
    await consumer?.disconnect().catch(() => {});
    await broker.stop('SIGKILL').catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
});
