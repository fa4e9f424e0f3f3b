// kcat 1.7.1 (librdkafka 2.0.2, Debian package) against an embedded in-memory Fjord broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { KCAT, runOk, storedCodecs, compressibleValue, CODEC_IDS } from './helpers.js';

let broker: RunningBroker;
let bs: string;

before(async () => {
  broker = await startBroker();
  bs = broker.bootstrapServers;
});

after(async () => {
  await broker.close();
});

/** kcat never waits for ever: -m bounds metadata waits, and every process gets a hard timeout. */
const T = { timeoutMs: 30_000 };

function produce(topic: string, lines: string[], extra: string[] = []): Promise<unknown> {
  return runOk(KCAT, ['-P', '-b', bs, '-t', topic, '-K:', '-m', '10', '-X', 'request.required.acks=-1', ...extra], {
    ...T,
    input: lines.map((l) => `${l}\n`).join(''),
  });
}

interface Row {
  partition: number;
  offset: number;
  rest: string;
}

/** Consume a whole topic; each output line is "partition<TAB>offset<TAB>" then `fmt`. */
async function consume(topic: string, fmt: string, extra: string[] = []): Promise<Row[]> {
  const r = await runOk(KCAT, ['-C', '-b', bs, '-t', topic, '-o', 'beginning', '-e', '-q', '-m', '10', '-f', `%p\t%o\t${fmt}\n`, ...extra], T);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [p, o, ...rest] = l.split('\t');
      return { partition: Number(p), offset: Number(o), rest: rest.join('\t') };
    });
}

/** Per partition, offsets must be contiguous from 0 and the send index must only grow. */
function checkPartitionOrder(rows: Row[], indexOf: (r: Row) => number): void {
  const byPartition = new Map<number, Row[]>();
  for (const r of rows) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
  for (const [p, list] of byPartition) {
    assert.deepEqual(
      list.map((r) => r.offset),
      list.map((_, i) => i),
      `partition ${p}: offsets contiguous from 0 in consume order`,
    );
    const idx = list.map(indexOf);
    assert.deepEqual(idx, [...idx].sort((a, b) => a - b), `partition ${p}: records in send order`);
  }
}

test('kcat -L lists the broker and a created topic (plain and -J)', async () => {
  broker.broker.createTopic('kcat-meta', 3, 1, {});
  const plain = await runOk(KCAT, ['-L', '-b', bs, '-m', '10'], T);
  assert.match(plain.stdout, new RegExp(`1 brokers:\\s+broker ${broker.broker.nodeId} at ${broker.host}:${broker.port}`));
  assert.match(plain.stdout, /topic "kcat-meta" with 3 partitions:/);
  for (const p of [0, 1, 2]) {
    assert.match(plain.stdout, new RegExp(`partition ${p}, leader ${broker.broker.nodeId}, replicas: ${broker.broker.nodeId}, isrs: ${broker.broker.nodeId}`));
  }

  const json = await runOk(KCAT, ['-L', '-J', '-b', bs, '-t', 'kcat-meta', '-m', '10'], T);
  const md = JSON.parse(json.stdout) as {
    brokers: Array<{ id: number; name: string }>;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number; error?: string }>; error?: string }>;
  };
  assert.deepEqual(md.brokers, [{ id: broker.broker.nodeId, name: `${broker.host}:${broker.port}` }]);
  assert.equal(md.topics.length, 1);
  const t = md.topics[0]!;
  assert.equal(t.topic, 'kcat-meta');
  assert.equal(t.error, undefined);
  assert.deepEqual(
    t.partitions.map((p) => [p.partition, p.leader]).sort(),
    [[0, broker.broker.nodeId], [1, broker.broker.nodeId], [2, broker.broker.nodeId]],
  );
});

