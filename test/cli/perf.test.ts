// `fjord perf produce|consume`: Kafka's perf-test output lines, throttling, and that the records
// really reach (and come back from) the broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { CompressionCodec, decodeRecordBatches } from '../../src/protocol/records/index.js';

const BIN = join(process.cwd(), 'bin', 'fjord');
let broker: RunningBroker;
let strict: RunningBroker;

before(async () => {
  broker = await startBroker({ config: { 'num.partitions': '3' } });
  strict = await startBroker({ config: { 'auto.create.topics.enable': 'false' } });
});
after(async () => {
  await broker.close();
  await strict.close();
});

/** Run the CLI asynchronously (the broker lives in this process, so spawnSync would deadlock it). */
function fjord(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
    child.stdin.end();
  });
}

const B = (): string[] => ['--bootstrap-server', broker.bootstrapServers];

/** Every record value of a topic, straight from the broker's logs, with its batch's codec. */
async function topicValues(topic: string): Promise<Array<{ value: Buffer | null; compression: number }>> {
  const out: Array<{ value: Buffer | null; compression: number }> = [];
  const meta = broker.broker.logs.getTopic(topic);
  assert.ok(meta, `${topic} exists`);
  for (let p = 0; p < meta.partitions; p++) {
    const log = broker.broker.logs.partition(topic, p)!;
    let next = log.logStartOffset();
    while (next < log.logEndOffset()) {
      for (const chunk of log.read(next, 8 << 20, true).chunks) {
        for (const batch of await decodeRecordBatches(chunk, { verifyCrc: true, maxDecompressedBytes: 64 << 20 })) {
          for (const r of batch.records) {
            if (r.offset < next) continue;
            out.push({ value: r.value === null ? null : Buffer.from(r.value), compression: batch.compression });
            next = r.offset + 1;
          }
        }
      }
    }
  }
  return out;
}

const NUM = String.raw`\d+(?:\.\d+)?`;
const FINAL = new RegExp(
  String.raw`^(\d+) records sent, (\d+\.\d{6}) records/sec \((\d+\.\d{2}) MB/sec\), (\d+\.\d{2}) ms avg latency, (\d+\.\d{2}) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$`,
);
const WINDOW = new RegExp(String.raw`^(\d+) records sent, ${NUM} records/sec \(${NUM} MB/sec\), ${NUM} ms avg latency, ${NUM} ms max latency\.$`);

