// `fjord produce` and `fjord consume` end to end against real brokers: what is written is checked in
// the broker's own log, what is printed is checked byte for byte, and every failure is one stderr line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { CompressionCodec, decodeRecordBatches } from '../../src/protocol/records/index.js';

const BIN = join(process.cwd(), 'bin', 'fjord');
let broker: RunningBroker;
/** A broker that refuses to create topics on the fly, for the unknown-topic errors. */
let strict: RunningBroker;

before(async () => {
  broker = await startBroker({ config: { 'num.partitions': '3' } });
  strict = await startBroker({ config: { 'auto.create.topics.enable': 'false' } });
});
after(async () => {
  await broker.close();
  await strict.close();
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start the CLI asynchronously (the broker lives in this process, so spawnSync would deadlock it). */
function start(args: string[]): { child: ChildProcessWithoutNullStreams; done: Promise<Run>; out: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<Run>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done, out: () => stdout };
}

function fjord(args: string[], input?: string | Buffer): Promise<Run> {
  const { child, done } = start(args);
  child.stdin.end(input ?? '');
  return done;
}

const B = (): string[] => ['--bootstrap-server', broker.bootstrapServers];

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface LoggedRecord {
  offset: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
  compression: number;
}

/** A partition's records as the broker stored them, batch compression included. */
async function logRecords(b: RunningBroker, topic: string, partition: number): Promise<LoggedRecord[]> {
  const log = b.broker.logs.partition(topic, partition);
  assert.ok(log, `${topic}-${partition} exists`);
  const out: LoggedRecord[] = [];
  let next = log.logStartOffset();
  while (next < log.logEndOffset()) {
    const { chunks } = log.read(next, 8 << 20, true);
    for (const chunk of chunks) {
      for (const batch of await decodeRecordBatches(chunk, { verifyCrc: true, maxDecompressedBytes: 64 << 20 })) {
        for (const r of batch.records) {
          if (r.offset < next) continue;
          out.push({
            offset: r.offset,
            key: r.key === null ? null : r.key.toString(),
            value: r.value === null ? null : r.value.toString(),
            headers: r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString()]),
            compression: batch.compression,
          });
          next = r.offset + 1;
        }
      }
    }
  }
  return out;
}

function endOffset(topic: string, partition: number): number {
  return broker.broker.logs.partition(topic, partition)?.logEndOffset() ?? 0;
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const r = await fjord(['topics', 'create', name, '--partitions', String(partitions), ...B()]);
  assert.equal(r.code, 0, r.stderr);
}

