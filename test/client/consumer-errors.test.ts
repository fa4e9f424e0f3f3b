// How the consumer meets trouble: offsets out of range after DeleteRecords (each autoOffsetReset),
// topics that vanish or do not exist yet, NOT_LEADER answers, dropped connections and corrupt batches.
// An interposing connector sits between the client and a real broker to inject the faults, and to
// hand the consumer transactional batches the broker cannot store yet (read_committed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createCluster } from '../../src/client/client-options.js';
import type { Cluster } from '../../src/client/cluster.js';
import { KafkaProtocolError } from '../../src/client/errors.js';
import type { Connector, Transport } from '../../src/client/transport.js';
import { tcpConnector } from '../../src/io/tcp-connector.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeFetchResponse, encodeFetchResponse, type FetchResponse } from '../../src/protocol/generated/fetch.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import type { DeleteRecordsResponse } from '../../src/protocol/generated/delete-records.js';
import { buildRecordBatch, type RecordInput } from '../../src/protocol/records/index.js';
import { createConsumer, OffsetOutOfRangeError, type Consumer, type ConsumerRecord } from '../../src/client/consumer/index.js';

let broker: RunningBroker;
let cluster: Cluster;

before(async () => {
  broker = await startBroker();
  cluster = createCluster({ bootstrapServers: broker.bootstrapServers }, 'consumer-errors-admin');
});

after(async () => {
  await cluster.close();
  await broker.close();
});

async function produce(topic: string, partition: number, records: RecordInput[]): Promise<void> {
  await cluster.refreshMetadata([topic]);
  const conn = await cluster.leaderFor(topic, partition);
  const res = await conn.request<ProduceResponse>(0, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records: await buildRecordBatch({ records }) }] }] });
  assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, 0);
}

