/**
 * Fjord's client, two ways to produce:
 * - `driver` (the headline row), driven like KafkaJS and platformatic: sendBatch() with the same
 *   arrays, the same number of calls in flight (arrayWorkers), lingerMs 0 as those two have no linger;
 * - `sendDriver`: one send() promise per record, many outstanding at once, and the producer's
 *   accumulator (lingerMs 5, batchSize) makes the batches.
 * Consumer (both): assign() and a poll() loop, no group.
 */
import { performance } from 'node:perf_hooks';
import { createAdmin, createConsumer, createProducer, type Producer, type ProducerOptions, type ConsumerOptions } from '../../src/index.js';
import { CLIENT_ID, PARTITION, arrayWorkers, bootstrap, checkTotals, type ConsumeArgs, type Driver, type ProduceArgs } from './common.js';
import {
  FETCH_MAX_BYTES,
  FJORD_BATCH_LINGER_MS,
  arrayRecordsPerSend,
  FETCH_MAX_WAIT_MS,
  FJORD_BATCH_SIZE,
  FJORD_LINGER_MS,
  FJORD_OUTSTANDING_BYTES,
  FJORD_POLL_MAX_RECORDS,
} from './settings.js';
import { CountWindow, TimedWindow } from './window.js';

function producer(port: number, overrides: Record<string, unknown> = {}): Producer {
  const options: ProducerOptions = {
    bootstrapServers: bootstrap(port),
    clientId: CLIENT_ID,
    acks: 1,
    lingerMs: FJORD_LINGER_MS,
    batchSize: FJORD_BATCH_SIZE,
    compression: 'none',
    ...overrides,
  };
  return createProducer(options);
}

/**
 * Keep `limit` records outstanding: every acknowledgement frees a slot, and one refill per event-loop
 * turn (setImmediate) sends as many records as there are free slots. Resolves, with the number sent,
 * once `stop()` says so and everything sent has settled.
 */
function pump(p: Producer, topic: string, value: Buffer, limit: number, onAcked: (n: number) => void, stop: (sent: number) => boolean): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let outstanding = 0;
    let acked = 0;
    let sent = 0;
    let scheduled = false;
    let failed: Error | null = null;
    let stopped = false;
    const schedule = (): void => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(refill);
    };
    const onAck = (): void => {
      outstanding--;
      acked++;
      schedule();
    };
    const onError = (err: unknown): void => {
      outstanding--;
      failed ??= err instanceof Error ? err : new Error(String(err));
      schedule();
    };
    const refill = (): void => {
      scheduled = false;
      if (acked > 0) {
        onAcked(acked);
        acked = 0;
      }
      if (failed !== null) {
        if (outstanding === 0) reject(failed);
        return;
      }
      if (!stopped && stop(sent)) stopped = true;
      if (stopped) {
        if (outstanding === 0) resolve(sent);
        return;
      }
      while (outstanding < limit && !stop(sent)) {
        outstanding++;
        sent++;
        p.send({ topic, partition: PARTITION, value }).then(onAck, onError);
      }
      if (outstanding === 0) schedule(); // stop() turned true before anything was sent
    };
    refill();
  });
}

/** Records outstanding at once: `bytes` of them (default FJORD_OUTSTANDING_BYTES, well below bufferMemory, 32 MiB). */
function limitFor(valueBytes: number, bytes = FJORD_OUTSTANDING_BYTES): number {
  return Math.max(1, Math.floor(bytes / (valueBytes + 16)));
}

/**
 * Fill the topic with exactly `records` records, as fast as the producer goes, then check that the
 * broker kept them all: the memory engine drops a partition's oldest batches past its size cap
 * (256 MiB), which would leave the consumers less to read than they expect.
 */
