/**
 * Clients side by side: Fjord's client, @platformatic/kafka, KafkaJS and (as a reference) librdkafka
 * through confluent-kafka for Python, against ONE Fjord broker (memory engine, in a child process),
 * each load run in its own child process, so the broker and the client each get a core of a 2-vCPU
 * machine and the orchestrator stays idle.
 *
 *   1. batched produce, acks=1, for a fixed time after a warm-up (a fresh broker per run); Fjord twice:
 *      with sendBatch() arrays as KafkaJS and platformatic are driven (the headline row), and with one
 *      send() promise per record ('fjord-send');
 *   2. consume of a pre-filled topic from the beginning (pre-filled once by Fjord's producer, so
 *      every client reads the same batches), timed from the first record to the last;
 *   3. ratios Fjord / platformatic and Fjord / KafkaJS against the issue's targets;
 *   4. with --profile, `node --cpu-prof` on Fjord's load child for each case, ranked by self time.
 *
 *   node dist/tools/bench-clients.js [--seconds N] [--runs R] [--consume-runs R] [--quick] [--profile] [--skip-consume] [--skip-produce] [--json FILE]
 *                                    [--max-load L] [--wait-quiet S] [--max-busy C] [--wait-quiet-run S]
 *                                    [--partition-fetch-bytes N]
 *                                    [--only fjord,fjord-send,platformatic,kafkajs,librdkafka] [--prefill-records N]
 *                                    [--fjord-producer JSON] [--fjord-consumer JSON]
 *
 * --fjord-producer / --fjord-consumer merge options into Fjord's producer / consumer (experiments,
 * e.g. '{"batchSize":65536}', '{"retries":0}' or '{"checkCrcs":false}'); the report prints them.
 * Two keys are the benchmark's own knobs: "outstandingBytes" (producer: records awaiting their
 * send() promise, default 8 MiB) and "maxPollRecords" (consumer: poll() size, default 10,000).
 *
 * Before measuring it waits (up to --wait-quiet seconds, default 180) for the 1-minute load average
 * to drop to --max-load (default 1.5); it measures anyway after that and says so in the report. The
 * load average lags and counts this benchmark's own two busy processes, so before every single
 * measurement it also samples, for a second, the CPU that other processes use while its own are
 * idle, and waits (up to --wait-quiet-run seconds, default 60) until that is below --max-busy cores
 * (default 0.3). The report shows those samples.
 * Exits non-zero only on real failures (a client error, a short read, a crashed child), never on a
 * missed target.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { JsonChild } from './bench/child.js';
import { ensureTopic } from './bench/produce-load.js';
import { fmt, markdownTable, median, spread, MB } from './bench/stats.js';
import {
  ARRAY_SENDS_IN_FLIGHT,
  CLIENTS,
  CLIENT_LABELS,
  FETCH_MAX_BYTES,
  FETCH_MAX_WAIT_MS,
  FJORD_BATCH_LINGER_MS,
  FJORD_BATCH_SIZE,
  FJORD_LINGER_MS,
  FJORD_OUTSTANDING_BYTES,
  FJORD_POLL_MAX_RECORDS,
  PARTITION_FETCH_MAX_BYTES,
  PRODUCE_ONLY,
  VALUE_SIZES,
  arrayRecordsPerSend,
  librdkafkaConfig,
  prefillRecords,
  produceLabel,
  type ClientName,
  type LoadResult,
  type LoadSpec,
} from './bench-clients/settings.js';
import { summarizeWindow, type WindowProfile } from './bench-clients/profile.js';

/** The issue's targets: Fjord's records/s over the other client's. */
const TARGETS = {
  produce: { platformatic: 1.5, kafkajs: 3 },
  consume: { platformatic: 1.5, kafkajs: 1.5 },
} as const;
const CONSUME_TIMEOUT_SECONDS = 300;
const LOAD_SCRIPT = '../bench-clients/load.js'; // relative to tools/bench/child.js

