// Disk full and I/O errors through the broker, with Fjord's own client over TCP: the broker runs the
// disk engine over the fault-injecting MemoryFileSystem. While the disk is full a producer gets
// KAFKA_STORAGE_ERROR (retriable), never an acknowledgement; consumers keep reading what is stored;
// once space returns, production continues without a restart, and the history checker finds every
// acknowledged record exactly once. FJORD_BROKER_DISK_FAULT_SEED replays the random part.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, silentLogger } from '../../src/broker/broker.js';
import { BrokerConfig } from '../../src/broker/broker-config.js';
import { TcpServer } from '../../src/io/tcp-server.js';
import { systemClock } from '../../src/io/clock.js';
import { systemRandom } from '../../src/io/random.js';
import { createDiskLogManager } from '../../src/storage/index.js';
import type { LogManager } from '../../src/storage/types.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { HistoryRecorder, checkHistory, formatCheckResult } from '../../src/testing/history-checker.js';
import { createProducer } from '../../src/client/producer/index.js';
import { createConsumer, type ConsumerRecord } from '../../src/client/consumer/index.js';
import { KafkaProtocolError } from '../../src/client/errors.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const SEED = Number(process.env['FJORD_BROKER_DISK_FAULT_SEED'] ?? 4242);
const fs = new MemoryFileSystem();
let logs: LogManager;
let broker: Broker;
let server: TcpServer;
let bootstrapServers: string;

before(async () => {
  logs = createDiskLogManager({ logDir: '/data', fs, clock: systemClock, options: {}, onBackgroundError: () => undefined });
  await logs.open();
  broker = new Broker({ config: new BrokerConfig({}), logs, clock: systemClock, random: systemRandom, log: silentLogger, clusterId: 'disk-faults', advertisedHost: '127.0.0.1', advertisedPort: 0 });
  server = new TcpServer(broker, { host: '127.0.0.1', port: 0, frameMaxBytes: 100 * 1024 * 1024, idleTimeoutMs: 600_000 });
  const bound = await server.listen();
  broker.advertisedPort = bound.port;
  bootstrapServers = `127.0.0.1:${bound.port}`;
});

after(async () => {
  await server.close(1000);
  await logs.close().catch(() => undefined);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readAll(topic: string, partitions: number, expected: number): Promise<Array<ConsumerRecord<Buffer | null, Buffer | null>>> {
  const c = createConsumer({ bootstrapServers, autoOffsetReset: 'earliest' });
  try {
    c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    const out: Array<ConsumerRecord<Buffer | null, Buffer | null>> = [];
    for (let i = 0; i < 100 && out.length < expected; i++) out.push(...(await c.poll({ timeoutMs: 100 })));
    // One more poll: nothing beyond what is expected may arrive.
    out.push(...(await c.poll({ timeoutMs: 50 })));
    return out;
  } finally {
    await c.close();
  }
}

test('a full disk answers KAFKA_STORAGE_ERROR, reads go on, and producing resumes when space returns', async () => {
  const topic = 'full';
  broker.createTopic(topic, 1, 1, {});
  const producer = createProducer({ bootstrapServers, acks: 'all', idempotent: false, retries: 0, lingerMs: 0 });
  try {
    for (let i = 0; i < 5; i++) await producer.send({ topic, partition: 0, value: Buffer.from(`before-${i}`) });
    fs.setDiskFull(true);
    await assert.rejects(
      producer.send({ topic, partition: 0, value: Buffer.from('while-full') }),
      (err: unknown) => err instanceof KafkaProtocolError && err.errorCode === ErrorCode.KAFKA_STORAGE_ERROR && err.retriable,
    );
    // Reads of what is stored keep working while the disk is full.
    const during = await readAll(topic, 1, 5);
    assert.deepEqual(during.map((r) => r.value?.toString()), [0, 1, 2, 3, 4].map((i) => `before-${i}`));
    fs.setDiskFull(false);
    const md = await producer.send({ topic, partition: 0, value: Buffer.from('after') });
    assert.equal(md.offset, 5n, 'the failed append left no hole');
    const all = await readAll(topic, 1, 6);
    assert.deepEqual(all.map((r) => [r.offset, r.value?.toString()]), [...[0, 1, 2, 3, 4].map((i) => [BigInt(i), `before-${i}`]), [5n, 'after']]);
  } finally {
    fs.clearFaults();
    await producer.close();
  }
});

test(`an idempotent producer through random disk faults: every acknowledged record read back exactly once (seed ${SEED})`, { timeout: 120_000 }, async () => {
  const topic = 'random-faults';
  const partitions = 3;
  broker.createTopic(topic, partitions, 1, {});
  const rnd = new SeededRandom(SEED);
  const recorder = new HistoryRecorder();
  // Retries until deliveryTimeoutMs: a storage error is retriable, so most sends get through once the fault clears.
  const producer = createProducer({ bootstrapServers, acks: 'all', idempotent: true, retryBackoffMs: 5, requestTimeoutMs: 10_000, deliveryTimeoutMs: 20_000, lingerMs: 1 });
  const faultsBefore = fs.injectedFaults;
  let proc = 0;
  let storageErrorsSeen = 0;
  const sends: Array<Promise<void>> = [];
  try {
    for (let round = 0; round < 40; round++) {
      // A fault for this round (or none), while records keep coming.
      const kind = rnd.int(0, 3);
      if (kind === 0) fs.setDiskFull(true);
      else if (kind === 1) fs.setCapacity(fs.usedBytes() + rnd.int(0, 3000));
      else if (kind === 2) fs.injectFault({ code: 'EIO', operations: ['write'], path: `${topic}-`, count: rnd.int(1, 6) });
      for (let i = 0; i < rnd.int(1, 8); i++) {
        const partition = rnd.int(0, partitions - 1);
        const key = `${topic}-${partition}`;
        const value = `r${round}-${i}`;
        const me = proc++;
        recorder.invoke(me, 'send', [['send', key, [null, value]]]);
        sends.push(
          producer.send({ topic, partition, value: Buffer.from(value) }).then(
            (md) => {
              recorder.ok(me, [['send', key, [Number(md.offset), value]]]);
            },
            (err: unknown) => {
              if (err instanceof KafkaProtocolError && err.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) storageErrorsSeen++;
              recorder.info(me);
            },
          ),
        );
      }
      await sleep(rnd.int(1, 15));
      fs.clearFaults();
      await sleep(rnd.int(0, 10));
    }
    await Promise.all(sends);
  } finally {
    fs.clearFaults();
    await producer.close();
  }
  const acked = recorder.history().filter((op) => op.type === 'ok').length;
  const records = await readAll(topic, partitions, acked);
  const poll: Record<string, Array<[number, string]>> = {};
  const finalOffsets: Record<string, number> = {};
  for (let p = 0; p < partitions; p++) {
    poll[`${topic}-${p}`] = records.filter((r) => r.partition === p).map((r) => [Number(r.offset), r.value?.toString() ?? '']);
    finalOffsets[`${topic}-${p}`] = logs.partition(topic, p)!.logEndOffset();
  }
  const reader = proc++;
  recorder.invoke(reader, 'poll', []);
  recorder.ok(reader, [['poll', poll]]);
  const result = checkHistory(recorder.history(), { finalOffsets });
  assert.ok(result.valid, `seed ${SEED}: ${formatCheckResult(result)}`);
  assert.ok(acked > 50, `only ${acked} sends acknowledged`);
  assert.ok(fs.injectedFaults - faultsBefore > 10, 'the faults were hit');
  void storageErrorsSeen;
});
