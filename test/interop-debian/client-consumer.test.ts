// The Fjord consumer reads what librdkafka producers wrote: kcat -P with every codec and ~1 KB
// compressible values, and confluent-kafka (Python, /usr/bin/python3) with keys, headers and
// timestamps over 3 partitions. Keys, values, headers, partitions and offsets must match exactly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createConsumer, type Consumer, type ConsumerRecord } from '../../src/client/consumer/index.js';
import { KCAT, runOk, runPyJson, storedCodecs, compressibleValue, CODEC_IDS } from './helpers.js';

let broker: RunningBroker;
let bs: string;

before(async () => {
  broker = await startBroker();
  bs = broker.bootstrapServers;
});

after(async () => {
  await broker.close();
});

const T = { timeoutMs: 60_000 };

type Rec = ConsumerRecord<Buffer | null, Buffer | null>;

/** Everything in the topic's partitions, from the beginning, via the Fjord consumer. */
async function readAll(topic: string, partitions: number, expected: number): Promise<Rec[]> {
  const c: Consumer<Buffer | null, Buffer | null> = createConsumer({ bootstrapServers: bs, autoOffsetReset: 'earliest' });
  try {
    c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    const out: Rec[] = [];
    const deadline = Date.now() + 30_000;
    while (out.length < expected) {
      assert.ok(Date.now() < deadline, `only ${out.length} of ${expected} records`);
      out.push(...(await c.poll({ timeoutMs: 500 })));
    }
    assert.deepEqual(await c.poll({ timeoutMs: 300 }), [], 'nothing more than was produced');
    const ends = await c.endOffsets(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    for (const e of ends) assert.equal(await c.position(e), e.offset, `position of ${topic}-${e.partition} is at the end`);
    return out.sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset));
  } finally {
    await c.close();
  }
}

for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`kcat -P -K: -z ${codec}: the Fjord consumer reads what kcat's own consumer reads`, async (t) => {
    const topic = `cc-kcat-${codec}`;
    broker.broker.createTopic(topic, 2, 1, {});
    const lines = Array.from({ length: 300 }, (_, i) => `key-${i % 7}:${compressibleValue(codec, i)}`);
    const z = codec === 'none' ? [] : ['-z', codec];
    await runOk(KCAT, ['-P', '-b', bs, '-t', topic, '-K:', '-m', '10', '-X', 'request.required.acks=-1', '-H', `codec=${codec}`, '-H', 'origin=kcat', ...z], { ...T, input: lines.map((l) => `${l}\n`).join('') });
    // The consumer must really have decompressed: every stored batch carries the codec.
    const codecs = storedCodecs(broker, topic);
    t.diagnostic(`stored batch codecs (id -> count): ${JSON.stringify([...codecs])}`);
    assert.deepEqual([...codecs.keys()], [CODEC_IDS[codec]]);

    const ours = await readAll(topic, 2, lines.length);
    const kc = await runOk(KCAT, ['-C', '-b', bs, '-t', topic, '-o', 'beginning', '-e', '-q', '-m', '10', '-f', '%p\\t%o\\t%k\\t%s\\t%h\\n'], T);
    const theirs = kc.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    theirs.sort((a, b) => Number(a[0]) - Number(b[0]) || Number(a[1]) - Number(b[1]));
    assert.deepEqual(
      ours.map((r) => [String(r.partition), String(r.offset), r.key!.toString(), r.value!.toString(), r.headers.map(([k, v]) => `${k}=${v!.toString()}`).join(',')]),
      theirs,
    );
    // And what kcat was given, line for line (per partition in input order).
    assert.deepEqual(ours.map((r) => `${r.key!.toString()}:${r.value!.toString()}`).sort(), [...lines].sort());
    for (const p of [0, 1]) {
      const seqs = ours.filter((r) => r.partition === p).map((r) => Number(/-(\d{8})\|/.exec(r.value!.toString())![1]));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `partition ${p} in send order`);
    }
  });
}

interface PyRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

const b64 = (b: Buffer | null): string | null => (b === null ? null : b.toString('base64'));

for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`confluent-kafka (${codec}) keyed records with headers over 3 partitions read back identically`, async () => {
    const topic = `cc-confluent-${codec}`;
    broker.broker.createTopic(topic, 3, 1, {});
    const N = 3000;
    const produced = await runPyJson<{ records: PyRecord[]; failed: string[]; undelivered: number }>('client_consumer_produce.py', ['--bootstrap', bs, '--topic', topic, '--count', String(N), '--codec', codec], T);
    assert.deepEqual(produced.failed, []);
    assert.equal(produced.undelivered, 0);
    assert.equal(produced.records.length, N);
    assert.deepEqual(new Set(produced.records.map((r) => r.partition)), new Set([0, 1, 2]), 'all 3 partitions hold records');
    assert.deepEqual([...storedCodecs(broker, topic).keys()], [CODEC_IDS[codec]], `librdkafka stored ${codec} batches only`);

    const ours = await readAll(topic, 3, N);
    assert.equal(ours.length, N);
    for (let i = 0; i < N; i++) {
      const r = ours[i]!;
      const w = produced.records[i]!;
      const got = { partition: r.partition, offset: Number(r.offset), timestamp: r.timestamp, key: b64(r.key), value: b64(r.value), headers: r.headers.map(([k, v]) => [k, b64(v)]) };
      if (JSON.stringify(got) !== JSON.stringify(w)) assert.deepEqual(got, w, `record ${i}`);
      assert.equal(r.timestampType, 'CreateTime');
    }
  });
}