interface Options {
  seconds: number;
  warmupSeconds: number;
  runs: number;
  /** Consume runs are short (a second or two each): more of them, for a steadier median. */
  consumeRuns: number;
  quick: boolean;
  profile: boolean;
  json: string | undefined;
  maxLoad: number;
  waitQuietSeconds: number;
  /** Per measurement: other processes' CPU use (cores) to wait out, and for how long at most. */
  maxBusy: number;
  waitQuietRunSeconds: number;
  partitionFetchBytes: number;
  clients: ClientName[];
  fjordProducer: Record<string, unknown> | undefined;
  fjordConsumer: Record<string, unknown> | undefined;
  /** --skip-consume: measure produce only (quicker iterations on the producer). */
  skipConsume: boolean;
  /** --skip-produce: measure consume only (quicker iterations on the consumer). */
  skipProduce: boolean;
  /** --prefill-records N: records per consume topic (every size), instead of prefillRecords(); for smoke runs. */
  prefillRecords: number | undefined;
  /** Clients left out because they cannot run here (librdkafka without confluent-kafka), with why. */
  unavailable: string[];
}

function parseArgs(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number, allowZero = false): number => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new Error(`${name} needs a positive number, got ${v}`);
    return n;
  };
  const withValue = new Set(['--seconds', '--runs', '--consume-runs', '--json', '--max-load', '--wait-quiet', '--max-busy', '--wait-quiet-run', '--partition-fetch-bytes', '--only', '--fjord-producer', '--fjord-consumer', '--prefill-records', '--warmup']);
  const known = new Set(['--quick', '--profile', '--skip-consume', '--skip-produce', ...withValue]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!known.has(a)) {
      throw new Error(
        `unknown argument ${a}; usage: bench-clients [--seconds N] [--warmup S] [--runs R] [--consume-runs R] [--quick] [--profile] [--skip-consume] [--skip-produce] [--json FILE] [--max-load L] [--wait-quiet S] [--max-busy C] [--wait-quiet-run S] [--partition-fetch-bytes N] ` +
          '[--prefill-records N] [--only CLIENTS] [--fjord-producer JSON] [--fjord-consumer JSON]',
      );
    }
    if (withValue.has(a)) i++;
  }
  return {
    seconds: num('--seconds', quick ? 3 : 10),
    warmupSeconds: num('--warmup', quick ? 1 : 2, true),
    runs: Math.round(num('--runs', quick ? 1 : 3)),
    consumeRuns: Math.round(num('--consume-runs', quick ? 1 : 5)),
    quick,
    profile: argv.includes('--profile'),
    json: value('--json'),
    maxLoad: num('--max-load', 1.5),
    waitQuietSeconds: num('--wait-quiet', 180, true),
    maxBusy: num('--max-busy', 0.3),
    waitQuietRunSeconds: num('--wait-quiet-run', 60, true),
    partitionFetchBytes: Math.round(num('--partition-fetch-bytes', PARTITION_FETCH_MAX_BYTES)),
    ...only(value('--only')),
    fjordProducer: json('--fjord-producer', value('--fjord-producer')),
    fjordConsumer: json('--fjord-consumer', value('--fjord-consumer')),
    skipConsume: argv.includes('--skip-consume'),
    skipProduce: argv.includes('--skip-produce'),
    prefillRecords: value('--prefill-records') === undefined ? undefined : Math.round(num('--prefill-records', 0)),
  };
}

/** `import confluent_kafka` works with /usr/bin/python3 (Debian's python3-confluent-kafka). */
function librdkafkaAvailable(): string | null {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import confluent_kafka'], { encoding: 'utf8' });
  if (r.error !== undefined) return r.error.message;
  return r.status === 0 ? null : (r.stderr.trim().split('\n').pop() ?? `exit ${String(r.status)}`);
}

/** Without --only every client runs, librdkafka only where it can; asked for by name, it must. */
function only(list: string | undefined): { clients: ClientName[]; unavailable: string[] } {
  if (list === undefined) {
    const why = librdkafkaAvailable();
    if (why === null) return { clients: [...CLIENTS], unavailable: [] };
    return { clients: CLIENTS.filter((c) => c !== 'librdkafka'), unavailable: [`librdkafka (/usr/bin/python3 cannot import confluent_kafka: ${why}; apt-get install python3-confluent-kafka)`] };
  }
  const names = list.split(',').map((s) => s.trim());
  for (const n of names) if (!(CLIENTS as readonly string[]).includes(n)) throw new Error(`--only: unknown client ${n} (${CLIENTS.join(', ')})`);
  return { clients: CLIENTS.filter((c) => names.includes(c)), unavailable: [] };
}

const consumeClients = (o: Options): ClientName[] => o.clients.filter((c) => !PRODUCE_ONLY.has(c));
const records = (valueBytes: number, o: Options): number => o.prefillRecords ?? prefillRecords(valueBytes, o.quick);