test('produce: keys, headers and a fixed partition land in the log as given', async () => {
  await createTopic('orders', 3);
  const r = await fjord(
    ['produce', 'orders', '--key-separator', '::', '--header', 'source=cli', '--header', 'trace=a=b', '--header', 'source=again', '--partition', '2', '--verbose', ...B()],
    'k1::v1\nno separator here\nk2::v::2\n::empty key\n\nk3::\r\n',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  // --verbose: "partition offset" per record, in input order.
  assert.equal(r.stdout, '2 0\n2 1\n2 2\n2 3\n2 4\n2 5\n');
  assert.equal(endOffset('orders', 0) + endOffset('orders', 1), 0);
  const records = await logRecords(broker, 'orders', 2);
  assert.deepEqual(
    records.map((x) => [x.key, x.value]),
    [
      ['k1', 'v1'],
      [null, 'no separator here'], // no separator: a null key, the whole line is the value
      ['k2', 'v::2'], // split at the first separator only
      ['', 'empty key'],
      [null, ''], // an empty line is an empty record
      ['k3', ''], // \r\n line ends lose the \r
    ],
  );
  for (const x of records) {
    assert.deepEqual(x.headers, [
      ['source', 'cli'],
      ['trace', 'a=b'],
      ['source', 'again'],
    ]);
    assert.equal(x.compression, CompressionCodec.NONE);
  }
});

test('consume: default, --print-key, --format, --max-messages, --partition/--offset', async () => {
  await createTopic('events', 2);
  let r = await fjord(['produce', 'events', '--partition', '0', '--key-separator', '=', '--header', 'h1=x', '--header', 'h2=', ...B()], 'a=1\nb=2\nplain\nc=3\n');
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['produce', 'events', '--partition', '1', '--key-separator', '=', ...B()], 'z=26\n');
  assert.equal(r.code, 0, r.stderr);

  // Values only, one a line; the tool reports its count on stderr like kafka-console-consumer.
  r = await fjord(['consume', 'events', '--partition', '0', '--offset', 'earliest', '--max-messages', '4', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '1\n2\nplain\n3\n');
  assert.equal(r.stderr, 'Processed a total of 4 messages\n');

  // print.key with the default tab separator; a null key prints as null.
  r = await fjord(['consume', 'events', '--partition', '0', '--offset', 'beginning', '--max-messages', '4', '--print-key', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'a\t1\nb\t2\nnull\tplain\nc\t3\n');

  // Every template field; kcat-style: nothing added at the end, null key prints as nothing.
  const before = Date.now();
  r = await fjord(['consume', 'events', '--partition', '0', '--offset', '1', '--max-messages', '2', '--format', '%T|%p|%o|%k|%v|%h|%K|%S|%t|100%%\\t\\\\\\n', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[2], '');
  const [l1, l2] = lines as [string, string];
  assert.match(l1, /^events\|0\|1\|b\|2\|h1=x,h2=\|1\|1\|\d+\|100%\t\\$/);
  assert.match(l2, /^events\|0\|2\|\|plain\|h1=x,h2=\|-1\|5\|\d+\|100%\t\\$/);
  const ts = Number(l1.split('|')[8]);
  assert.ok(ts <= before && ts > before - 60_000, `timestamp ${ts} is the produce time`);

  // Numeric offset; --max-messages stops early even though more records follow.
  r = await fjord(['consume', 'events', '--partition', '0', '--offset', '2', '--max-messages', '1', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'plain\n');

  // Without --partition every partition is read.
  r = await fjord(['consume', 'events', '--from-beginning', '--max-messages', '5', '--format', '%p:%o:%v\\n', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['0:0:1', '0:1:2', '0:2:plain', '0:3:3', '1:0:26']);

  // --offset latest / the default: only new records, so an idle --timeout-ms run prints nothing.
  for (const args of [['--partition', '0', '--offset', 'latest'], ['--partition', '1', '--offset', 'end'], []]) {
    r = await fjord(['consume', 'events', ...args, '--timeout-ms', '300', ...B()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'Processed a total of 0 messages\n');
  }
});

test('consume --timeout-ms exits after that long without a record, having printed everything', async () => {
  await createTopic('idle', 1);
  await fjord(['produce', 'idle', ...B()], 'x\ny\n');
  const t0 = Date.now();
  const r = await fjord(['consume', 'idle', '--from-beginning', '--timeout-ms', '700', ...B()]);
  const took = Date.now() - t0;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'x\ny\n');
  assert.ok(took >= 700, `waited ${took} ms`);
  assert.ok(took < 10_000, `exited after ${took} ms`);
});

test('produce hashes keys to partitions, so one key stays in one partition', async () => {
  await createTopic('keyed', 3);
  const input = Array.from({ length: 60 }, (_, i) => `user${i % 6}\t${i}`).join('\n');
  const r = await fjord(['produce', 'keyed', '--key-separator', '\t', ...B()], input);
  assert.equal(r.code, 0, r.stderr);
  const c = await fjord(['consume', 'keyed', '--from-beginning', '--max-messages', '60', '--format', '%k %p %v\\n', ...B()]);
  assert.equal(c.code, 0, c.stderr);
  const partitionOf = new Map<string, Set<string>>();
  const perKey = new Map<string, number[]>();
  for (const line of c.stdout.trim().split('\n')) {
    const [k, p, v] = line.split(' ') as [string, string, string];
    partitionOf.set(k, (partitionOf.get(k) ?? new Set()).add(p));
    perKey.set(k, [...(perKey.get(k) ?? []), Number(v)]);
  }
  assert.equal(partitionOf.size, 6);
  for (const [k, ps] of partitionOf) assert.equal(ps.size, 1, `${k} in one partition`);
  // Within a partition order is kept, so each key's values come back in input order.
  for (const [, vs] of perKey) assert.deepEqual(vs, [...vs].sort((a, b) => a - b));
});

test('produce with every compression codec; consume reads them all back', async () => {
  const codecs = { none: CompressionCodec.NONE, gzip: CompressionCodec.GZIP, snappy: CompressionCodec.SNAPPY, lz4: CompressionCodec.LZ4, zstd: CompressionCodec.ZSTD };
  // The codecs run side by side: each has its own topic.
  await Promise.all(Object.entries(codecs).map(async ([name, codec]) => {
    const topic = `codec-${name}`;
    await createTopic(topic, 1);
    const lines = Array.from({ length: 500 }, (_, i) => `${name} record ${i} ${'x'.repeat(i % 50)}`);
    const r = await fjord(['produce', topic, '--compression', name, '--linger-ms', '50', '--batch-size', '65536', '--acks', '1', ...B()], lines.join('\n') + '\n');
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const logged = await logRecords(broker, topic, 0);
    assert.deepEqual(logged.map((x) => x.value), lines);
    assert.ok(logged.every((x) => x.compression === codec), `${name} batches are compressed with ${name}`);
    const c = await fjord(['consume', topic, '--from-beginning', '--max-messages', '500', ...B()]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, lines.join('\n') + '\n');
  }));
});

test('produce --acks 0 and 1 and -1', async () => {
  await createTopic('acks', 1);
  let r = await fjord(['produce', 'acks', '--acks', '0', '--verbose', ...B()], 'a\nb\n');
  assert.equal(r.code, 0, r.stderr);
  // Nobody answers acks=0 records, so there is no offset to print.
  assert.equal(r.stdout, '0 -1\n0 -1\n');
  r = await fjord(['produce', 'acks', '--acks', '1', '--verbose', ...B()], 'c\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '0 2\n');
  r = await fjord(['produce', 'acks', '--acks', '-1', '--verbose', ...B()], 'd');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '0 3\n');
  assert.deepEqual((await logRecords(broker, 'acks', 0)).map((x) => x.value), ['a', 'b', 'c', 'd']);
});

test('produce streams standard input: records are sent before it ends', async () => {
  await createTopic('stream', 1);
  const p = start(['produce', 'stream', ...B()]);
  p.child.stdin.write('first\nsec');
  await until('the first record', () => endOffset('stream', 0) === 1);
  p.child.stdin.write('ond\nthird');
  await until('the second record', () => endOffset('stream', 0) === 2);
  p.child.stdin.end('\n');
  const r = await p.done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await logRecords(broker, 'stream', 0)).map((x) => x.value), ['first', 'second', 'third']);
});

test('produce stops on SIGTERM with stdin still open: what was read is sent, exit 0', async () => {
  await createTopic('produce-sig', 1);
  const p = start(['produce', 'produce-sig', '--verbose', ...B()]);
  p.child.stdin.write('one\ntwo\n');
  await until('both records', () => p.out() === '0 0\n0 1\n');
  p.child.kill('SIGTERM');
  const r = await p.done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual((await logRecords(broker, 'produce-sig', 0)).map((x) => x.value), ['one', 'two']);
});

test('consume exits cleanly on SIGTERM: exit 0, consumer closed, every printed record flushed', async () => {
  await createTopic('sig', 2);
  const count = 20_000;
  const input = Array.from({ length: count }, (_, i) => `message-${i}`).join('\n');
  assert.equal((await fjord(['produce', 'sig', ...B()], input)).code, 0);

  // A consumer waiting for new records (the default: from the end) is woken by the signal.
  const live = start(['consume', 'sig', ...B()]);
  // It starts at the end lazily: keep producing until it has seen something new.
  let n = 0;
  while (!live.out().includes('live-')) {
    assert.equal((await fjord(['produce', 'sig', ...B()], `live-${n++}\n`)).code, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(n < 100, 'the live consumer prints new records');
  }
  live.child.kill('SIGTERM');
  let r = await live.done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.signal, null);
  const printed = r.stdout.trim().split('\n');
  assert.ok(printed.every((l) => l.startsWith('live-')), 'no old record: it started at the end');
  assert.equal(r.stderr, `Processed a total of ${printed.length} messages\n`);

  // Mid-stream: the count on stderr matches the lines on stdout exactly, nothing cut off.
  const busy = start(['consume', 'sig', '--from-beginning', ...B()]);
  await until('some output', () => busy.out().length > 0);
  busy.child.kill('SIGTERM');
  r = await busy.done;
  assert.equal(r.code, 0, r.stderr);
  const m = /^Processed a total of (\d+) messages\n$/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.ok(r.stdout.endsWith('\n'));
  const lines = r.stdout.split('\n').slice(0, -1);
  assert.equal(lines.length, Number(m[1]));
  assert.ok(lines.every((l) => /^(message|live)-\d+$/.test(l)));
});

test('consume of a large topic through a pipe prints every record exactly once', async () => {
  await createTopic('large', 3);
  const count = 60_000;
  const value = 'v'.repeat(200);
  const input = Array.from({ length: count }, (_, i) => `${i}:${value}`).join('\n');
  const p = await fjord(['produce', 'large', '--key-separator', ':', '--compression', 'lz4', ...B()], input);
  assert.equal(p.code, 0, p.stderr);
  const r = await fjord(['consume', 'large', '--from-beginning', '--max-messages', String(count), '--format', '%k\\n', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  const keys = r.stdout.trim().split('\n').map(Number).sort((a, b) => a - b);
  assert.equal(keys.length, count);
  assert.ok(keys.every((k, i) => k === i));
});

test('errors are one line on stderr with a non-zero exit code', async () => {
  const oneLine = (r: Run): void => assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);

  // The broker does not auto-create: fail at once, not after the producer's delivery timeout.
  const S = ['--bootstrap-server', strict.bootstrapServers];
  let r = await fjord(['produce', 'nope', ...S], 'x\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^fjord: UNKNOWN_TOPIC_OR_PARTITION: Topic nope does not exist/);
  oneLine(r);
  assert.equal(strict.broker.logs.getTopic('nope'), undefined);
  r = await fjord(['consume', 'nope', '--timeout-ms', '100', ...S]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^fjord: UNKNOWN_TOPIC_OR_PARTITION/);
  oneLine(r);

  // The other broker does auto-create, as for a Java producer.
  r = await fjord(['produce', 'auto-created', ...B()], 'x\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(endOffset('auto-created', 0) + endOffset('auto-created', 1) + endOffset('auto-created', 2), 1);

  for (const args of [['produce', 't'], ['consume', 't', '--max-messages', '1']]) {
    r = await fjord([...args, '--bootstrap-server', '127.0.0.1:1'], 'x\n');
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /^fjord: Cannot connect to 127\.0\.0\.1:1/);
    oneLine(r);
  }

  await createTopic('two', 2);
  r = await fjord(['produce', 'two', '--partition', '2', ...B()], 'x\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^fjord: UNKNOWN_TOPIC_OR_PARTITION: Partition 2 of two does not exist \(2 partitions\)\n$/);
  r = await fjord(['consume', 'two', '--partition', '5', ...B()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Partition 5 of two does not exist/);

  // A record the producer refuses: the line before it is sent, reading stops, exit 1.
  await createTopic('big-line', 1);
  r = await fjord(['produce', 'big-line', '--verbose', ...B()], `small\n${'a'.repeat(2_000_000)}\nafter\n`);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '0 0\n');
  assert.match(r.stderr, /^fjord: MESSAGE_TOO_LARGE: /);
  oneLine(r);
  assert.deepEqual((await logRecords(broker, 'big-line', 0)).map((x) => x.value), ['small']);

  // Bad flag values are usage errors: exit 2, before anything connects.
  const usage: string[][] = [
    ['produce', 'two', '--acks', '2'],
    ['produce', 'two', '--compression', 'brotli'],
    ['produce', 'two', '--partition', '-1'],
    ['produce', 'two', '--linger-ms', 'soon'],
    ['produce', 'two', '--batch-size', '1.5'],
    ['produce', 'two', '--header', 'novalue'],
    ['produce', 'two', '--key-separator', ''],
    ['consume', 'two', '--offset', '3'],
    ['consume', 'two', '--partition', '0', '--offset', 'yesterday'],
    ['consume', 'two', '--partition', '0', '--offset', '-3'],
    ['consume', 'two', '--partition', '0', '--offset', '0', '--from-beginning'],
    ['consume', 'two', '--max-messages', '0'],
    ['consume', 'two', '--timeout-ms', 'x'],
    ['consume', 'two', '--format', '%v %q'],
    ['consume', 'two', '--format', '\\x'],
    ['consume', 'two', '--format', '%v', '--print-key'],
  ];
  const runs = await Promise.all(usage.map((args) => fjord([...args, '--bootstrap-server', '127.0.0.1:1'], 'x\n')));
  runs.forEach((u, i) => {
    assert.equal(u.code, 2, `${usage[i]!.join(' ')}: ${u.stderr}`);
    assert.match(u.stderr, /^fjord: .+\n$/);
  });
  // Commander's own errors: unknown options and missing arguments.
  const bad = [['produce', 'two', '--frobnicate'], ['produce'], ['consume']];
  (await Promise.all(bad.map((args) => fjord(args)))).forEach((u, i) => {
    assert.notEqual(u.code, 0, bad[i]!.join(' '));
    assert.match(u.stderr, /^error: /);
  });
});

test('produce and consume have --help', async () => {
  for (const cmd of ['produce', 'consume']) {
    const r = await fjord([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, new RegExp(`^Usage: fjord ${cmd} \\[options\\] <topic>`));
    assert.match(r.stdout, /--bootstrap-server/);
  }
});
