// kafka-python 2.0.2 (Debian python3-kafka) against embedded in-memory Fjord brokers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { KCAT, PYTHON, pyScript, runOk, runPyJson, storedCodecs, CODEC_IDS } from './helpers.js';

/** A fresh broker per seed run, so "offset 0" means what the seed example says it means. */
let seedBroker: RunningBroker;
let seedBrokerV6: RunningBroker;
/** One broker for the bulk codec round trips. */
let broker: RunningBroker;

before(async () => {
  [seedBroker, seedBrokerV6, broker] = await Promise.all([
    startBroker({ host: '127.0.0.1' }),
    startBroker({ host: '127.0.0.1' }),
    startBroker(),
  ]);
});

after(async () => {
  await Promise.all([seedBroker.close(), seedBrokerV6.close(), broker.close()]);
});

const EXPECTED_EVENT = '{"user_id": "123", "action": "click", "timestamp": "2024-01-15T10:00:00Z"}';

async function readOne(b: RunningBroker, topic: string): Promise<string> {
  const r = await runOk(KCAT, ['-C', '-b', b.bootstrapServers, '-t', topic, '-o', 'beginning', '-e', '-q', '-m', '10', '-f', '%p|%o|%k|%s\n'], {
    timeoutMs: 30_000,
  });
  return r.stdout;
}

test('the seed example (bootstrap localhost:PORT) prints "Sent to partition 0 at offset 0" on a fresh broker', async () => {
  const r = await runOk(PYTHON, [pyScript('seed_producer.py'), String(seedBroker.port)], { timeoutMs: 60_000 });
  assert.equal(r.stdout, 'Sent to partition 0 at offset 0\n');
  // The topic was auto-created with the default partition count, and holds exactly the seed's record.
  const meta = seedBroker.broker.logs.getTopic('user-events');
  assert.ok(meta !== undefined, 'user-events auto-created');
  assert.equal(await readOne(seedBroker, 'user-events'), `0|0|user123|${EXPECTED_EVENT}\n`);
});

test('the seed example still works when localhost resolves to ::1 before 127.0.0.1', async () => {
  // The broker listens on 127.0.0.1 only; kafka-python 2.0.2 gets ECONNREFUSED on ::1 and moves on
  // to the next getaddrinfo entry, so the seed's "localhost" bootstrap is fine on dual-stack hosts.
  const r = await runOk(PYTHON, [pyScript('localhost_ipv6_first.py'), pyScript('seed_producer.py'), String(seedBrokerV6.port)], {
    timeoutMs: 60_000,
  });
  assert.equal(r.stdout, 'Sent to partition 0 at offset 0\n');
  assert.equal(await readOne(seedBrokerV6, 'user-events'), `0|0|user123|${EXPECTED_EVENT}\n`);
});

interface Summary {
  count: number;
  partitions: Record<string, { count: number; first_offset: number; last_offset: number; first_key: string; last_key: string }>;
  digest: string;
}

interface RoundTrip {
  produced: Summary;
  consumed: Summary;
  send_order_preserved: boolean;
  end_offsets: Record<string, number>;
}

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`kafka-python (acks=all, retries=3, linger 10 ms, ${codec}) sends 1,000 records; a group-less KafkaConsumer reads them back identically`, async () => {
    const topic = `kp-${codec}`;
    const count = 1000;
    const res = await runPyJson<RoundTrip>('kafka_python_roundtrip.py', [broker.bootstrapServers, topic, codec, String(count), '3'], {
      timeoutMs: 90_000,
    });
    assert.equal(res.produced.count, count);
    assert.equal(res.consumed.count, count);
    assert.ok(res.send_order_preserved, 'per partition, offsets follow send order');
    // Offsets contiguous from 0 in every partition, and the end offsets agree.
    for (const [p, s] of Object.entries(res.produced.partitions)) {
      assert.equal(s.first_offset, 0, `partition ${p}`);
      assert.equal(s.last_offset, s.count - 1, `partition ${p}`);
      assert.equal(res.end_offsets[p], s.count, `end offset of partition ${p}`);
    }
    assert.deepEqual(res.consumed.partitions, res.produced.partitions);
    assert.equal(res.consumed.digest, res.produced.digest, 'same (partition, offset, key, value) sequence');
    assert.ok(Object.keys(res.produced.partitions).length > 1, 'keys spread over partitions');

    // kafka-python compresses every batch: the broker must have stored them with that codec.
    const codecs = storedCodecs(broker, topic);
    assert.ok((codecs.get(CODEC_IDS[codec]) ?? 0) > 0, `stored codecs: ${JSON.stringify([...codecs])}`);
    assert.equal(codecs.get(CODEC_IDS.none) ?? 0, 0, 'no uncompressed batch');

    // And librdkafka (kcat) decompresses the same batches to the same records.
    const kc = await runOk(KCAT, ['-C', '-b', broker.bootstrapServers, '-t', topic, '-o', 'beginning', '-e', '-q', '-m', '10', '-f', '%p|%o|%k\n'], {
      timeoutMs: 30_000,
    });
    const lines = kc.stdout.split('\n').filter((l) => l.length > 0);
    assert.equal(lines.length, count);
    for (const [p, s] of Object.entries(res.produced.partitions)) {
      const mine = lines.filter((l) => l.startsWith(`${p}|`));
      assert.equal(mine.length, s.count);
      assert.equal(mine[0], `${p}|0|${s.first_key}`);
      assert.equal(mine[mine.length - 1], `${p}|${s.last_offset}|${s.last_key}`);
    }
  });
}
