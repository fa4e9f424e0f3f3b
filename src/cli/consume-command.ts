import { Command } from 'commander';
import { createConsumer, type Consumer } from '../client/consumer/index.js';
import { action, parseIntOption, withBootstrap, UsageError } from './common.js';
import { compileFormat, keyAndValue, valueOnly, type RecordFormatter } from './format-record.js';
import { Output } from './output.js';
import { onStopSignal } from './signals.js';
import { topicPartitions } from './topic-lookup.js';

interface ConsumeFlags {
  bootstrapServer: string;
  fromBeginning?: boolean;
  partition?: string;
  offset?: string;
  maxMessages?: string;
  timeoutMs?: string;
  format?: string;
  printKey?: boolean;
  group?: string;
}

type BinaryConsumer = Consumer<Buffer | null, Buffer | null>;

/** Where reading starts in each assigned partition. */
export type StartAt = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'offset'; readonly offset: bigint };

/** kafka-console-consumer's rules: --offset needs --partition and excludes --from-beginning. */
function startOf(o: ConsumeFlags): StartAt {
  if (o.offset === undefined) return { kind: o.fromBeginning === true ? 'earliest' : 'latest' };
  if (o.partition === undefined) throw new UsageError('--offset needs --partition');
  if (o.fromBeginning === true) throw new UsageError('--from-beginning and --offset exclude each other');
  const v = o.offset.toLowerCase();
  if (v === 'earliest' || v === 'beginning') return { kind: 'earliest' };
  if (v === 'latest' || v === 'end') return { kind: 'latest' };
  if (!/^\d+$/.test(v)) throw new UsageError(`--offset must be a non-negative integer, earliest/beginning or latest/end, got "${o.offset}"`);
  return { kind: 'offset', offset: BigInt(v) };
}

function formatterOf(o: ConsumeFlags): RecordFormatter {
  if (o.format !== undefined && o.printKey === true) throw new UsageError('--format and --print-key exclude each other (use %k in the format)');
  if (o.format !== undefined) return compileFormat(o.format);
  return o.printKey === true ? keyAndValue : valueOnly;
}

/**
 * Manual assignment: the given partition, or every partition of the topic. A consumer-group mode
 * would replace this step with `subscribe` and leave the rest of the command (the loop) as it is.
 */
function assignTopic(consumer: BinaryConsumer, topic: string, partitions: readonly number[], start: StartAt): void {
  consumer.assign(partitions.map((partition) => ({ topic, partition, ...(start.kind === 'offset' ? { offset: start.offset } : {}) })));
  if (start.kind === 'earliest') consumer.seekToBeginning();
  else if (start.kind === 'latest') consumer.seekToEnd();
}

export interface ConsumeLoopOptions {
  readonly format: RecordFormatter;
  readonly maxMessages: number;
  /** Stop after this long without a record; undefined waits forever. */
  readonly idleTimeoutMs: number | undefined;
  readonly isStopped: () => boolean;
  readonly out: Output;
}

/**
 * Poll and print until --max-messages, the idle timeout, a stop signal (which closes the consumer,
 * so a pending poll returns at once) or the reader of stdout going away. Records are printed a poll
 * at a time and the next poll waits for stdout to take them: a slow pipe slows the consumer.
 * Returns the number of records printed.
 */
export async function consumeLoop(consumer: BinaryConsumer, o: ConsumeLoopOptions): Promise<number> {
  let count = 0;
  let lastRecordAt = Date.now();
  while (count < o.maxMessages && !o.isStopped() && !o.out.closed) {
    const timeoutMs = o.idleTimeoutMs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, lastRecordAt + o.idleTimeoutMs - Date.now());
    const records = await consumer.poll({ maxRecords: Math.min(500, o.maxMessages - count), timeoutMs });
    if (records.length === 0) {
      if (o.idleTimeoutMs !== undefined && Date.now() - lastRecordAt >= o.idleTimeoutMs) break;
      continue;
    }
    lastRecordAt = Date.now();
    count += records.length;
    await o.out.write(Buffer.concat(records.map(o.format)));
  }
  return count;
}