function values(from: number, n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${from + i}`), timestamp: 1000 + from + i }));
}

async function deleteRecords(topic: string, partition: number, before: bigint): Promise<void> {
  const conn = await cluster.leaderFor(topic, partition);
  const res = await conn.request<DeleteRecordsResponse>(21, { topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset: before }] }], timeoutMs: 5000 });
  assert.equal(res.topics[0]!.partitions[0]!.errorCode, 0);
  assert.equal(res.topics[0]!.partitions[0]!.lowWatermark, before);
}

async function pollN<K, V>(c: Consumer<K, V>, n: number, ms = 10_000): Promise<Array<ConsumerRecord<K, V>>> {
  const out: Array<ConsumerRecord<K, V>> = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    assert.ok(Date.now() < deadline, `only ${out.length} of ${n} records after ${ms} ms`);
    out.push(...(await c.poll({ timeoutMs: 200, maxRecords: n - out.length })));
  }
  return out;
}

const offsets = (recs: ReadonlyArray<ConsumerRecord<unknown, unknown>>): bigint[] => recs.map((r) => r.offset);
const range = (from: number, n: number): bigint[] => Array.from({ length: n }, (_, i) => BigInt(from + i));

/** A topic with offsets 0..99 of which 0..59 were deleted (DeleteRecords): log start 60. */
async function truncatedTopic(name: string): Promise<string> {
  broker.broker.createTopic(name, 1, 1, {});
  await produce(name, 0, values(0, 50));
  await produce(name, 0, values(50, 50));
  await deleteRecords(name, 0, 60n);
  return name;
}

test("OFFSET_OUT_OF_RANGE after DeleteRecords with 'earliest': reset to the new log start", async () => {
  const topic = await truncatedTopic('oor-earliest');
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest' });
  try {
    c.assign([{ topic, partition: 0, offset: 10n }]);
    const recs = await pollN(c, 40);
    assert.deepEqual(offsets(recs), range(60, 40));
    assert.equal(recs[0]!.value!.toString(), 'v60');
    // Past the end is out of range too.
    c.seek({ topic, partition: 0 }, 500n);
    assert.deepEqual(offsets(await pollN(c, 40)), range(60, 40));
  } finally {
    await c.close();
  }
});

test("OFFSET_OUT_OF_RANGE after DeleteRecords with 'latest': reset to the end", async () => {
  const topic = await truncatedTopic('oor-latest');
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'latest' });
  try {
    c.assign([{ topic, partition: 0, offset: 10n }]);
    assert.deepEqual(await c.poll({ timeoutMs: 500 }), []);
    assert.equal(await c.position({ topic, partition: 0 }), 100n);
    await produce(topic, 0, values(100, 3));
    assert.deepEqual(offsets(await pollN(c, 3)), range(100, 3));
  } finally {
    await c.close();
  }
});

test("OFFSET_OUT_OF_RANGE with 'none': every poll rejects until the application seeks", async () => {
  const topic = await truncatedTopic('oor-none');
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'none' });
  try {
    c.assign([{ topic, partition: 0, offset: 10n }]);
    const isOor = (e: unknown): boolean => e instanceof OffsetOutOfRangeError && e instanceof KafkaProtocolError && e.code === 'OFFSET_OUT_OF_RANGE' && e.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && e.partitions.length === 1 && e.partitions[0]!.offset === 10n;
    await assert.rejects(c.poll({ timeoutMs: 5000 }), isOor);
    await assert.rejects(c.poll({ timeoutMs: 100 }), isOor);
    await assert.rejects(c.position({ topic, partition: 0 }), isOor);
    const [begin] = await c.beginningOffsets([{ topic, partition: 0 }]);
    assert.equal(begin!.offset, 60n);
    c.seek({ topic, partition: 0 }, begin!.offset);
    assert.deepEqual(offsets(await pollN(c, 40)), range(60, 40));
  } finally {
    await c.close();
  }
});

test('records fetched before an out-of-range answer are delivered before it is acted on', async () => {
  broker.broker.createTopic('oor-order', 1, 1, {});
  await produce('oor-order', 0, values(0, 10));
  // A large fetchMinBytes parks the next fetch for fetchMaxWaitMs even when a few records arrive.
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'none', fetchMinBytes: 1 << 20, fetchMaxWaitMs: 1000 });
  try {
    c.assign([{ topic: 'oor-order', partition: 0, offset: 0n }]);
    assert.equal((await c.poll({ maxRecords: 1, timeoutMs: 5000 })).length, 1);
    // The rest of the batch is buffered and the prefetch at offset 10 is parked: deleting beyond 10
    // makes it come back out of range, behind the buffered records.
    await produce('oor-order', 0, values(10, 10));
    await deleteRecords('oor-order', 0, 20n);
    const buffered = await pollN(c, 9);
    assert.deepEqual(offsets(buffered), range(1, 9));
    await assert.rejects(c.poll({ timeoutMs: 5000 }), (e: unknown) => e instanceof OffsetOutOfRangeError && e.partitions[0]!.offset === 10n);
  } finally {
    await c.close();
  }
});

test('a topic that does not exist yet is picked up once it is created; a deleted topic is recovered', async () => {
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', reconnectBackoffMaxMs: 200 });
  try {
    c.assign([{ topic: 'later', partition: 0 }]);
    assert.deepEqual(await c.poll({ timeoutMs: 300 }), []);
    broker.broker.createTopic('later', 1, 1, {});
    await produce('later', 0, values(0, 5));
    assert.deepEqual(offsets(await pollN(c, 5)), range(0, 5));
    // Delete it (DeleteTopics) and create it again: UNKNOWN_TOPIC_OR_PARTITION, then out of range at 5.
    const conn = await cluster.anyConnection();
    await conn.request(20, { topics: [{ name: 'later' }], topicNames: ['later'], timeoutMs: 5000 });
    assert.deepEqual(await c.poll({ timeoutMs: 300 }), []);
    broker.broker.createTopic('later', 1, 1, {});
    await produce('later', 0, values(100, 2));
    const recs = await pollN(c, 2);
    assert.deepEqual(recs.map((r) => r.value!.toString()), ['v100', 'v101']);
  } finally {
    await c.close();
  }
});

/** Sits between the client and the broker: rewrites Fetch responses, counts requests, drops connections. */
class Interposer {
  readonly apiKeys: number[] = [];
  mutateFetch: ((res: FetchResponse) => void) | null = null;
  private readonly transports = new Set<Transport>();

  readonly connector: Connector = async (host, port, handlers, timeoutMs) => {
    const pending = new Map<number, { apiKey: number; version: number }>();
    const frames = new FrameReader(1 << 28);
    const inner = await tcpConnector(host, port, {
      onData: (chunk) => frames.push(chunk, (frame) => {
        const correlationId = frame.readInt32BE(0);
        const req = pending.get(correlationId);
        pending.delete(correlationId);
        let out = frame;
        if (req !== undefined && req.apiKey === 1 && this.mutateFetch !== null) {
          const flexible = req.version >= 12;
          const r = new Reader(frame, 4);
          if (flexible) r.skipTaggedFields();
          const body = decodeFetchResponse(r, req.version);
          this.mutateFetch(body);
          const w = new Writer(1024);
          w.int32(correlationId);
          if (flexible) w.uvarint(0);
          encodeFetchResponse(w, body, req.version);
          out = w.toBuffer();
        }
        const len = Buffer.alloc(4);
        len.writeInt32BE(out.length);
        handlers.onData(Buffer.concat([len, out]));
      }),
      onClose: (err) => handlers.onClose(err),
    }, timeoutMs);
    this.transports.add(inner);
    return {
      write: (chunks) => {
        const head = Buffer.concat(chunks).subarray(0, 12);
        const apiKey = head.readInt16BE(4);
        this.apiKeys.push(apiKey);
        pending.set(head.readInt32BE(8), { apiKey, version: head.readInt16BE(6) });
        inner.write(chunks);
      },
      close: () => {
        this.transports.delete(inner);
        inner.close();
      },
    };
  };

  /** Close every socket, as a broker restart or a network failure would. */
  dropAll(): void {
    for (const t of this.transports) t.close();
    this.transports.clear();
  }

  count(apiKey: number): number {
    return this.apiKeys.filter((k) => k === apiKey).length;
  }
}

test('NOT_LEADER_OR_FOLLOWER: metadata is refreshed and the fetch retried, nothing lost or repeated', async () => {
  broker.broker.createTopic('not-leader', 2, 1, {});
  await produce('not-leader', 0, values(0, 20));
  await produce('not-leader', 1, values(0, 20));
  const ip = new Interposer();
  let faults = 3;
  ip.mutateFetch = (res) => {
    if (faults <= 0) return;
    faults--;
    for (const t of res.responses) for (const p of t.partitions) Object.assign(p, { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, records: null, highWatermark: -1n });
  };
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', connector: ip.connector, retryBackoffMs: 20 });
  try {
    c.assign([{ topic: 'not-leader', partition: 0 }, { topic: 'not-leader', partition: 1 }]);
    const recs = await pollN(c, 40);
    assert.equal(faults, 0);
    for (const p of [0, 1]) assert.deepEqual(offsets(recs.filter((r) => r.partition === p)), range(0, 20));
    assert.ok(ip.count(3) >= 4, `metadata refreshed after each NOT_LEADER (${ip.count(3)} Metadata requests)`);
  } finally {
    await c.close();
  }
});

test('dropped connections: the consumer reconnects and continues exactly where it was', async () => {
  broker.broker.createTopic('drops', 1, 1, {});
  const ip = new Interposer();
  const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', connector: ip.connector, reconnectBackoffMs: 10, retryBackoffMs: 10 });
  try {
    c.assign([{ topic: 'drops', partition: 0 }]);
    const all: Array<ConsumerRecord<Buffer | null, Buffer | null>> = [];
    for (let round = 0; round < 5; round++) {
      await produce('drops', 0, values(round * 10, 10));
      all.push(...(await pollN(c, 5)));
      ip.dropAll(); // mid-stream: half of the round is still buffered or in flight
      all.push(...(await pollN(c, 5)));
      // And while a fetch is parked at the end of the log.
      await new Promise((r) => setTimeout(r, 50));
      ip.dropAll();
    }
    assert.deepEqual(offsets(all), range(0, 50));
    assert.deepEqual(all.map((r) => r.value!.toString()), range(0, 50).map((i) => `v${i}`));
    assert.ok(ip.count(18) >= 6, 'it reconnected (ApiVersions again) after the drops');
  } finally {
    await c.close();
  }
});

test('a corrupt batch is refused (CRC) at every poll; checkCrcs: false lets it through', async () => {
  broker.broker.createTopic('corrupt', 1, 1, {});
  await produce('corrupt', 0, [{ key: null, value: Buffer.from('aaaa'), timestamp: 1 }, { key: null, value: Buffer.from('aaaa'), timestamp: 2 }]);
  const flip = (res: FetchResponse): void => {
    for (const t of res.responses) {
      for (const p of t.partitions) {
        if (p.records === null || p.records.length === 0) continue;
        const copy = Buffer.from(p.records);
        copy[copy.length - 2] = 'b'.charCodeAt(0); // the last value byte of the last record
        p.records = copy;
      }
    }
  };
  const ip = new Interposer();
  ip.mutateFetch = flip;
  const strict = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', connector: ip.connector });
  try {
    strict.assign([{ topic: 'corrupt', partition: 0 }]);
    const isCorrupt = (e: unknown): boolean => e instanceof KafkaProtocolError && e.code === 'CORRUPT_MESSAGE' && /corrupt-0.*CRC mismatch/.test(e.message);
    await assert.rejects(strict.poll({ timeoutMs: 5000 }), isCorrupt);
    await assert.rejects(strict.poll({ timeoutMs: 5000 }), isCorrupt);
    assert.equal(await strict.position({ topic: 'corrupt', partition: 0 }), 0n);
  } finally {
    await strict.close();
  }
  const ip2 = new Interposer();
  ip2.mutateFetch = flip;
  const lax = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', connector: ip2.connector, checkCrcs: false });
  try {
    lax.assign([{ topic: 'corrupt', partition: 0 }]);
    const recs = await pollN(lax, 2);
    assert.deepEqual(recs.map((r) => r.value!.toString()), ['aaaa', 'aaab']);
  } finally {
    await lax.close();
  }
});

/** A transaction marker: key (version 0, type 0 ABORT / 1 COMMIT), value (version 0, coordinator epoch 0). */
function marker(baseOffset: number, producerId: number, commit: boolean): Promise<Buffer> {
  return buildRecordBatch({ baseOffset, producerId, producerEpoch: 0, isTransactional: true, isControl: true, records: [{ key: Buffer.from([0, 0, 0, commit ? 1 : 0]), value: Buffer.alloc(6), timestamp: 0 }] });
}

function txn(baseOffset: number, producerId: number, tag: string, n: number): Promise<Buffer> {
  return buildRecordBatch({ baseOffset, producerId, producerEpoch: 0, baseSequence: 0, isTransactional: true, records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${tag}${baseOffset + i}`), timestamp: 5 })) });
}

