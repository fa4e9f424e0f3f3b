import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { createConsumer, type Consumer } from '../client/consumer/index.js';
import { createProducer } from '../client/producer/index.js';
import { action, parseIntOption, withBootstrap, UsageError } from './common.js';
import { CONSUMER_PERF_HEADER, consumerPerfRow, ProducerStats, Throttler } from './perf-stats.js';
import { producerOptions, withProducerFlags, type ProducerFlags } from './producer-flags.js';
import { onStopSignal } from './signals.js';
import { topicPartitions } from './topic-lookup.js';

/**
 * Records sent and not yet acknowledged. The producer's bufferMemory bounds their bytes; this bounds
 * the per-record promises and callbacks, which an unlimited run would otherwise create all at once.
 */
const PRODUCE_WINDOW = 20_000;

interface PerfProduceFlags extends ProducerFlags {
  bootstrapServer: string;
  topic: string;
  numRecords: string;
  recordSize: string;
  throughput: string;
  reportingIntervalMs: string;
}

interface PerfConsumeFlags {
  bootstrapServer: string;
  topic: string;
  messages: string;
  fromBeginning: boolean;
  timeoutMs: string;
  hideHeader?: boolean;
}

function parseThroughput(v: string): number {
  const n = Number(v);
  // ProducerPerformance takes a rate in records/s; any negative value means unlimited.
  if (v.trim() === '' || !Number.isFinite(n) || n === 0) throw new UsageError(`--throughput must be a positive number of records/s, or -1 for unlimited, got "${v}"`);
  return n < 0 ? -1 : n;
}

/** Kafka's payload: random upper-case letters, one buffer reused for every record. */
function payloadOf(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = 65 + Math.floor(Math.random() * 26);
  return b;
}

async function perfProduce(o: PerfProduceFlags): Promise<void> {
  const tuning = producerOptions(o);
  const numRecords = parseIntOption(o.numRecords, '--num-records', 1);
  const recordSize = parseIntOption(o.recordSize, '--record-size', 0);
  const throughput = parseThroughput(o.throughput);
  const reportingIntervalMs = parseIntOption(o.reportingIntervalMs, '--reporting-interval-ms', 1);
  await topicPartitions(o.bootstrapServer, o.topic, true);

  const producer = createProducer({ bootstrapServers: o.bootstrapServer, clientId: 'fjord-perf-producer', ...tuning });
  const payload = payloadOf(recordSize);
  const print = (line: string): void => void process.stdout.write(line + '\n');
  const signal = onStopSignal();
  const stats = new ProducerStats(numRecords, reportingIntervalMs, print, Date.now());
  const throttler = new Throttler(throughput, Date.now());
  const inflight: Array<Promise<void>> = [];
  let failed = 0;
  let firstError: Error | null = null;
  try {
    for (let i = 0; i < numRecords && !signal.isStopped() && firstError === null; i++) {
      const sendStart = performance.now();
      inflight.push(
        producer.send({ topic: o.topic, value: payload }).then(
          () => stats.record(performance.now() - sendStart, recordSize, Date.now()),
          (err: unknown) => {
            failed++;
            firstError ??= err instanceof Error ? err : new Error(String(err));
          },
        ),
      );
      if (inflight.length >= PRODUCE_WINDOW) await inflight.shift();
      const wait = throttler.delayMs(i + 1, Date.now());
      // Below ~2 ms a timer cannot be precise; the schedule catches up on the next longer sleep.
      if (wait >= 2) await sleep(wait, undefined, { signal: signal.abort }).catch(() => undefined);
    }
    await producer.flush();
    await Promise.all(inflight);
  } finally {
    await producer.close();
    signal.dispose();
  }
  print(stats.total(Date.now()));
  if (firstError !== null) {
    const e: Error = firstError;
    throw new Error(`${failed} records failed; the first: ${e.message}`);
  }
}

async function perfConsume(o: PerfConsumeFlags): Promise<void> {
  const messages = parseIntOption(o.messages, '--messages', 1);
  const timeoutMs = parseIntOption(o.timeoutMs, '--timeout-ms', 0);
  const partitions = await topicPartitions(o.bootstrapServer, o.topic, true);
  const consumer: Consumer<Buffer | null, Buffer | null> = createConsumer({
    bootstrapServers: o.bootstrapServer,
    clientId: 'fjord-perf-consumer',
    autoOffsetReset: o.fromBeginning ? 'earliest' : 'latest',
  });
  const signal = onStopSignal();
  void signal.stopped.then(() => consumer.close());
  // ConsumerPerformance starts the clock before it subscribes: the first fetch counts.
  const startMs = Date.now();
  let endMs = startMs;
  let read = 0;
  let bytes = 0;
  let timedOut = false;
  try {
    consumer.assign(partitions.map((partition) => ({ topic: o.topic, partition })));
    if (o.fromBeginning) consumer.seekToBeginning();
    else consumer.seekToEnd();
    let lastConsumed = Date.now();
    while (read < messages && !signal.isStopped()) {
      const left = lastConsumed + timeoutMs - Date.now();
      if (left <= 0) {
        timedOut = true;
        break;
      }
      const records = await consumer.poll({ maxRecords: Math.min(500, messages - read), timeoutMs: left });
      if (records.length === 0) continue;
      lastConsumed = Date.now();
      read += records.length;
      for (const r of records) bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    }
    endMs = Date.now();
  } finally {
    await consumer.close();
    signal.dispose();
  }
  if (timedOut) {
    process.stderr.write(`WARNING: Exiting before consuming the expected number of messages: timeout (${timeoutMs} ms) exceeded. You can use the --timeout-ms option to increase the timeout.\n`);
  }
  process.stdout.write((o.hideHeader === true ? '' : CONSUMER_PERF_HEADER + '\n') + consumerPerfRow(startMs, endMs, bytes, read) + '\n');
}

/** `fjord perf produce|consume`: kafka-producer-perf-test and kafka-consumer-perf-test. */
export function perfCommand(): Command {
  const perf = new Command('perf').description('Measure producer and consumer throughput and latency');

  perf.addCommand(
    withProducerFlags(
      withBootstrap(new Command('produce'))
        .description('Send records of a fixed size as fast as allowed; report throughput and send-to-ack latency')
        .requiredOption('--topic <topic>', 'the topic to write to')
        .requiredOption('--num-records <n>', 'how many records to send')
        .requiredOption('--record-size <bytes>', 'the size of each record value')
        .option('--throughput <records/s>', 'throttle to about this many records per second; -1 for unlimited', '-1')
        // ProducerPerformance's interval is fixed at 5 s; settable here so short runs can show progress too.
        .option('--reporting-interval-ms <ms>', 'how often to print a progress line', '5000'),
    )
      .addHelpText('after', '\nPrints a progress line every --reporting-interval-ms and a summary with latency percentiles, like kafka-producer-perf-test.')
      .action(action(perfProduce)),
  );

  perf.addCommand(
    withBootstrap(new Command('consume'))
      .description('Read records as fast as possible; report throughput like kafka-consumer-perf-test')
      .requiredOption('--topic <topic>', 'the topic to read')
      .requiredOption('--messages <n>', 'how many records to read')
      .option('--from-beginning', 'start at the earliest offsets', true)
      .option('--no-from-beginning', 'start at the end: read only records produced from now on')
      .option('--timeout-ms <ms>', 'give up after this long without a record', '10000')
      .option('--hide-header', 'print the summary row without its header line')
      .action(action(perfConsume)),
  );
  return perf;
}
