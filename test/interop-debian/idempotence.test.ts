// librdkafka's idempotent producer (confluent-kafka, enable.idempotence=true, acks=all) against Fjord:
// first that it works at all (InitProducerId accepted, the stored batches carry its producer id and
// sequences, every record lands once), then under SIGKILLs of the broker process: every acknowledged
// record is read back exactly once, at the offset its delivery report gave, in send order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startBroker } from '../../src/index.js';
import { formatCheckResult } from '../../src/testing/history-checker.js';
import { freePort, runPyJson } from './helpers.js';
import { IdempotentProducerProcess, runIdempotentKillWorkload } from './idempotent-workload.js';

const RESTARTS = Number(process.env['FJORD_IDEMPOTENCE_RESTARTS'] ?? 5);
const SEED = Number(process.env['FJORD_IDEMPOTENCE_SEED'] ?? 11);

interface ReadBack {
  records: Record<string, Array<[number, string]>>;
  watermarks: Record<string, [number, number]>;
  complete: boolean;
}

test('librdkafka idempotent producer: InitProducerId accepted, batches carry its producer id and sequences, each record stored once', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fjord-idem-rdkafka-'));
  const running = await startBroker({ dataDir });
  const topic = 'idem-plain';
  const count = 3000;
  let producer: IdempotentProducerProcess | null = null;
  try {
    await runPyJson('confluent_admin.py', [running.bootstrapServers, topic, '2'], { timeoutMs: 60_000 });
    producer = IdempotentProducerProcess.start(['--bootstrap', running.bootstrapServers, '--topic', topic, '--partitions', '2', '--count', String(count), '--rate', '20000']);
    await producer.wait(90_000);
    const s = producer.summary;
    assert.ok(s !== null, producer.diagnostics());
    assert.equal(s.fatal, null, `fatal client error: ${s.fatal}`);
    assert.equal(s.attempted, count);
    assert.equal(producer.acked.size, count, `all delivered (${s.failed} failed: ${JSON.stringify(s.errors)})`);

    // What the broker stored: magic-2 batches with one producer id, epoch 0, sequences contiguous from 0.
    for (let p = 0; p < 2; p++) {
      const log = running.broker.logs.partition(topic, p)!;
      const producerIds = new Set<bigint>();
      let nextSeq = 0;
      let offset = 0;
      const end = log.logEndOffset();
      assert.equal(end, count / 2);
      while (offset < end) {
        const { chunks } = log.read(offset, 1 << 20, true);
        assert.ok(chunks.length > 0);
        for (const chunk of chunks) {
          for (let pos = 0; pos + 61 <= chunk.length; ) {
            const base = Number(chunk.readBigInt64BE(pos));
            const batchLength = chunk.readInt32BE(pos + 8);
            const lastOffsetDelta = chunk.readInt32BE(pos + 23);
            producerIds.add(chunk.readBigInt64BE(pos + 43));
            assert.equal(chunk.readInt16BE(pos + 51), 0, 'producer epoch');
            assert.equal(chunk.readInt32BE(pos + 53), nextSeq, `base sequence of the batch at ${base}`);
            assert.equal(base, offset, 'batches contiguous');
            nextSeq += lastOffsetDelta + 1;
            offset = base + lastOffsetDelta + 1;
            pos += 12 + batchLength;
          }
        }
      }
      assert.equal(producerIds.size, 1, `one producer id on partition ${p}: ${[...producerIds].join(',')}`);
      assert.ok([...producerIds][0]! >= 0n, 'a real producer id (idempotence on)');
      // DescribeProducers sees it too.
      const state = log.producerState().entry(Number([...producerIds][0]!));
      assert.ok(state !== undefined, 'the partition remembers the producer');
      assert.equal(state.batches[state.batches.length - 1]!.lastSeq, count / 2 - 1);
    }

    const read = await runPyJson<ReadBack>('confluent_read_values.py', ['--bootstrap', running.bootstrapServers, '--topic', topic, '--partitions', '2'], { timeoutMs: 60_000 });
    assert.equal(read.complete, true);
    const values = Object.values(read.records).flat().map(([, v]) => v);
    assert.equal(values.length, count);
    assert.equal(new Set(values).size, count, 'no value twice');
    for (const [i, ack] of producer.acked) {
      const got = read.records[String(ack.partition)]!.find(([o]) => o === ack.offset);
      assert.deepEqual(got, [ack.offset, `v-${i}`]);
    }
  } finally {
    producer?.kill();
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test(`librdkafka idempotent producer under ${RESTARTS} SIGKILLs of the broker: 0 lost, 0 duplicates, 0 inconsistent offsets (seed ${SEED})`, { timeout: 300_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fjord-idem-kill-'));
  try {
    const r = await runIdempotentKillWorkload({
      port: await freePort(),
      dataDir: path.join(dataDir, 'data'),
      topic: 'idem-kill',
      partitions: 3,
      restarts: RESTARTS,
      seed: SEED,
      rate: 2000,
      killGapMs: [300, 1500],
      downMs: [0, 400],
    });
    const report = `seed ${SEED}, ${r.restarts} restarts, ${r.attempted} sent, ${r.acked} acked, ${r.failed} failed, client errors ${JSON.stringify(r.summary.errors)}\n${formatCheckResult(r.check)}`;
    t.diagnostic(report.split('\n')[0]!);
    assert.equal(r.restarts, RESTARTS, report);
    assert.equal(r.summary.fatal, null, `fatal client error: ${r.summary.fatal}\n${report}`);
    assert.equal(r.failed, 0, `every record delivered within message.timeout.ms\n${report}`);
    assert.ok(r.acked > RESTARTS * 100, `only ${r.acked} acknowledged\n${report}`);
    assert.equal(r.readBack.complete, true, report);
    assert.deepEqual(r.orderViolations, [], report);
    for (const name of ['lost-write', 'duplicate', 'inconsistent-offsets', 'unseen'] as const) {
      assert.equal(r.check.anomalies[name]?.length ?? 0, 0, `${name}\n${report}`);
    }
    assert.ok(r.check.valid, report);
    assert.equal(r.readBack.records, r.acked, `read back exactly the acknowledged records\n${report}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
