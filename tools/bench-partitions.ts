/**
 * 10,000 partitions on one broker (issue 5, "Scale"): the disk engine in a temporary directory,
 * measured phase by phase.
 *
 *   1. create 100 topics x 100 partitions and append a few records to each, flushed (acks=all);
 *   2. memory per idle partition: RSS and heapUsed after GC, minus the same before the manager;
 *   3. clean shutdown (close) and restart (open);
 *   4. crash: a child process opens the log, appends to every partition (some flushed, some only
 *      written), and SIGKILLs itself; then open() recovers;
 *   5. through the broker: startBroker on the same directory answers Metadata for all partitions, and
 *      a KafkaJS producer and consumer produce to and fetch from a few of them.
 *
 * Descriptors: every open() of the engine's FileSystem is counted (peak), and /proc/self/fd is read
 * after each phase. Run with --expose-gc for the memory figures (npm run bench:partitions does).
 *
 *   node --expose-gc dist/tools/bench-partitions.js [--topics N] [--partitions N] [--records N]
 *                   [--file-handles-max N] [--keep] [--skip-broker]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { systemClock } from '../src/io/clock.js';
import type { FileHandle, FileSystem, OpenFlags } from '../src/io/file-system.js';
import { ForwardingFileSystem } from '../src/io/forwarding-file-system.js';
import { nodeFileSystem } from '../src/io/node-file-system.js';
import { startBroker } from '../src/io/start-broker.js';
import { buildRecordBatch } from '../src/protocol/records/record-batch-builder.js';
import { DiskLogManager } from '../src/storage/disk/disk-log-manager.js';
import { FILE_HANDLES_MAX } from '../src/storage/disk/file-handle-cache.js';
import type { PartitionLog } from '../src/storage/types.js';

interface Args {
  topics: number;
  partitions: number;
  records: number;
  fileHandlesMax: number;
  keep: boolean;
  skipBroker: boolean;
  /** Internal: run the crash writer on this directory. */
  crashWriter: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { topics: 100, partitions: 100, records: 3, fileHandlesMax: FILE_HANDLES_MAX, keep: false, skipBroker: false, crashWriter: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--topics') args.topics = Number(next());
    else if (a === '--partitions') args.partitions = Number(next());
    else if (a === '--records') args.records = Number(next());
    else if (a === '--file-handles-max') args.fileHandlesMax = Number(next());
    else if (a === '--keep') args.keep = true;
    else if (a === '--skip-broker') args.skipBroker = true;
    else if (a === '--crash-writer') args.crashWriter = next();
    else throw new Error(`Unknown argument ${a}`);
  }
  return args;
}

/** Counts descriptors the engine opens through its FileSystem (writeFileAtomic's own are transient). */
class FdCountingFileSystem extends ForwardingFileSystem {
  open_ = 0;
  peak = 0;
  opens = 0;
  resetPeak(): void {
    this.peak = this.open_;
  }
  override open(path: string, flags: OpenFlags): FileHandle {
    const h = this.inner.open(path, flags);
    this.opens++;
    this.open_++;
    if (this.open_ > this.peak) this.peak = this.open_;
    return h;
  }
  override close(handle: FileHandle): void {
    this.open_--;
    this.inner.close(handle);
  }
}

function procFds(): number {
  return readdirSync('/proc/self/fd').length;
}

const gc = (globalThis as { gc?: () => void }).gc;

function settle(): void {
  if (gc !== undefined) {
    gc();
    gc();
  }
}

function memory(): { rss: number; heap: number } {
  settle();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

function topicName(t: number): string {
  return `bench-${String(t).padStart(3, '0')}`;
}

function topicId(t: number): string {
  return `00000000-0000-4000-8000-${String(t + 1).padStart(12, '0')}`;
}

function logsOf(m: DiskLogManager, args: Args): PartitionLog[] {
  const logs: PartitionLog[] = [];
  for (let t = 0; t < args.topics; t++) for (let p = 0; p < args.partitions; p++) logs.push(m.partition(topicName(t), p) as PartitionLog);
  return logs;
}

async function appendTo(logs: readonly PartitionLog[], records: number, tag: string): Promise<void> {
  const batch = await buildRecordBatch({
    records: Array.from({ length: records }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`${tag}-${i}-${'x'.repeat(100)}`), timestamp: Date.now() })),
  });
  // The log writes the base offset into the batch, so each partition gets its own copy.
  for (const log of logs) log.append(Buffer.from(batch));
}

function manager(dir: string, fs: FileSystem, args: Args): DiskLogManager {
  return new DiskLogManager({ logDir: dir, fs, clock: systemClock, fileHandlesMax: args.fileHandlesMax, onBackgroundError: (e) => console.error('background error', e) });
}

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

/** Child: open, append and flush to every partition, append more without flushing, die. */
async function crashWriter(dir: string, args: Args): Promise<void> {
  // The engine's write timers do not keep the process alive (the system clock unrefs them): without a
  // ref'd handle the process could exit, status 0, before its writes and the SIGKILL below.
  setInterval(() => undefined, 60_000);
  const m = manager(dir, nodeFileSystem, args);
  await m.open();
  const logs = logsOf(m, args);
  await appendTo(logs, args.records, 'synced');
  await Promise.all(logs.map((l) => l.flush()));
  await appendTo(logs, args.records, 'written');
  await Promise.all(logs.map((l) => l.written()));
  process.kill(process.pid, 'SIGKILL');
}