test('perf produce: the summary line, and the records are in the topic', async () => {
  const r = await fjord(['perf', 'produce', '--topic', 'perf', '--num-records', '2000', '--record-size', '100', '--throughput', '-1', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  const m = FINAL.exec(lines[lines.length - 1]!);
  assert.ok(m, r.stdout);
  assert.equal(m[1], '2000');
  const [p50, p95, p99, p999] = [m[6], m[7], m[8], m[9]].map(Number) as [number, number, number, number];
  assert.ok(p50 <= p95 && p95 <= p99 && p99 <= p999 && p999 <= Number(m[5]), 'percentiles are ordered and below the max');
  assert.ok(Number(m[4]) <= Number(m[5]), 'avg <= max');
  for (const l of lines.slice(0, -1)) assert.match(l, WINDOW);

  const values = await topicValues('perf');
  assert.equal(values.length, 2000);
  // Kafka's payload: random upper-case letters, record-size bytes.
  assert.ok(values.every((v) => v.value !== null && v.value.length === 100 && /^[A-Z]{100}$/.test(v.value.toString())));
  assert.ok(values.every((v) => v.compression === CompressionCodec.NONE));
});

test('perf produce: throughput is throttled, progress lines come at the reporting interval', async () => {
  const r = await fjord(['perf', 'produce', '--topic', 'throttled', '--num-records', '2000', '--record-size', '10', '--throughput', '2000', '--reporting-interval-ms', '200', '--acks', '1', '--compression', 'zstd', '--batch-size', '4096', '--linger-ms', '10', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const m = FINAL.exec(lines[lines.length - 1]!);
  assert.ok(m, r.stdout);
  assert.equal(m[1], '2000');
  // 2000 records at 2000/s take about a second: throttled, yet not much slower than asked.
  const rate = Number(m[2]);
  assert.ok(rate <= 2200 && rate >= 1000, `rate ${rate}`);
  const windows = lines.slice(0, -1);
  assert.ok(windows.length >= 2, r.stdout);
  for (const l of windows) assert.match(l, WINDOW);
  // The window counts add up to at most the total (the last partial window is only in the summary).
  const windowed = windows.reduce((s, l) => s + Number(WINDOW.exec(l)![1]), 0);
  assert.ok(windowed <= 2000 && windowed > 0);
  const values = await topicValues('throttled');
  assert.equal(values.length, 2000);
  assert.ok(values.every((v) => v.compression === CompressionCodec.ZSTD));
});

const HEADER = 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';
const DATE = String.raw`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}:\d{3}`;
const ROW = new RegExp(String.raw`^(${DATE}), (${DATE}), (\d+\.\d{4}), (\d+\.\d{4}), (\d+), (\d+\.\d{4}), 0, (\d+), (\d+\.\d{4}), (\d+\.\d{4})$`);

test('perf consume: Kafka\'s header and summary row for the records produced', async () => {
  let r = await fjord(['perf', 'produce', '--topic', 'perf-read', '--num-records', '2000', '--record-size', '100', '--throughput', '-1', '--compression', 'lz4', ...B()]);
  assert.equal(r.code, 0, r.stderr);

  r = await fjord(['perf', 'consume', '--topic', 'perf-read', '--messages', '2000', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const [header, row, ...rest] = r.stdout.split('\n');
  assert.equal(header, HEADER);
  assert.deepEqual(rest, ['']);
  const m = ROW.exec(row!);
  assert.ok(m, row);
  assert.equal(m[3], (200_000 / (1024 * 1024)).toFixed(4));
  assert.equal(m[5], '2000');
  assert.ok(m[1]! <= m[2]!, 'start <= end');

  // Fewer records than asked for: a warning after --timeout-ms, and the row for what was read.
  r = await fjord(['perf', 'consume', '--topic', 'perf-read', '--messages', '5000', '--timeout-ms', '500', '--hide-header', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^WARNING: Exiting before consuming the expected number of messages: timeout \(500 ms\) exceeded\./);
  const m2 = ROW.exec(r.stdout.trim());
  assert.ok(m2, r.stdout);
  assert.equal(m2[5], '2000');

  // From the end: nothing new arrives.
  r = await fjord(['perf', 'consume', '--topic', 'perf-read', '--messages', '10', '--no-from-beginning', '--timeout-ms', '300', '--hide-header', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(ROW.exec(r.stdout.trim())?.[5], '0');
});

test('perf errors: one line on stderr, non-zero exit', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['perf', 'produce', '--topic', 't', '--num-records', '10', '--record-size', '10', '--throughput', '0'], 2, /^fjord: --throughput must be/],
    [['perf', 'produce', '--topic', 't', '--num-records', 'ten', '--record-size', '10'], 2, /^fjord: --num-records must be an integer/],
    [['perf', 'produce', '--topic', 't', '--num-records', '10', '--record-size', '10', '--acks', 'some'], 2, /^fjord: --acks/],
    [['perf', 'consume', '--topic', 't', '--messages', '-5'], 2, /^fjord: --messages must be an integer >= 1/],
    [['perf', 'produce', '--topic', 't', '--num-records', '10', '--record-size', '10', '--bootstrap-server', '127.0.0.1:1'], 1, /^fjord: Cannot connect to 127\.0\.0\.1:1/],
    [['perf', 'consume', '--topic', 't', '--messages', '10', '--bootstrap-server', '127.0.0.1:1'], 1, /^fjord: Cannot connect to 127\.0\.0\.1:1/],
    [['perf', 'produce', '--topic', 'missing', '--num-records', '10', '--record-size', '10', '--bootstrap-server', strict.bootstrapServers], 1, /^fjord: UNKNOWN_TOPIC_OR_PARTITION/],
    [['perf', 'consume', '--topic', 'missing', '--messages', '10', '--bootstrap-server', strict.bootstrapServers], 1, /^fjord: UNKNOWN_TOPIC_OR_PARTITION/],
    [['perf', 'produce', '--num-records', '10', '--record-size', '10'], 1, /^error: required option '--topic <topic>' not specified/],
    [['perf', 'consume', '--topic', 't'], 1, /^error: required option '--messages <n>' not specified/],
  ];
  const runs = await Promise.all(cases.map(([args]) => fjord(args)));
  runs.forEach((r, i) => {
    const [args, code, re] = cases[i]!;
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});

test('perf commands have --help', async () => {
  for (const cmd of [['perf'], ['perf', 'produce'], ['perf', 'consume']]) {
    const r = await fjord([...cmd, '--help']);
    assert.equal(r.code, 0, cmd.join(' '));
    assert.match(r.stdout, new RegExp(`^Usage: fjord ${cmd.join(' ')} `));
  }
});
