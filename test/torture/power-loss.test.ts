// Simulated power loss: a broker on the disk engine over the in-memory file system takes pipelined
// produce requests (acks=all and acks=1) while the "machine" loses power at random moments, dropping
// every byte not yet fsync'ed and sometimes tearing the last write. After each reboot recovery runs,
// and the history checker verifies that nothing acknowledged with acks=all was lost, duplicated or
// moved. FJORD_POWER_LOSSES (default 200) and FJORD_TORTURE_SEED (printed) control the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, silentLogger } from '../../src/broker/broker.js';
import { BrokerConfig } from '../../src/broker/broker-config.js';
import { Connection } from '../../src/broker/connection.js';
import { createDiskLogManager } from '../../src/storage/index.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { ManualClock, seededRandomSource } from '../../src/testing/test-broker.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { HistoryRecorder, checkHistory, formatCheckResult, type Op } from '../../src/testing/history-checker.js';
import { Writer } from '../../src/protocol/writer.js';
import { Reader } from '../../src/protocol/reader.js';
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { encodeProduceRequest, decodeProduceResponse } from '../../src/protocol/generated/produce.js';
import { buildRecordBatch, decodeRecordBatches } from '../../src/protocol/records/index.js';
import type { LogManager } from '../../src/storage/types.js';

const LOSSES = Number(process.env['FJORD_POWER_LOSSES'] ?? 200);
const SEED = Number(process.env['FJORD_TORTURE_SEED'] ?? 20261125);
const TOPIC = 'torture';
const PARTITIONS = 3;
const LOG_DIR = '/data';

async function openBroker(fs: MemoryFileSystem, clock: ManualClock, seed: number): Promise<{ broker: Broker; logs: LogManager }> {
  // Small segments so rolls, index rebuilds and multi-segment recovery are exercised too.
  const logs = createDiskLogManager({ logDir: LOG_DIR, fs, clock, options: { segmentBytes: 16 * 1024, indexIntervalBytes: 512 } });
  await logs.open();
  const config = new BrokerConfig({ 'num.partitions': String(PARTITIONS) });
  const broker = new Broker({ config, logs, clock, random: seededRandomSource(seed), log: silentLogger, clusterId: 'power', advertisedHost: '127.0.0.1', advertisedPort: 9092 });
  if (logs.getTopic(TOPIC) === undefined) logs.createTopic(TOPIC, PARTITIONS, {}, '00000000-0000-4000-8000-000000000001');
  return { broker, logs };
}

function frame(correlationId: number, body: object): Buffer {
  const w = new Writer();
  encodeRequestHeader(w, { requestApiKey: 0, requestApiVersion: 8, correlationId, clientId: 'torture' }, 1);
  encodeProduceRequest(w, body, 8);
  return w.toBuffer();
}

async function readAll(logs: LogManager): Promise<Record<string, Array<[number, string]>>> {
  const out: Record<string, Array<[number, string]>> = {};
  for (let p = 0; p < PARTITIONS; p++) {
    const log = logs.partition(TOPIC, p)!;
    const key = `${TOPIC}-${p}`;
    out[key] = [];
    let offset = log.logStartOffset();
    while (offset < log.logEndOffset()) {
      const read = log.read(offset, 1 << 20, true);
      if (read.bytes === 0) break;
      for (const chunk of read.chunks) {
        for (const batch of await decodeRecordBatches(chunk, { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
          for (const r of batch.records) if (r.offset >= offset) out[key]!.push([r.offset, r.value!.toString()]);
          offset = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
        }
      }
    }
  }
  return out;
}

test(`${LOSSES} simulated power losses lose no acknowledged record (seed ${SEED})`, { timeout: 600_000 }, async () => {
  const rnd = new SeededRandom(SEED);
  const fs = new MemoryFileSystem();
  const clock = new ManualClock();
  const recorder = new HistoryRecorder();
  let process = 0;
  let correlation = 0;
  let acked = 0;
  for (let round = 0; round < LOSSES; round++) {
    const { broker } = await openBroker(fs, clock, SEED + round);
    const pending = new Map<number, { proc: number; durable: boolean; values: Array<[string, string]> }>();
    const conn = new Connection(
      broker,
      {
        write: (chunks) => {
          const r = new Reader(Buffer.concat(chunks).subarray(4));
          const id = r.int32();
          const req = pending.get(id);
          if (req === undefined) return;
          pending.delete(id);
          const res = decodeProduceResponse(r, 8);
          const pr = res.responses[0]!.partitionResponses[0]!;
          if (pr.errorCode !== 0) {
            recorder.fail(req.proc);
            return;
          }
          const base = Number(pr.baseOffset);
          const value = req.values.map(([key, v], i) => ['send', key, [base + i, v]] as const);
          // acks=1 promises nothing across a power loss: its outcome stays unknown (info).
          if (req.durable) {
            recorder.ok(req.proc, value);
            acked++;
          } else recorder.info(req.proc, value);
        },
        close: () => {},
        drained: () => {},
      },
      'torture',
    );
    const requests = rnd.int(1, 12);
    for (let i = 0; i < requests; i++) {
      const partition = rnd.int(0, PARTITIONS - 1);
      const key = `${TOPIC}-${partition}`;
      const n = rnd.int(1, 4);
      const values: Array<[string, string]> = Array.from({ length: n }, (_, j) => [key, `r${round}-q${i}-v${j}-${'x'.repeat(rnd.int(0, 600))}`]);
      const durable = rnd.next() < 0.8;
      const proc = process++;
      recorder.invoke(proc, 'send', values.map(([k, v]) => ['send', k, [null, v]] as const));
      const id = ++correlation;
      pending.set(id, { proc, durable, values });
      const batch = await buildRecordBatch({ records: values.map(([, v]) => ({ key: null, value: Buffer.from(v), timestamp: clock.now() })) });
      conn.onFrame(frame(id, { acks: durable ? -1 : 1, timeoutMs: 1000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records: batch }] }] }));
      if (rnd.bool()) await new Promise((r) => setImmediate(r));
    }
    // Let some of the work finish, then pull the plug.
    const turns = rnd.int(0, 6);
    for (let t = 0; t < turns; t++) await new Promise((r) => setImmediate(r));
    fs.crash(rnd.bool() ? { tearLastWriteAt: rnd.int(0, 200) } : {});
    conn.close();
    broker.groups.close();
    for (const req of pending.values()) recorder.info(req.proc);
    pending.clear();
  }
  // Reboot once more and read everything back.
  const { logs } = await openBroker(fs, clock, SEED + LOSSES);
  const finalPoll = await readAll(logs);
  const reader = process++;
  recorder.invoke(reader, 'poll', []);
  recorder.ok(reader, [['poll', finalPoll]]);
  const finalOffsets: Record<string, number> = {};
  for (let p = 0; p < PARTITIONS; p++) finalOffsets[`${TOPIC}-${p}`] = logs.partition(TOPIC, p)!.logEndOffset();
  const history: Op[] = recorder.history();
  const result = checkHistory(history, { finalOffsets });
  assert.ok(acked > LOSSES / 2, `only ${acked} acknowledged sends: the test did not exercise much`);
  assert.ok(result.valid, `seed ${SEED}: ${formatCheckResult(result)}`);
});
