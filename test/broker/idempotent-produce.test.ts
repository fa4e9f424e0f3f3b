// Idempotent produce with hand-built requests: Kafka's per-partition sequence and epoch checks, with
// their exact error codes, on a disk broker, and the same checks after a clean restart (producer state
// from the shutdown snapshot) and after a SIGKILL of a broker child process (state rebuilt from the
// newest snapshot plus a replay of the log tail). InitProducerId never hands out an id twice, whether
// the broker stopped cleanly or crashed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/index.js';
import { ProducerStateManager } from '../../src/storage/producer-state/producer-state.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/storage/producer-state/snapshot-file.js';
import { RawClient } from './raw-client.js';

const TOPIC = 'idem';
const PRODUCE_VERSION = 8;
const TIMESTAMP = 1_700_000_000_000;

interface ProduceRes {
  responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: bigint }> }>;
}
interface InitRes {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}
interface ListOffsetsRes {
  topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }>;
}

/** One batch as a producer would (re)send it: the same arguments always build the same bytes. */
interface Batch {
  readonly pid: bigint;
  readonly epoch: number;
  readonly seq: number;
  readonly count: number;
}

async function produce(c: RawClient, b: Batch, acks = -1): Promise<{ errorCode: number; baseOffset: number }> {
  const records = await buildRecordBatch({
    producerId: b.pid,
    producerEpoch: b.epoch,
    baseSequence: b.seq,
    records: Array.from({ length: b.count }, (_, i) => ({ key: null, value: Buffer.from(`${b.pid}/${b.epoch}/${b.seq + i}`), timestamp: TIMESTAMP + b.seq + i })),
  });
  const res = await c.request<ProduceRes>(0, PRODUCE_VERSION, { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

async function initProducerId(c: RawClient): Promise<bigint> {
  const res = await c.request<InitRes>(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  assert.equal(res.errorCode, 0);
  assert.equal(res.producerEpoch, 0);
  assert.ok(res.producerId >= 0n);
  return res.producerId;
}

async function logEnd(c: RawClient): Promise<number> {
  const res = await c.request<ListOffsetsRes>(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
  const p = res.topics[0]!.partitions[0]!;
  assert.equal(p.errorCode, 0);
  return Number(p.offset);
}

const ok = (baseOffset: number): { errorCode: number; baseOffset: number } => ({ errorCode: 0, baseOffset });
const err = (errorCode: number): { errorCode: number; baseOffset: number } => ({ errorCode, baseOffset: -1 });

/** What the checks below leave behind, for the checks after a restart. */
interface Written {
  /** Producer A at epoch 1: its last five batches and their offsets (oldest first). */
  a: bigint;
  remembered: Array<{ batch: Batch; offset: number }>;
  /** A batch of A's that fell out of the five remembered. */
  forgotten: Batch;
  nextSeq: number;
  end: number;
}

/**
 * The checks on a fresh topic: duplicates answered with the original offset and nothing written, gaps,
 * unknown producers, a new epoch that must start at 0, an old epoch fenced.
 */
async function firstChecks(c: RawClient): Promise<Written> {
  const a = await initProducerId(c);
  const b = await initProducerId(c);
  assert.notEqual(a, b, 'two InitProducerId calls, two ids');

  const a0: Batch = { pid: a, epoch: 0, seq: 0, count: 3 };
  const a1: Batch = { pid: a, epoch: 0, seq: 3, count: 2 };
  assert.deepEqual(await produce(c, a0), ok(0));
  assert.deepEqual(await produce(c, a1), ok(3));
  // Exact retries: the original offsets, error 0, and nothing appended.
  assert.deepEqual(await produce(c, a1), ok(3), 'retry of the last batch');
  assert.deepEqual(await produce(c, a0), ok(0), 'retry of an earlier batch');
  assert.deepEqual(await produce(c, a1, 1), ok(3), 'retry with acks=1');
  assert.equal(await logEnd(c), 5, 'duplicates wrote nothing');
  // A gap, and a retry that overlaps but does not match a remembered batch.
  assert.deepEqual(await produce(c, { pid: a, epoch: 0, seq: 6, count: 1 }), err(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
  assert.deepEqual(await produce(c, { pid: a, epoch: 0, seq: 3, count: 1 }), err(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
  // A producer the partition never saw must start at 0.
  assert.deepEqual(await produce(c, { pid: b, epoch: 0, seq: 4, count: 1 }), err(ErrorCode.UNKNOWN_PRODUCER_ID));
  assert.deepEqual(await produce(c, { pid: 999_999_999n, epoch: 0, seq: 1, count: 1 }), err(ErrorCode.UNKNOWN_PRODUCER_ID));
  assert.equal(await logEnd(c), 5, 'refused batches wrote nothing');
  assert.deepEqual(await produce(c, { pid: b, epoch: 0, seq: 0, count: 1 }), ok(5));

  // Five more batches of A: only the last five are remembered, so a retry of a1 is now out of order.
  let offset = 6;
  let seq = 5;
  const epoch0: Array<{ batch: Batch; offset: number }> = [];
  for (let i = 0; i < 5; i++) {
    const batch: Batch = { pid: a, epoch: 0, seq, count: 1 + (i % 2) };
    assert.deepEqual(await produce(c, batch), ok(offset));
    epoch0.push({ batch, offset });
    offset += batch.count;
    seq += batch.count;
  }
  assert.deepEqual(await produce(c, a1), err(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), 'the sixth batch back is forgotten');
  assert.deepEqual(await produce(c, epoch0[0]!.batch), ok(epoch0[0]!.offset), 'the fifth batch back is remembered');
  assert.equal(await logEnd(c), offset);

  // A new epoch must start at sequence 0; after it, the old epoch is fenced, retries included.
  assert.deepEqual(await produce(c, { pid: a, epoch: 1, seq: seq, count: 1 }), err(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
  assert.deepEqual(await produce(c, { pid: a, epoch: 1, seq: 1, count: 1 }), err(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
  const e1: Batch = { pid: a, epoch: 1, seq: 0, count: 2 };
  assert.deepEqual(await produce(c, e1), ok(offset));
  const remembered = [{ batch: e1, offset }];
  offset += 2;
  assert.deepEqual(await produce(c, { pid: a, epoch: 0, seq, count: 1 }), err(ErrorCode.INVALID_PRODUCER_EPOCH));
  assert.deepEqual(await produce(c, epoch0[4]!.batch), err(ErrorCode.INVALID_PRODUCER_EPOCH), 'a retry from the old epoch is fenced');
  assert.deepEqual(await produce(c, e1), ok(remembered[0]!.offset));

  // Fill A's memory at epoch 1 (the first of these goes out of it).
  let s = 2;
  for (let i = 0; i < 5; i++) {
    const batch: Batch = { pid: a, epoch: 1, seq: s, count: 1 };
    assert.deepEqual(await produce(c, batch, i === 4 ? 1 : -1), ok(offset));
    remembered.push({ batch, offset });
    offset += 1;
    s += 1;
  }
  remembered.shift();
  assert.equal(await logEnd(c), offset);
  return { a, remembered, forgotten: e1, nextSeq: s, end: offset };
}

/** After a restart, the state must be the one before it: same answers, nothing written twice. */
async function checksAfterRestart(c: RawClient, w: Written, what: string): Promise<Written> {
  assert.equal(await logEnd(c), w.end, `${what}: log end`);
  for (const { batch, offset } of w.remembered) {
    assert.deepEqual(await produce(c, batch), ok(offset), `${what}: retry of seq ${batch.seq} epoch ${batch.epoch}`);
  }
  assert.equal(await logEnd(c), w.end, `${what}: retries wrote nothing`);
  assert.deepEqual(await produce(c, w.forgotten), err(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), `${what}: forgotten batch`);
  assert.deepEqual(await produce(c, { pid: w.a, epoch: 1, seq: w.nextSeq + 1, count: 1 }), err(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), `${what}: gap`);
  assert.deepEqual(await produce(c, { pid: w.a, epoch: 0, seq: 0, count: 3 }), err(ErrorCode.INVALID_PRODUCER_EPOCH), `${what}: old epoch`);
  assert.deepEqual(await produce(c, { pid: 888_888_888n, epoch: 0, seq: 3, count: 1 }), err(ErrorCode.UNKNOWN_PRODUCER_ID), `${what}: unknown producer`);
  assert.equal(await logEnd(c), w.end, `${what}: refusals wrote nothing`);
  // The producer carries on where it was.
  const next: Batch = { pid: w.a, epoch: 1, seq: w.nextSeq, count: 2 };
  assert.deepEqual(await produce(c, next), ok(w.end), `${what}: next in sequence`);
  assert.deepEqual(await produce(c, next), ok(w.end), `${what}: and its retry`);
  const remembered = [...w.remembered.slice(1), { batch: next, offset: w.end }];
  return { a: w.a, remembered, forgotten: w.remembered[0]!.batch, nextSeq: w.nextSeq + 2, end: w.end + 2 };
}

/** A new epoch after a restart must still start at 0, and fences the previous one. */
async function epochBumpAfterRestart(c: RawClient, w: Written, what: string): Promise<void> {
  assert.deepEqual(await produce(c, { pid: w.a, epoch: 2, seq: 4, count: 1 }), err(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), `${what}: epoch 2 not at 0`);
  assert.deepEqual(await produce(c, { pid: w.a, epoch: 2, seq: 0, count: 1 }), ok(w.end), `${what}: epoch 2 at 0`);
  assert.deepEqual(await produce(c, w.remembered[4]!.batch), err(ErrorCode.INVALID_PRODUCER_EPOCH), `${what}: epoch 1 fenced`);
  assert.equal(await logEnd(c), w.end + 1);
}

test('idempotent produce: exact error codes, duplicates answered with their original offsets (disk, in-process, clean restart)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-idem-'));
  let broker = await startBroker({ dataDir });
  let c: RawClient | null = null;
  try {
    c = await RawClient.connect(broker.port);
    const ids = [await initProducerId(c)];
    const w = await firstChecks(c);
    c.close();
    await broker.close();
    assert.ok(
      readdirSync(join(dataDir, `${TOPIC}-0`)).some((f) => f.endsWith('.snapshot')),
      'a clean shutdown writes a producer-state snapshot',
    );

    broker = await startBroker({ dataDir });
    c = await RawClient.connect(broker.port);
    const w2 = await checksAfterRestart(c, w, 'after a clean restart');
    ids.push(await initProducerId(c), await initProducerId(c));
    await epochBumpAfterRestart(c, w2, 'after a clean restart');
    assert.equal(new Set(ids).size, ids.length, `ids ${ids.join(',')} are distinct`);
  } finally {
    c?.close();
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The CLI broker in a child process, so it can be SIGKILLed. */
async function startChild(port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'fjord'), 'start', '--port', String(port), '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker did not start: ${out}`)), 20_000);
      child.stderr!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`broker exited ${code ?? signal}: ${out}`));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  child.stderr!.resume();
  return child;
}

async function stopChild(child: ChildProcess, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

test('idempotent produce after kill -9: state rebuilt from the log (and from snapshot + tail), retries still deduplicated, ids never reused', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-idem-kill9-'));
  const port = await freePort();
  let child = await startChild(port, dataDir);
  let c: RawClient | null = null;
  const ids: bigint[] = [];
  try {
    // No snapshot exists yet: after the crash the whole log is replayed.
    c = await RawClient.connect(port);
    ids.push(await initProducerId(c), await initProducerId(c));
    let w = await firstChecks(c);
    c.close();
    await stopChild(child, 'SIGKILL');
    assert.equal(readdirSync(join(dataDir, `${TOPIC}-0`)).filter((f) => f.endsWith('.snapshot')).length, 0, 'a SIGKILL leaves no snapshot');

    child = await startChild(port, dataDir);
    c = await RawClient.connect(port);
    w = await checksAfterRestart(c, w, 'after kill -9 (full replay)');
    const afterCrash = await initProducerId(c);
    assert.ok(ids.every((id) => afterCrash > id), `id ${afterCrash} after the crash is above every earlier one (${ids.join(',')})`);
    ids.push(afterCrash);

    // A clean stop writes a snapshot; the batches after it are only in the log tail when the broker dies.
    c.close();
    await stopChild(child, 'SIGTERM');
    child = await startChild(port, dataDir);
    c = await RawClient.connect(port);
    w = await checksAfterRestart(c, w, 'after a clean restart');
    ids.push(await initProducerId(c));
    // The tail: five more batches (the last with acks=1, in the page cache only), then the crash.
    for (let i = 0; i < 5; i++) {
      const batch: Batch = { pid: w.a, epoch: 1, seq: w.nextSeq, count: 3 };
      assert.deepEqual(await produce(c, batch, i === 4 ? 1 : -1), ok(w.end));
      w = { ...w, remembered: [...w.remembered.slice(1), { batch, offset: w.end }], forgotten: w.remembered[0]!.batch, nextSeq: w.nextSeq + 3, end: w.end + 3 };
    }
    c.close();
    await stopChild(child, 'SIGKILL');
    child = await startChild(port, dataDir);
    c = await RawClient.connect(port);
    w = await checksAfterRestart(c, w, 'after kill -9 (snapshot + tail)');
    await epochBumpAfterRestart(c, w, 'after kill -9');
    ids.push(await initProducerId(c));
    assert.equal(new Set(ids).size, ids.length, `ids ${ids.join(',')} are distinct`);
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), `ids ${ids.join(',')} increase`);
  } finally {
    c?.close();
    await stopChild(child, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a retry of a batch whose sequences wrap past Int32.MAX is still a duplicate after a snapshot round trip', () => {
  const MAX = 0x7fff_ffff;
  const live = new ProducerStateManager('t-0');
  live.restore({ producerId: 7, epoch: 0, batches: [{ firstSeq: MAX - 4, lastSeq: MAX - 2, firstOffset: 10, lastOffset: 12, timestamp: 1 }], currentTxnFirstOffset: -1, coordinatorEpoch: -1, lastTimestamp: 1 });
  const wrapping = { producerId: 7, producerEpoch: 0, baseSequence: MAX - 1, lastOffsetDelta: 2, isTransactional: false, maxTimestamp: 2 };
  assert.deepEqual(live.check(wrapping), { kind: 'append' });
  live.onAppend(wrapping, 13);
  assert.deepEqual(live.check(wrapping), { kind: 'duplicate', firstOffset: 13, lastOffset: 15 });
  const restored = new ProducerStateManager('t-0');
  for (const e of decodeSnapshot(encodeSnapshot(live.entries())) ?? []) restored.restore(e);
  assert.deepEqual(restored.check(wrapping), { kind: 'duplicate', firstOffset: 13, lastOffset: 15 });
  assert.deepEqual(restored.check({ ...wrapping, baseSequence: 1, lastOffsetDelta: 0 }), { kind: 'append' });
  assert.equal(restored.check({ ...wrapping, baseSequence: 2, lastOffsetDelta: 0 }).kind, 'error');
});