export async function prefill(port: number, topic: string, value: Buffer, records: number): Promise<void> {
  const p = producer(port);
  try {
    let acked = 0;
    await pump(p, topic, value, limitFor(value.length), (n) => (acked += n), (sent) => sent >= records);
    await p.flush();
    if (acked !== records) throw new Error(`prefill: ${acked} of ${records} records acknowledged`);
  } finally {
    await p.close();
  }
  const admin = createAdmin({ bootstrapServers: bootstrap(port), clientId: CLIENT_ID });
  try {
    const [earliest] = await admin.listOffsets([{ topic, partition: PARTITION, spec: 'earliest' }]);
    const [latest] = await admin.listOffsets([{ topic, partition: PARTITION, spec: 'latest' }]);
    if (earliest?.offset !== 0n || latest?.offset !== BigInt(records)) {
      throw new Error(
        `prefill: ${topic} holds offsets ${String(earliest?.offset)}..${String(latest?.offset)}, not 0..${records}; ` +
          'the memory engine caps a partition (256 MiB) and drops the oldest batches past it: pre-fill fewer bytes',
      );
    }
  } finally {
    await admin.close();
  }
}

/** Fjord driven per record: one send() promise each, up to outstandingBytes of them in flight. */
export const sendDriver: Driver = {
  async produce(a: ProduceArgs): Promise<TimedWindow> {
    // outstandingBytes is the benchmark's knob, not a producer option.
    const { outstandingBytes, ...overrides } = a.fjordOptions ?? {};
    const p = producer(a.port, overrides);
    try {
      await p.send({ topic: a.topic, partition: PARTITION, value: a.value }); // connect + metadata
      const win = new TimedWindow(a.warmupSeconds, a.seconds);
      const limit = limitFor(a.value.length, typeof outstandingBytes === 'number' ? outstandingBytes : FJORD_OUTSTANDING_BYTES);
      await pump(p, a.topic, a.value, limit, (n) => win.count(n), () => win.over);
      win.close();
      return win;
    } finally {
      await p.close();
    }
  },

  consume: (a) => consume(a),
};

/** Fjord driven as KafkaJS and platformatic are: sendBatch() arrays, a few calls in flight. */
export const driver: Driver = {
  async produce(a: ProduceArgs): Promise<TimedWindow> {
    const { outstandingBytes: _unused, ...overrides } = a.fjordOptions ?? {};
    const p = producer(a.port, { lingerMs: FJORD_BATCH_LINGER_MS, ...overrides });
    try {
      const perSend = arrayRecordsPerSend(a.value.length);
      const send = async (n: number): Promise<void> => {
        const records = new Array<{ topic: string; partition: number; value: Buffer }>(n);
        for (let i = 0; i < n; i++) records[i] = { topic: a.topic, partition: PARTITION, value: a.value };
        await p.sendBatch(records);
      };
      await send(1); // connect + metadata
      const win = new TimedWindow(a.warmupSeconds, a.seconds);
      await arrayWorkers(win, perSend, () => send(perSend));
      return win;
    } finally {
      await p.close();
    }
  },

  consume: (a) => consume(a),
};

/** Both Fjord drivers consume the same way: assign() and a poll() loop. */
async function consume(a: ConsumeArgs): Promise<CountWindow> {
  const win = new CountWindow(a.records);
  const options: ConsumerOptions<Buffer | null, Buffer | null> = {
    bootstrapServers: bootstrap(a.port),
    clientId: CLIENT_ID,
    autoOffsetReset: 'earliest',
    fetchMaxBytes: FETCH_MAX_BYTES,
    maxPartitionFetchBytes: a.partitionFetchBytes,
    fetchMaxWaitMs: FETCH_MAX_WAIT_MS,
    ...a.fjordOptions,
  };
  const consumer = createConsumer(options);
  const maxRecords = typeof a.fjordOptions?.['maxPollRecords'] === 'number' ? a.fjordOptions['maxPollRecords'] : FJORD_POLL_MAX_RECORDS;
  const end = performance.now() + a.timeoutSeconds * 1000;
  try {
    consumer.assign([{ topic: a.topic, partition: PARTITION }]);
    while (!win.done) {
      if (performance.now() > end) throw new Error(`consume: ${win.total} of ${a.records} records after ${a.timeoutSeconds} s`);
      const records = await consumer.poll({ maxRecords, timeoutMs: 1000 });
      let bytes = 0;
      for (const r of records) bytes += r.value?.length ?? 0;
      win.deliver(records.length, bytes);
    }
  } finally {
    await consumer.close();
  }
  checkTotals(a, win);
  return win;
}