/** `fjord consume TOPIC`: kafka-console-consumer, with kcat-style output templates. */
export function consumeCommand(): Command {
  return withBootstrap(new Command('consume'))
    .description('Print the records of a topic, one value a line')
    .argument('<topic>')
    .option('--from-beginning', 'start at the earliest offset (default: only records produced from now on)')
    .option('--group <group>', 'consume as a member of this consumer group, committing offsets (resumes where the group left off)')
    .option('--partition <p>', 'read only this partition (default: every partition of the topic)')
    .option('--offset <offset>', 'with --partition: start here; a number, earliest/beginning or latest/end (default: latest)')
    .option('--max-messages <n>', 'exit after printing this many records')
    .option('--timeout-ms <ms>', 'exit when no record arrives for this long')
    .option('--print-key', 'print key, a tab, then the value (null keys print as null)')
    .option(
      '--format <template>',
      'output template: %k key, %v value, %h headers (k=v,...), %o offset, %p partition, %t timestamp, %T topic, ' +
        '%K/%S key/value length, %% percent; \\n \\t \\r \\\\ escapes; nothing is added at the end',
    )
    .addHelpText(
      'after',
      '\nBy default each value is printed on its own line; a null value prints as "null".\n' +
        'In --format templates a null key or value prints as nothing (as in kcat).\n' +
        'Stops cleanly (exit 0) on SIGINT/SIGTERM; prints "Processed a total of N messages" on stderr.\n' +
        "Example: fjord consume orders --from-beginning --format '%p:%o %k=%v\\n'",
    )
    .action(
      action(async (topic: string, o: ConsumeFlags) => {
        const start = startOf(o);
        const format = formatterOf(o);
        const partition = o.partition === undefined ? undefined : parseIntOption(o.partition, '--partition', 0);
        const maxMessages = o.maxMessages === undefined ? Number.POSITIVE_INFINITY : parseIntOption(o.maxMessages, '--max-messages', 1);
        const idleTimeoutMs = o.timeoutMs === undefined ? undefined : parseIntOption(o.timeoutMs, '--timeout-ms', 0);

        if (o.group !== undefined && (o.partition !== undefined || o.offset !== undefined)) {
          throw new UsageError('--group cannot be combined with --partition or --offset: the group assigns partitions');
        }
        // Java consumers ask for auto-creation by default (allow.auto.create.topics); so does this one.
        const all = await topicPartitions(o.bootstrapServer, topic, true);
        if (partition !== undefined && !all.includes(partition)) {
          throw new Error(`UNKNOWN_TOPIC_OR_PARTITION: Partition ${partition} of ${topic} does not exist (${all.length} partitions)`);
        }
        const consumer: BinaryConsumer = createConsumer({
          bootstrapServers: o.bootstrapServer,
          clientId: 'fjord-console-consumer',
          // Where a numeric --offset outside the log lands, as in kafka-console-consumer; for a group,
          // where a partition without a committed offset starts.
          autoOffsetReset: start.kind === 'earliest' ? 'earliest' : 'latest',
          // A group member commits what it printed (on an interval and when it exits).
          ...(o.group !== undefined ? { groupId: o.group, enableAutoCommit: true, autoCommitIntervalMs: 1000 } : {}),
        });
        const out = new Output();
        const signal = onStopSignal();
        // Closing wakes a poll waiting for records, so a signal stops the loop at once.
        void signal.stopped.then(() => consumer.close());
        let count = 0;
        try {
          if (o.group !== undefined) consumer.subscribe([topic]);
          else assignTopic(consumer, topic, partition === undefined ? all : [partition], start);
          count = await consumeLoop(consumer, { format, maxMessages, idleTimeoutMs, isStopped: signal.isStopped, out });
        } finally {
          await consumer.close();
          await out.flush();
          signal.dispose();
        }
        process.stderr.write(`Processed a total of ${count} messages\n`);
      }),
    );
}