test('kcat -P -K: produces keyed lines and kcat -C reads them back exactly, in order per partition', async () => {
  broker.broker.createTopic('kcat-keyed', 3, 1, {});
  const lines = Array.from({ length: 600 }, (_, i) => `key-${i % 23}:value-${i}`);
  await produce('kcat-keyed', lines);
  const rows = await consume('kcat-keyed', '%k=%s');
  assert.equal(rows.length, lines.length);
  assert.deepEqual(rows.map((r) => r.rest).sort(), lines.map((l) => l.replace(':', '=')).sort());
  checkPartitionOrder(rows, (r) => Number(r.rest.split('=value-')[1]));
  // The default partitioner hashes keys: one key, one partition.
  const home = new Map<string, number>();
  for (const r of rows) {
    const key = r.rest.split('=')[0]!;
    assert.equal(home.get(key) ?? r.partition, r.partition, `key ${key} stays on one partition`);
    home.set(key, r.partition);
  }
  assert.ok(new Set(home.values()).size > 1, 'keys spread over more than one partition');
  // The plain -f '%k=%s\n' form of the brief, on a single partition, is the input line for line.
  const p0 = rows.filter((r) => r.partition === 0).map((r) => r.rest);
  const onlyP0 = await runOk(KCAT, ['-C', '-b', bs, '-t', 'kcat-keyed', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\n'], T);
  assert.equal(onlyP0.stdout, p0.map((l) => `${l}\n`).join(''));
});

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  const topic = `kcat-${codec}`;
  test(`kcat -z ${codec}: 1 KB compressible values round-trip exactly, in order per partition`, async () => {
    broker.broker.createTopic(topic, 2, 1, {});
    const lines = Array.from({ length: 400 }, (_, i) => `k${i % 5}:${compressibleValue(codec, i)}`);
    await produce(topic, lines, ['-z', codec]);
    const rows = await consume(topic, '%k=%s');
    assert.equal(rows.length, lines.length);
    assert.deepEqual(rows.map((r) => r.rest).sort(), lines.map((l) => l.replace(':', '=')).sort());
    checkPartitionOrder(rows, (r) => Number(/-(\d{8})\|/.exec(r.rest)![1]));
  });
  test(`kcat -z ${codec}: the broker stored ${codec}-compressed batches`, () => {
    const codecs = storedCodecs(broker, topic);
    assert.ok((codecs.get(CODEC_IDS[codec]) ?? 0) > 0, `stored batch codecs (id -> count): ${JSON.stringify([...codecs])}`);
    assert.equal(codecs.get(CODEC_IDS.none) ?? 0, 0, 'no uncompressed batch');
  });
}

test('kcat -H headers come back through %h; -Z sends NULL values (tombstones)', async () => {
  broker.broker.createTopic('kcat-headers', 1, 1, {});
  await produce('kcat-headers', ['a:1', 'b:2', 'c:3'], ['-H', 'trace=abc', '-H', 'origin=kcat', '-H', 'trace=second']);
  const rows = await consume('kcat-headers', '%k=%s [%h]');
  assert.deepEqual(
    rows.map((r) => r.rest),
    ['a=1 [trace=abc,origin=kcat,trace=second]', 'b=2 [trace=abc,origin=kcat,trace=second]', 'c=3 [trace=abc,origin=kcat,trace=second]'],
  );

  broker.broker.createTopic('kcat-null', 1, 1, {});
  await produce('kcat-null', ['x:', 'y:not-null', 'z:'], ['-Z']);
  const nulls = await consume('kcat-null', '%k %S %s', ['-Z']);
  assert.deepEqual(nulls.map((r) => r.rest), ['x -1 NULL', 'y 8 not-null', 'z -1 NULL']);
});

test('kcat -o -N reads from the end, -Q and -o s@ find offsets by timestamp', async () => {
  broker.broker.createTopic('kcat-time', 1, 1, {});
  await produce('kcat-time', Array.from({ length: 10 }, (_, i) => `k:early-${i}`));
  await new Promise((r) => setTimeout(r, 50));
  const middle = Date.now();
  await new Promise((r) => setTimeout(r, 50));
  await produce('kcat-time', Array.from({ length: 5 }, (_, i) => `k:late-${i}`));

  const tail = await consume('kcat-time', '%s', ['-o', '-3']);
  // -o -3 starts 3 before the end (kcat overrides the -o beginning given first).
  assert.deepEqual(tail.map((r) => [r.offset, r.rest]), [[12, 'late-2'], [13, 'late-3'], [14, 'late-4']]);

  const q = await runOk(KCAT, ['-Q', '-b', bs, '-m', '10', '-t', `kcat-time:0:${middle}`], T);
  assert.match(q.stdout, /kcat-time \[0\] offset 10\b/, q.stdout);

  const fromTs = await consume('kcat-time', '%s', ['-o', `s@${middle}`]);
  assert.deepEqual(fromTs.map((r) => r.offset), [10, 11, 12, 13, 14]);
  assert.deepEqual(fromTs.map((r) => r.rest), ['late-0', 'late-1', 'late-2', 'late-3', 'late-4']);

  const q2 = await runOk(KCAT, ['-Q', '-b', bs, '-m', '10', '-t', `kcat-time:0:${Date.now() + 3_600_000}`], T);
  assert.match(q2.stdout, /kcat-time \[0\] offset -1\b/, q2.stdout);
});