test('read_committed end to end: aborted transactions and markers are filtered, the position moves past them', async () => {
  // The broker has no transactions yet: it stores 11 plain records, and the interposer swaps in a
  // transactional record set for the same offsets (0..10) with its abortedTransactions list.
  broker.broker.createTopic('txn', 1, 1, {});
  await produce('txn', 0, values(0, 11));
  const swapped = Buffer.concat([
    await txn(0, 7, 'aborted', 2),
    await buildRecordBatch({ baseOffset: 2, records: [{ key: null, value: Buffer.from('plain2'), timestamp: 5 }] }),
    await txn(3, 8, 'committed', 2),
    await marker(5, 7, false),
    await marker(6, 8, true),
    await txn(7, 7, 'committed', 2),
    await marker(9, 7, true),
    await marker(10, 9, true),
  ]);
  const read = async (isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<{ values: string[]; position: bigint }> => {
    const ip = new Interposer();
    ip.mutateFetch = (res) => {
      for (const t of res.responses) {
        for (const p of t.partitions) {
          if (p.records === null || p.records.length === 0 || p.records.readBigInt64BE(0) !== 0n) continue;
          p.records = swapped;
          p.abortedTransactions = isolationLevel === 'read_committed' ? [{ producerId: 7n, firstOffset: 0n }] : null;
        }
      }
    };
    const c = createConsumer({ bootstrapServers: broker.bootstrapServers, autoOffsetReset: 'earliest', isolationLevel, connector: ip.connector });
    try {
      c.assign([{ topic: 'txn', partition: 0 }]);
      const want = isolationLevel === 'read_committed' ? 5 : 7;
      const got = await pollN(c, want);
      assert.deepEqual(await c.poll({ timeoutMs: 300 }), []);
      return { values: got.map((r) => `${r.offset}:${r.value!.toString()}`), position: await c.position({ topic: 'txn', partition: 0 }) };
    } finally {
      await c.close();
    }
  };
  assert.deepEqual(await read('read_committed'), { values: ['2:plain2', '3:committed3', '4:committed4', '7:committed7', '8:committed8'], position: 11n });
  assert.deepEqual(await read('read_uncommitted'), { values: ['0:aborted0', '1:aborted1', '2:plain2', '3:committed3', '4:committed4', '7:committed7', '8:committed8'], position: 11n });
});
