// @platformatic/kafka 1.35.0's idempotent producer (idempotent: true, which forces acks=all and one
// request in flight) against the CLI broker in a child process, SIGKILLed and restarted mid-stream:
// the client retries with the same sequences, and the broker must store each record once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, Consumer, Producer, stringSerializers } from '@platformatic/kafka';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { HistoryRecorder, checkHistory, formatCheckResult } from '../../src/testing/history-checker.js';
import { CliBroker } from '../interop-debian/idempotent-workload.js';
import { freePort } from '../interop-debian/helpers.js';
import { runRecordedSender, killAndRestart, assertNoAnomalies, type SenderStats } from './txn-fixtures.js';

const RESTARTS = Number(process.env['FJORD_PLATFORMATIC_RESTARTS'] ?? 2);
const SEED = 9;
const TOPIC = 'pk-idem';
const PARTITIONS = 2;
const PER_SEND = 4;

/** Every record of a partition through the client's own Fetch, as [offset, value]. */
async function readPartition(bootstrap: string, partition: number): Promise<{ records: Array<[number, string]>; highWatermark: number }> {
  const consumer = new Consumer({ clientId: 'pk-idem-reader', bootstrapBrokers: [bootstrap], groupId: 'unused-fetch-only', retries: 5 });
  try {
    const meta = await consumer.metadata({ topics: [TOPIC] });
    const t = meta.topics.get(TOPIC)!;
    const leader = t.partitions[partition]!.leader;
    const out: Array<[number, string]> = [];
    let offset = 0n;
    let highWatermark = 0n;
    for (let round = 0; round < 10_000; round++) {
      const res = await consumer.fetch({
        node: leader,
        maxWaitTime: 100,
        topics: [{ topicId: t.id, partitions: [{ partition, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
      });
      const p = res.responses[0]!.partitions[0]!;
      assert.equal(p.errorCode, 0);
      highWatermark = p.highWatermark;
      for (const batch of p.records ?? []) {
        for (const r of batch.records) {
          const o = batch.firstOffset + BigInt(r.offsetDelta);
          if (o < offset) continue;
          out.push([Number(o), r.value === null ? '<null>' : r.value.toString()]);
          offset = o + 1n;
        }
      }
      if (offset >= highWatermark) break;
    }
    return { records: out, highWatermark: Number(highWatermark) };
  } finally {
    await consumer.close();
  }
}

test(`@platformatic/kafka idempotent producer: ${RESTARTS} SIGKILLs mid-stream, each record stored once`, { timeout: 120_000 }, async (t) => {
  const rnd = new SeededRandom(SEED);
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-pk-idem-'));
  const port = await freePort();
  const bootstrap = `127.0.0.1:${port}`;
  let broker = await CliBroker.start(port, join(dataDir, 'data'));
  const producer = new Producer({ clientId: 'pk-idem', bootstrapBrokers: [bootstrap], idempotent: true, serializers: stringSerializers, retryDelay: 100, timeout: 5000 });
  let stop = false;
  let sender: Promise<void> = Promise.resolve();
  try {
    const admin = new Admin({ clientId: 'pk-idem-admin', bootstrapBrokers: [bootstrap] });
    await admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 });
    await admin.close();

    const recorder = new HistoryRecorder();
    const stats: SenderStats = { acked: 0, failures: [] };
    sender = runRecordedSender(recorder, TOPIC, PARTITIONS, PER_SEND, stats, () => stop, async (partition, values) => {
      const res = await producer.send({ messages: values.map((value) => ({ topic: TOPIC, partition, key: 'k', value })) });
      const o = res.offsets?.find((x) => x.partition === partition);
      if (o === undefined) throw new Error(`no offset in ${JSON.stringify(res, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
      return Number(o.offset);
    });

    const { ackedAtLastRestart } = await killAndRestart(broker, port, dataDir, rnd, RESTARTS, stats, 40, 1000, 'no acks', (b) => { broker = b; });
    stop = true;
    await sender;
    const { acked, failures } = stats;

    const polled: Record<string, Array<[number, string]>> = {};
    const finalOffsets: Record<string, number> = {};
    let read = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const { records, highWatermark } = await readPartition(bootstrap, p);
      polled[`${TOPIC}-${p}`] = records;
      finalOffsets[`${TOPIC}-${p}`] = highWatermark;
      read += records.length;
    }
    recorder.invoke(1, 'poll', []);
    recorder.ok(1, [['poll', polled]]);
    const result = checkHistory(recorder.history(), { finalOffsets });
    const report = `${RESTARTS} restarts, ${acked} acked, ${failures.length} failed sends (${failures.slice(0, 3).join('; ')}), ${read} read\n${formatCheckResult(result)}`;
    t.diagnostic(report.split('\n')[0]!);
    assert.ok(acked >= ackedAtLastRestart + 100, `the producer recovered after the last restart\n${report}`);
    assert.equal(failures.length, 0, report);
    assertNoAnomalies(result, report);
    assert.equal(read, acked, `the log holds exactly the acknowledged records\n${report}`);
  } finally {
    stop = true;
    await sender.catch(() => {});
    await producer.close().catch(() => {});
    await broker.stop('SIGKILL').catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
});
