import { Command } from 'commander';
import { createProducer, type RecordMetadata } from '../client/producer/index.js';
import { action, collect, parseIntOption, withBootstrap, UsageError } from './common.js';
import { readLines } from './lines.js';
import { Output } from './output.js';
import { producerOptions, withProducerFlags, type ProducerFlags } from './producer-flags.js';
import { onStopSignal } from './signals.js';
import { topicPartitions } from './topic-lookup.js';

/**
 * Records sent but not yet awaited. Reading stdin waits once this many are outstanding, so a fast
 * writer into the pipe is slowed to the broker's pace instead of filling memory; the producer's
 * bufferMemory bounds the bytes, this bounds the promises.
 */
const WINDOW = 5_000;

interface ProduceFlags extends ProducerFlags {
  bootstrapServer: string;
  keySeparator?: string;
  header: string[];
  partition?: string;
  verbose?: boolean;
}

/** Repeated --header k=v, kept as pairs: Kafka headers may repeat a key, and order is kept. */
function parseHeaders(items: readonly string[]): Array<[string, string]> {
  return items.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--header expects key=value, got "${item}"`);
    return [item.slice(0, eq), item.slice(eq + 1)];
  });
}

/** `fjord produce TOPIC`: kafka-console-producer. One record per line of standard input. */
export function produceCommand(): Command {
  return withProducerFlags(
    withBootstrap(new Command('produce'))
      .description('Send each line of standard input to a topic as one record')
      .argument('<topic>')
      .option('--key-separator <sep>', 'split each line at the first <sep> into key and value (a line without it gets a null key)')
      .option('--header <key=value>', 'a header added to every record (repeatable)', collect, [] as string[])
      .option('--partition <p>', 'send every record to this partition (default: by key hash, or sticky for null keys)')
      .option('--verbose', 'print "partition offset" for each record once it is acknowledged'),
  ).action(
    action(async (topic: string, o: ProduceFlags) => {
      const tuning = producerOptions(o);
      const headers = parseHeaders(o.header);
      const partition = o.partition === undefined ? undefined : parseIntOption(o.partition, '--partition', 0);
      if (o.keySeparator === '') throw new UsageError('--key-separator must not be empty');
      const separator = o.keySeparator === undefined ? null : Buffer.from(o.keySeparator);

      const partitions = await topicPartitions(o.bootstrapServer, topic, true);
      if (partition !== undefined && !partitions.includes(partition)) {
        throw new Error(`UNKNOWN_TOPIC_OR_PARTITION: Partition ${partition} of ${topic} does not exist (${partitions.length} partitions)`);
      }

      const producer = createProducer({ bootstrapServers: o.bootstrapServer, clientId: 'fjord-console-producer', ...tuning });
      const out = new Output();
      const signal = onStopSignal();
      // One link per record, each settling after the one before: outcomes are handled (and --verbose
      // lines printed) in input order, as soon as a record and all before it are acknowledged.
      const inflight: Array<Promise<void>> = [];
      let chain: Promise<void> = Promise.resolve();
      let failure: Error | null = null;
      let failed = 0;
      // Set by the first failure, whenever it settles: reading stops at once, not at the next window.
      let broken = false;
      let sent = 0;

      const track = (outcome: Promise<RecordMetadata | Error>): void => {
        chain = chain.then(async () => {
          const r = await outcome;
          if (r instanceof Error) {
            failed++;
            failure ??= r;
          } else if (o.verbose === true) {
            await out.write(`${r.partition} ${r.offset}\n`);
          }
        });
        inflight.push(chain);
      };

      // Ctrl-C or kill: stop reading (the loop below ends), then send what was read and exit.
      void signal.stopped.then(() => process.stdin.destroy());
      try {
        for await (const line of readLines(process.stdin)) {
          // Checked before each send: a failure may have settled while the next line was being read.
          if (broken) break;
          const at = separator === null ? -1 : line.indexOf(separator);
          const key = at < 0 ? null : line.subarray(0, at);
          const value = at < 0 ? line : line.subarray(at + separator!.length);
          track(
            producer.send({ topic, key, value, headers, ...(partition !== undefined ? { partition } : {}) }).then(
              (m) => m,
              (err: unknown) => {
                broken = true;
                return err instanceof Error ? err : new Error(String(err));
              },
            ),
          );
          sent++;
          if (inflight.length >= WINDOW) await inflight.shift();
        }
      } catch (err) {
        // Destroying stdin on a signal ends its iteration with a premature-close error: not a failure.
        if (!signal.isStopped()) throw err;
      } finally {
        // Nothing more will be read: let go of stdin, or the open pipe keeps the process alive.
        process.stdin.destroy();
        await producer.flush();
        await chain;
        await producer.close();
        await out.flush();
        signal.dispose();
      }
      if (failure !== null) {
        const f: Error = failure;
        throw new Error(failed > 1 ? `${failed} of ${sent} records failed; the first: ${f.message}` : f.message);
      }
    }),
  );
}