async function brokerCheck(dir: string, args: Args): Promise<Record<string, number | string>> {
  const fdsBefore = procFds();
  const start = await timed(() => startBroker({ dataDir: dir, config: { 'auto.create.topics.enable': 'false' } }));
  const broker = start.value;
  const kafka = new Kafka({ clientId: 'bench-partitions', brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: 'bench-partitions' });
  try {
    await admin.connect();
    const meta = await timed(() => admin.fetchTopicMetadata());
    const partitions = meta.value.topics.filter((t) => t.name.startsWith('bench-')).reduce((n, t) => n + t.partitions.length, 0);
    if (partitions !== args.topics * args.partitions) throw new Error(`Metadata listed ${partitions} partitions`);
    await producer.connect();
    const targets = [0, Math.floor(args.topics / 2), args.topics - 1].map((t) => ({ topic: topicName(t), partition: t % args.partitions }));
    const produce = await timed(() =>
      producer.sendBatch({ acks: -1, topicMessages: targets.map((tp) => ({ topic: tp.topic, messages: [{ partition: tp.partition, key: 'bench', value: `via-broker-${tp.topic}` }] })) }),
    );
    await consumer.connect();
    for (const tp of targets) await consumer.subscribe({ topic: tp.topic, fromBeginning: true });
    const seen = new Set<string>();
    const fetch = await timed(
      () =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`fetched only ${[...seen].join(', ')}`)), 60_000);
          void consumer.run({
            eachMessage: async ({ topic, message }) => {
              if (message.value?.toString() === `via-broker-${topic}`) seen.add(topic);
              if (seen.size === targets.length) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        }),
    );
    return {
      'startBroker (ms)': Math.round(start.ms),
      'Metadata, all topics (ms)': Math.round(meta.ms),
      'partitions in Metadata': partitions,
      'produce acks=all to 3 partitions (ms)': Math.round(produce.ms),
      'consume them back, group join included (ms)': Math.round(fetch.ms),
      '/proc/self/fd with the broker up': procFds() - fdsBefore,
    };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.close();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.crashWriter !== null) return crashWriter(args.crashWriter, args);
  const total = args.topics * args.partitions;
  const dir = mkdtempSync(join(tmpdir(), 'fjord-partitions-'));
  const results: Array<[string, string | number]> = [];
  const note = (name: string, value: string | number): void => {
    results.push([name, value]);
    console.log(`${name}: ${value}`);
  };
  console.log(`${total} partitions (${args.topics} x ${args.partitions}), ${args.records} records each, file handles max ${args.fileHandlesMax}, in ${dir}`);
  if (gc === undefined) console.log('(no --expose-gc: memory figures include garbage)');
  try {
    const fs = new FdCountingFileSystem(nodeFileSystem);
    const baseFds = procFds();
    const before = memory();
    const m = manager(dir, fs, args);
    await m.open();
    const create = await timed(() => {
      for (let t = 0; t < args.topics; t++) m.createTopic(topicName(t), args.partitions, {}, topicId(t));
    });
    note('create topics (ms)', Math.round(create.ms));
    const logs = logsOf(m, args);
    const append = await timed(() => appendTo(logs, args.records, 'first'));
    note('append one batch to every partition (ms)', Math.round(append.ms));
    const flush = await timed(() => Promise.all(logs.map((l) => l.flush())));
    note('flush every partition, acks=all (ms)', Math.round(flush.ms));
    const after = memory();
    note('RSS per idle partition (bytes)', Math.round((after.rss - before.rss) / total));
    note('heapUsed per idle partition (bytes)', Math.round((after.heap - before.heap) / total));
    note('peak descriptors opened by the engine, creation', fs.peak);
    note('/proc/self/fd after creation (above baseline)', procFds() - baseFds);
    const close = await timed(() => m.close());
    note('clean shutdown: close() (ms)', Math.round(close.ms));
    logs.length = 0;

    fs.resetPeak();
    const restarted = manager(dir, fs, args);
    const open = await timed(() => restarted.open());
    note('restart after clean shutdown: open() (ms)', Math.round(open.ms));
    note('peak descriptors opened by the engine, clean restart', fs.peak);
    await restarted.close();

    const child = await timed(() =>
      spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--crash-writer', dir, '--topics', String(args.topics), '--partitions', String(args.partitions), '--records', String(args.records), '--file-handles-max', String(args.fileHandlesMax)], {
        stdio: 'inherit',
      }),
    );
    if (child.value.signal !== 'SIGKILL') throw new Error(`crash writer ended with ${child.value.status ?? child.value.signal}`);
    fs.resetPeak();
    const recovered = manager(dir, fs, args);
    const recovery = await timed(() => recovered.open());
    const summary = recovered.lastRecovery();
    note('recovery after SIGKILL: open() (ms)', Math.round(recovery.ms));
    note('segments recovered', summary?.recoveredSegments ?? -1);
    note('peak descriptors opened by the engine, recovery', fs.peak);
    const end = logsOf(recovered, args).reduce((n, l) => n + l.logEndOffset(), 0);
    note('records after recovery (all partitions)', end);
    if (end < total * args.records * 2) throw new Error(`Lost synced records: ${end} < ${total * args.records * 2}`);
    note('file-handle cache', JSON.stringify(recovered.fileHandleStats()));
    await recovered.close();

    if (!args.skipBroker) for (const [k, v] of Object.entries(await brokerCheck(dir, args))) note(k, v);

    console.log(`\n${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
    console.log('| measure | value |\n|---|---|');
    for (const [k, v] of results) console.log(`| ${k} | ${v} |`);
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