function json(name: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${name} needs a JSON object, got ${text}`);
  return v as Record<string, unknown>;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function loadavg(): Promise<[number, number, number]> {
  const parts = (await readFile('/proc/loadavg', 'utf8')).trim().split(/\s+/).map(Number);
  return [parts[0] ?? Number.NaN, parts[1] ?? Number.NaN, parts[2] ?? Number.NaN];
}

const showLoad = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(' ');

/** Busy and total jiffies of all CPUs, from /proc/stat. */
async function cpuJiffies(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * Cores kept busy by other processes: sampled over one second between measurements, while this
 * benchmark's own processes are idle (no load child runs; a broker child waits for its next client).
 */
async function othersBusyCores(): Promise<number> {
  const a = await cpuJiffies();
  await new Promise((r) => setTimeout(r, 1000));
  const b = await cpuJiffies();
  return b.total === a.total ? 0 : ((b.busy - a.busy) / (b.total - a.total)) * cpus().length;
}

/**
 * Before each measurement: wait (up to waitQuietRunSeconds) until other processes use less than
 * maxBusy cores. Returns the last sample, which goes into the report next to the result.
 */
async function quietBeforeRun(o: Options): Promise<number> {
  const started = Date.now();
  let busy = await othersBusyCores();
  while (busy > o.maxBusy && (Date.now() - started) / 1000 < o.waitQuietRunSeconds) {
    busy = await othersBusyCores();
  }
  return busy;
}

/** Wait (bounded) for the 1-minute load average to fall to maxLoad. */
async function waitForQuiet(o: Options): Promise<{ before: string; after: string; waitedSeconds: number; quiet: boolean }> {
  const first = await loadavg();
  const started = Date.now();
  let now = first;
  while (now[0] > o.maxLoad && (Date.now() - started) / 1000 < o.waitQuietSeconds) {
    log(`load average ${showLoad(now)} > ${o.maxLoad}: waiting for a quieter machine...`);
    await new Promise((r) => setTimeout(r, 10_000));
    now = await loadavg();
  }
  return { before: showLoad(first), after: showLoad(now), waitedSeconds: Math.round((Date.now() - started) / 1000), quiet: now[0] <= o.maxLoad };
}

type Cpu = { cpu: { user: number; system: number } };

class Broker {
  private constructor(readonly child: JsonChild, readonly port: number) {}

  static async start(nodeArgs: readonly string[] = []): Promise<Broker> {
    const child = new JsonChild('./broker-process.js', ['--storage', 'memory'], nodeArgs);
    const { port } = await child.next<{ port: number }>();
    return new Broker(child, port);
  }

  async stop(): Promise<void> {
    const code = await this.child.stop();
    if (code !== 0) throw new Error(`broker child exited with code ${String(code)}`);
  }
}

interface Measured extends LoadResult {
  /** The broker child's CPU use inside the window, in cores. */
  brokerCpu: number;
  /** Other processes' CPU use (cores) sampled just before the run. */
  othersBusy?: number;
}

/** Run one load child against `broker`; sample the broker's CPU time at the window's edges. */
async function runLoad(spec: LoadSpec, broker: Broker, nodeArgs: readonly string[] = []): Promise<Measured> {
  const child = new JsonChild(LOAD_SCRIPT, [JSON.stringify(spec)], nodeArgs);
  let cpuStart: Promise<Cpu> | undefined;
  let cpuEnd: Promise<Cpu> | undefined;
  let result: LoadResult | undefined;
  try {
    while (result === undefined) {
      const msg = await child.next<{ event?: string; result?: LoadResult }>();
      if (msg.event === 'window-start') cpuStart = broker.child.request<Cpu>('cpu');
      else if (msg.event === 'window-end') cpuEnd = broker.child.request<Cpu>('cpu');
      else if (msg.result !== undefined) result = msg.result;
    }
  } finally {
    const code = await child.stop(60_000);
    if (code !== 0 && result !== undefined) throw new Error(`load child exited with code ${String(code)}`);
  }
  let brokerCpu = Number.NaN;
  if (cpuStart !== undefined && cpuEnd !== undefined && result.seconds > 0) {
    const [a, b] = await Promise.all([cpuStart, cpuEnd]);
    brokerCpu = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1e6 / result.seconds;
  }
  return { ...result, brokerCpu };
}

const produceTopic = (valueBytes: number): string => `produce-${valueBytes}`;
const consumeTopic = (valueBytes: number): string => `consume-${valueBytes}`;

/** A fresh broker per produce run: the memory engine keeps every record, gigabytes per run. */
async function measureProduce(client: ClientName, valueBytes: number, o: Options, nodeArgs: readonly string[] = []): Promise<Measured> {
  const broker = await Broker.start();
  try {
    await ensureTopic(broker.port, produceTopic(valueBytes));
    return await runLoad(
      {
        mode: 'produce',
        client,
        port: broker.port,
        topic: produceTopic(valueBytes),
        valueBytes,
        warmupSeconds: o.warmupSeconds,
        seconds: o.seconds,
        ...((client === 'fjord' || client === 'fjord-send') && o.fjordProducer !== undefined ? { fjordOptions: o.fjordProducer } : {}),
      },
      broker,
      nodeArgs,
    );
  } finally {
    await broker.stop();
  }
}

function measureConsume(broker: Broker, client: ClientName, valueBytes: number, o: Options, nodeArgs: readonly string[] = []): Promise<Measured> {
  return runLoad(
    {
      mode: 'consume',
      client,
      port: broker.port,
      topic: consumeTopic(valueBytes),
      valueBytes,
      records: records(valueBytes, o),
      timeoutSeconds: CONSUME_TIMEOUT_SECONDS,
      partitionFetchBytes: o.partitionFetchBytes,
      ...(client === 'fjord' && o.fjordConsumer !== undefined ? { fjordOptions: o.fjordConsumer } : {}),
    },
    broker,
    nodeArgs,
  );
}

/** Client order for run r: rotated, so no client always runs first (or right after the prefill). */
function order(r: number, clients: readonly ClientName[]): ClientName[] {
  return clients.map((_, i) => clients[(i + r) % clients.length]!);
}

interface ProfiledRun {
  mode: 'produce' | 'consume';
  valueBytes: number;
  run: Measured;
  summary: WindowProfile;
}

async function profiled(mode: 'produce' | 'consume', valueBytes: number, measure: (nodeArgs: readonly string[]) => Promise<Measured>): Promise<ProfiledRun> {
  const dir = await mkdtemp(join(tmpdir(), 'fjord-bench-clients-prof-'));
  try {
    // 250 µs sampling: a consume window lasts under a second.
    const run = await measure(['--cpu-prof', '--cpu-prof-interval', '250', `--cpu-prof-dir=${dir}`]);
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('the load child wrote no .cpuprofile');
    return { mode, valueBytes, run, summary: await summarizeWindow(join(dir, file), run.windowUs[0], run.windowUs[1], 15) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One ratio of the report, for the JSON file (tools/bench/clients-case.ts reads it): target null = informational. */
export interface RatioRow {
  mode: 'produce' | 'consume';
  fjord: ClientName;
  valueBytes: number;
  other: 'platformatic' | 'kafkajs';
  ratio: number;
  target: number | null;
}

type Results = Record<'produce' | 'consume', Record<number, Record<ClientName, Measured[]>>>;

function emptyResults(): Results {
  const bySize = (): Record<number, Record<ClientName, Measured[]>> =>
    Object.fromEntries(VALUE_SIZES.map((s) => [s, Object.fromEntries(CLIENTS.map((c) => [c, [] as Measured[]])) as Record<ClientName, Measured[]>]));
  return { produce: bySize(), consume: bySize() };
}

const sizeLabel = (b: number): string => (b >= 1024 ? `${b / 1024} KiB` : `${b} B`);
const rate = (m: Measured): string => `${fmt(m.recordsPerSecond, 0)} rec/s, ${fmt(m.bytesPerSecond / MB)} MB/s, client ${fmt(m.clientCpu, 2)} / broker ${fmt(m.brokerCpu, 2)} cores`;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const quiet = await waitForQuiet(o);
  log(`load average ${quiet.before}${quiet.waitedSeconds > 0 ? ` → ${quiet.after} after ${quiet.waitedSeconds} s` : ''}${quiet.quiet ? '' : ' (NOT quiet: measuring anyway)'}`);
  log(`bench-clients: ${o.clients.join(', ')}; ${o.runs} produce / ${o.consumeRuns} consume run(s); produce ${o.seconds} s (+${o.warmupSeconds} s warm-up); consume ${VALUE_SIZES.map((s) => `${records(s, o)} x ${sizeLabel(s)}`).join(', ')}`);
  for (const u of o.unavailable) log(`left out: ${u}`);
  const results = emptyResults();
  const loadDuring: string[] = [];
  const profiles: ProfiledRun[] = [];

  // 1. Produce.
  for (let r = 0; r < (o.skipProduce ? 0 : o.runs); r++) {
    loadDuring.push(`before produce run ${r + 1}: ${showLoad(await loadavg())}`);
    for (const valueBytes of VALUE_SIZES) {
      for (const client of order(r, o.clients)) {
        const othersBusy = await quietBeforeRun(o);
        const m = { ...(await measureProduce(client, valueBytes, o)), othersBusy };
        results.produce[valueBytes]![client].push(m);
        log(`produce ${sizeLabel(valueBytes)} ${client} run ${r + 1}: ${rate(m)} (others busy ${fmt(othersBusy, 2)} cores before)`);
      }
    }
  }
  if (o.profile && o.clients.includes('fjord') && !o.skipProduce) {
    for (const valueBytes of VALUE_SIZES) {
      await quietBeforeRun(o);
      const p = await profiled('produce', valueBytes, (nodeArgs) => measureProduce('fjord', valueBytes, o, nodeArgs));
      profiles.push(p);
      log(`profiled produce ${sizeLabel(valueBytes)} fjord: ${rate(p.run)}`);
    }
  }

  // 2. Consume: one broker, one pre-filled topic per size, read from the beginning by every run.
  const prefills: Measured[] = [];
  const broker = await Broker.start();
  try {
    for (const valueBytes of o.skipConsume ? [] : VALUE_SIZES) {
      const topic = consumeTopic(valueBytes);
      await ensureTopic(broker.port, topic);
      const p = await runLoad({ mode: 'prefill', port: broker.port, topic, valueBytes, records: records(valueBytes, o) }, broker);
      prefills.push(p);
      log(`prefilled ${topic}: ${p.records} records in ${fmt(p.seconds, 2)} s`);
    }
    for (let r = 0; r < (o.skipConsume ? 0 : o.consumeRuns); r++) {
      loadDuring.push(`before consume run ${r + 1}: ${showLoad(await loadavg())}`);
      for (const valueBytes of VALUE_SIZES) {
        for (const client of order(r, consumeClients(o))) {
          const othersBusy = await quietBeforeRun(o);
          const m = { ...(await measureConsume(broker, client, valueBytes, o)), othersBusy };
          results.consume[valueBytes]![client].push(m);
          log(`consume ${sizeLabel(valueBytes)} ${client} run ${r + 1}: ${rate(m)}, first record after ${fmt(m.firstRecordMs ?? Number.NaN, 0)} ms (others busy ${fmt(othersBusy, 2)} cores before)`);
        }
      }
    }
    if (o.profile && o.clients.includes('fjord') && !o.skipConsume) {
      for (const valueBytes of VALUE_SIZES) {
        await quietBeforeRun(o);
        const p = await profiled('consume', valueBytes, (nodeArgs) => measureConsume(broker, 'fjord', valueBytes, o, nodeArgs));
        profiles.push(p);
        log(`profiled consume ${sizeLabel(valueBytes)} fjord: ${rate(p.run)}`);
      }
    }
  } finally {
    await broker.stop();
  }
  const loadAfter = showLoad(await loadavg());

  // 3. Report.
  const out: string[] = [];
  out.push(`## Clients side by side (${startedAt.toISOString()})`);
  out.push('');
  out.push(
    `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. ` +
      `Load average (1/5/15 min) at start ${quiet.before}` +
      (quiet.waitedSeconds > 0 ? `, ${quiet.after} after waiting ${quiet.waitedSeconds} s` : '') +
      (quiet.quiet ? '' : ` (**above ${o.maxLoad}: the machine was busy**)`) +
      `; at the end ${loadAfter}.`,
  );
  out.push('');
  out.push(
    `One Fjord broker (memory engine) in a child process; each measurement in a fresh load child. ${o.runs} produce and ${o.consumeRuns} consume run(s) per case, clients interleaved; ` +
      'cells are median (min–max) over runs. Records have a null key, no headers, no compression, and go to partition 0 of a 1-partition topic. ' +
      'MB/s counts value bytes only (MB = 10^6 bytes). CPU columns are cores used inside the window by the load child and by the broker child (medians); ' +
        `"others before" is the most CPU (cores) other processes used in the 1 s sample taken before each run (runs wait for < ${o.maxBusy}, at most ${o.waitQuietRunSeconds} s).`,
  );
  out.push('');
  const usPerRecord = (m: Measured): number => (m.clientCpu * 1e6) / m.recordsPerSecond;
  const table = (mode: 'produce' | 'consume'): string => {
    const rows: string[][] = [];
    for (const valueBytes of VALUE_SIZES) {
      for (const client of mode === 'produce' ? o.clients : consumeClients(o)) {
        const ms = results[mode][valueBytes]![client];
        if (ms.length === 0) continue;
        const row = [
          sizeLabel(valueBytes),
          mode === 'produce' ? produceLabel(client) : CLIENT_LABELS[client],
          spread(ms.map((m) => m.recordsPerSecond), 0),
          spread(ms.map((m) => m.bytesPerSecond / MB)),
          fmt(median(ms.map((m) => m.clientCpu)), 2),
          fmt(median(ms.map(usPerRecord)), 2),
          fmt(median(ms.map((m) => m.brokerCpu)), 2),
          fmt(Math.max(...ms.map((m) => m.othersBusy ?? Number.NaN)), 2),
        ];
        if (mode === 'consume') row.push(fmt(median(ms.map((m) => m.firstRecordMs ?? Number.NaN)), 0));
        rows.push(row);
      }
    }
    const header = ['value', 'client', 'records/s', 'MB/s', 'client CPU', 'client CPU µs/record', 'broker CPU', 'others before (max)'];
    if (mode === 'consume') header.push('first record after (ms)');
    return markdownTable(header, rows);
  };
  const lib = librdkafkaConfig('produce', 0);
  const libConsume = librdkafkaConfig('consume', 0, o.partitionFetchBytes);
  const libSettings = (c: Record<string, string | number | boolean>): string =>
    Object.entries(c).filter(([k]) => !['bootstrap.servers', 'client.id', 'group.id'].includes(k)).map(([k, v]) => `${k}=${String(v)}`).join(', ');
  if (!o.skipProduce) {
    out.push(`### Batched produce, acks=1 (${o.seconds} s window after ${o.warmupSeconds} s warm-up, fresh broker per run)`);
    out.push('');
    out.push(
      `Fjord, sendBatch() arrays (the headline row): \`sendBatch()\` with the same arrays and calls in flight as KafkaJS and platformatic, lingerMs ${FJORD_BATCH_LINGER_MS} (those two send each call at once; they have no linger), batchSize ${FJORD_BATCH_SIZE / 1024} KiB. ` +
        `KafkaJS and platformatic: \`send()\` with arrays of ${VALUE_SIZES.map((s) => `${arrayRecordsPerSend(s)} (${sizeLabel(s)})`).join(' / ')} records, ${ARRAY_SENDS_IN_FLIGHT} calls in flight. ` +
        `Fjord, one send() per record: one \`send()\` promise per record, up to ${FJORD_OUTSTANDING_BYTES / 2 ** 20} MiB of records outstanding, lingerMs ${FJORD_LINGER_MS}, batchSize ${FJORD_BATCH_SIZE / 1024} KiB. ` +
        `librdkafka (reference): \`produce()\` per record from Python (confluent-kafka has no batch call), the same ${FJORD_OUTSTANDING_BYTES / 2 ** 20} MiB outstanding, ${libSettings(lib)}.`,
    );
    if (o.fjordProducer !== undefined) out.push('', `Fjord producer overrides: \`${JSON.stringify(o.fjordProducer)}\`.`);
    out.push('');
    out.push(table('produce'));
    out.push('');
  }
  if (!o.skipConsume) {
    out.push(`### Consume from the beginning (${VALUE_SIZES.map((s) => `${records(s, o).toLocaleString('en-US')} × ${sizeLabel(s)}`).join(', ')}; first record to last)`);
    out.push('');
    out.push(
      `Pre-filled once by Fjord's producer (batches up to ${FJORD_BATCH_SIZE / 1024} KiB). Every client: fetch max ${FETCH_MAX_BYTES / 2 ** 20} MiB, partition max ${fmt(o.partitionFetchBytes / 1024, 0)} KiB, max wait ${FETCH_MAX_WAIT_MS} ms; ` +
        `every record's value length is read. Fjord: \`assign()\` + \`poll({ maxRecords: ${FJORD_POLL_MAX_RECORDS} })\` (CRC checks on, the default). ` +
        'KafkaJS: a new group, `run({ eachBatch })`, autoCommit off. platformatic: a new group, `consume({ mode: EARLIEST, autocommit: false })`, `data` events. ' +
        `librdkafka: a new group, \`subscribe()\`, \`consume(num_messages=10000)\` from Python, ${libSettings(libConsume)} (check.crcs at its default, off). ` +
        'The first delivery opens the window and is not counted; "first record after" includes connecting and, for the group clients, the join (group.initial.rebalance.delay.ms = 3 s).',
    );
    if (o.fjordConsumer !== undefined) out.push('', `Fjord consumer overrides: \`${JSON.stringify(o.fjordConsumer)}\`.`);
    out.push('');
    out.push(`Pre-fill rate (Fjord producer, for reference): ${prefills.map((p, i) => `${sizeLabel(VALUE_SIZES[i]!)} ${fmt(p.recordsPerSecond, 0)} records/s`).join(', ')}.`);
    out.push('');
    out.push(table('consume'));
    out.push('');
  }
  if (o.unavailable.length > 0) out.push(`Left out: ${o.unavailable.join('; ')}.`, '');
  out.push('### Ratios (median records/s) and targets');
  out.push('');
  const verdicts: string[][] = [];
  const ratios: RatioRow[] = [];
  const modes = [...(o.skipProduce ? [] : (['produce'] as const)), ...(o.skipConsume ? [] : (['consume'] as const))];
  for (const mode of modes) {
    const fjords: ClientName[] = mode === 'produce' ? ['fjord', 'fjord-send'] : ['fjord'];
    for (const fjord of fjords) {
      for (const valueBytes of VALUE_SIZES) {
        const med = (c: ClientName): number => median(results[mode][valueBytes]![c].map((m) => m.recordsPerSecond));
        const headline = fjord === 'fjord';
        const cells = (['platformatic', 'kafkajs'] as const).flatMap((other) => {
          if (!o.clients.includes(fjord) || !o.clients.includes(other)) return ['n/a', '-'];
          const ratio = med(fjord) / med(other);
          const target = TARGETS[mode][other];
          ratios.push({ mode, fjord, valueBytes, other, ratio, target: headline ? target : null });
          return [`${fmt(ratio, 2)}×`, headline ? `≥ ${target}×: ${ratio >= target ? 'met' : '**missed**'}` : `(≥ ${target}× is for the headline row)`];
        });
        const lib = o.clients.includes(fjord) && o.clients.includes('librdkafka') ? `${fmt(med(fjord) / med('librdkafka'), 2)}×` : 'n/a';
        const label = mode === 'produce' ? (headline ? 'produce, sendBatch()' : 'produce, send() per record') : 'consume';
        verdicts.push([label, sizeLabel(valueBytes), ...cells, lib]);
      }
    }
  }
  out.push(markdownTable(['', 'value', 'Fjord / platformatic', 'target', 'Fjord / KafkaJS', 'target', 'Fjord / librdkafka (reference)'], verdicts));
  out.push('');
  out.push(`Load average samples: ${loadDuring.join('; ')}.`);
  for (const p of profiles) {
    out.push('');
    out.push(
      `### Fjord load child CPU profile: ${p.mode} ${sizeLabel(p.valueBytes)} (node --cpu-prof; ${fmt(p.run.recordsPerSecond, 0)} records/s under the profiler; ` +
        `main thread busy ${fmt(p.summary.busyPercent)}% of the ${fmt(p.summary.windowMs / 1000, 2)} s window; start-up excluded)`,
    );
    out.push('');
    out.push(markdownTable(
      ['self %', 'self ms', 'function', 'location', 'main caller'],
      p.summary.top.map((t) => [fmt(t.percent), fmt(t.ms, 0), `\`${t.name}\``, t.location === '' ? '' : `\`${t.location}\``, t.mainCaller === '' ? '' : `\`${t.mainCaller}\``]),
    ));
    out.push('');
    out.push(`By source: ${p.summary.bySource.map((b) => `${b.source} ${fmt(b.percent)}%`).join(', ')}.`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (o.json !== undefined) {
    await writeFile(o.json, JSON.stringify({ startedAt, options: o, quiet, loadDuring, loadAfter, prefills, results, ratios, profiles }, null, 2));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-clients failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
