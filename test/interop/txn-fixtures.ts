// Shared setup and assertions for the client interop tests against Fjord: the transactional scenarios
// (kafkajs-transactions.test.ts, platformatic-transactions.test.ts) and the SIGKILL idempotent-producer
// scenarios (kafkajs-idempotent.test.ts, platformatic-idempotent.test.ts). Not a test file itself.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import type { SeededRandom } from '../../src/testing/seeded-random.js';
import type { CheckResult, HistoryRecorder } from '../../src/testing/history-checker.js';
import { CliBroker } from '../interop-debian/idempotent-workload.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ---- transactions ----

export interface Seen { partition: number; offset: number; key: string; value: string }

export const FENCED = /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/;

/**
 * An in-process broker configured for the transaction scenarios, started before the calling file's
 * tests and closed after them; the returned function gives it (once started).
 */
export function useTxnBroker(): () => RunningBroker {
  let broker: RunningBroker | undefined;
  before(async () => {
    broker = await startTxnBroker();
  });
  after(async () => {
    await broker!.close();
  });
  return () => broker!;
}

function startTxnBroker(): Promise<RunningBroker> {
  return startBroker({
    config: {
      'group.initial.rebalance.delay.ms': '0',
      'transaction.max.timeout.ms': '60000',
      'offsets.topic.num.partitions': '5',
      'transaction.state.log.num.partitions': '5',
    },
  });
}

export function txnStateOf(broker: RunningBroker, transactionalId: string): string | undefined {
  return broker.broker.transactions.coordinator.transaction(transactionalId)?.state;
}

/** What a consumer in a fresh group reading a topic from the beginning has seen. */
export abstract class SeenCollector {
  readonly seen: Seen[] = [];

  values(): string[] {
    return this.seen.map((s) => s.value);
  }

  /** The (key, value) pairs per partition, in offset order. */
  byPartition(): Record<number, Array<[string, string]>> {
    const out: Record<number, Array<[string, string]>> = {};
    for (const s of [...this.seen].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) (out[s.partition] ??= []).push([s.key, s.value]);
    return out;
  }

  abstract stop(): Promise<void>;
}

export type StartCollector<C extends SeenCollector> = (topic: string, isolation: 'read_committed' | 'read_uncommitted') => Promise<C>;

/** A read_committed and a read_uncommitted collector on `topic`, both registered in `collectors` for cleanup. */
export async function startBoth<C extends SeenCollector>(start: StartCollector<C>, topic: string, collectors: C[]): Promise<{ committed: C; uncommitted: C }> {
  const committed = await start(topic, 'read_committed');
  collectors.push(committed);
  const uncommitted = await start(topic, 'read_uncommitted');
  collectors.push(uncommitted);
  return { committed, uncommitted };
}

/** The rejection of `p`; fails with `message` if it resolves. */
export async function expectFailure(p: Promise<unknown>, message: string): Promise<unknown> {
  const err = await p.then(() => null, (e: unknown) => e);
  assert.ok(err !== null, message);
  return err;
}

export function assertFenced(err: unknown, describe: (e: unknown) => string): void {
  assert.match(describe(err), FENCED, describe(err));
}

export interface RoundMessage { partition: number; key: string; value: string }

/**
 * The commit/abort scenario's write side: four rounds, the even ones committed and the odd ones
 * aborted, each one transaction (run by `runRound`) of three records to each of partitions 0-2.
 * Returns what read_committed and read_uncommitted should then see per partition.
 */
export async function commitAbortRounds(runRound: (round: number, commit: boolean, perPartition: RoundMessage[][]) => Promise<void>): Promise<{
  expectCommitted: Record<number, Array<[string, string]>>;
  expectAll: Record<number, Array<[string, string]>>;
}> {
  const expectCommitted: Record<number, Array<[string, string]>> = {};
  const expectAll: Record<number, Array<[string, string]>> = {};
  for (let round = 0; round < 4; round++) {
    const commit = round % 2 === 0;
    const perPartition: RoundMessage[][] = [];
    for (let p = 0; p < 3; p++) {
      const messages = Array.from({ length: 3 }, (_, i) => ({ partition: p, key: `k-${round}-${p}-${i}`, value: `${commit ? 'committed' : 'aborted'}-${round}-${p}-${i}` }));
      perPartition.push(messages);
      for (const m of messages) {
        (expectAll[p] ??= []).push([m.key, m.value]);
        if (commit) (expectCommitted[p] ??= []).push([m.key, m.value]);
      }
    }
    await runRound(round, commit, perPartition);
  }
  return { expectCommitted, expectAll };
}

/**
 * The commit/abort scenario's read side: read_committed sees exactly the committed records,
 * read_uncommitted every record. `check` runs once both have read everything.
 */
export async function assertCommittedVersusAll<C extends SeenCollector>(
  start: StartCollector<C>,
  topic: string,
  collectors: C[],
  expectCommitted: Record<number, Array<[string, string]>>,
  expectAll: Record<number, Array<[string, string]>>,
  check: (committed: C, uncommitted: C) => void = () => {},
): Promise<void> {
  const { committed, uncommitted } = await startBoth(start, topic, collectors);
  await waitFor(() => committed.seen.length >= 18 && uncommitted.seen.length >= 36, 20_000, 'both consumers to read everything');
  await sleep(500); // nothing more may arrive
  check(committed, uncommitted);
  assert.deepEqual(committed.byPartition(), expectCommitted, 'read_committed: exactly the committed records, in order');
  assert.deepEqual(uncommitted.byPartition(), expectAll, 'read_uncommitted: every record, aborted ones included');
  assert.ok(!committed.values().some((v) => v.startsWith('aborted')));
}

/**
 * The LSO scenario's read side, with 'before-0', an open transaction holding 'txn-0', then 'after-0..2'
 * in the log: read_committed stops at the open transaction until `commit` runs. `settleMs` is waited
 * after read_committed has caught up.
 */
export async function assertHeldAtLso<C extends SeenCollector>(start: StartCollector<C>, topic: string, collectors: C[], commit: () => Promise<unknown>, settleMs = 0): Promise<void> {
  const { committed, uncommitted } = await startBoth(start, topic, collectors);
  await waitFor(() => uncommitted.seen.length >= 5, 15_000, 'read_uncommitted to see everything at once');
  assert.deepEqual(uncommitted.values(), ['before-0', 'txn-0', 'after-0', 'after-1', 'after-2']);
  await waitFor(() => committed.seen.length >= 1, 15_000, 'read_committed to see the record before the transaction');
  await sleep(1000);
  assert.deepEqual(committed.values(), ['before-0'], 'read_committed stops at the open transaction (the LSO), hiding the later non-transactional records');

  await commit();
  await waitFor(() => committed.seen.length >= 5, 15_000, 'read_committed to move past the committed transaction');
  if (settleMs > 0) await sleep(settleMs);
  assert.deepEqual(committed.values(), ['before-0', 'txn-0', 'after-0', 'after-1', 'after-2']);
  assert.deepEqual(committed.seen.map((s) => s.offset), [0, 1, 2, 3, 4]);
}

/** The fencing scenario's read side: only the successor's records are committed; the zombie's late send was never stored. */
export async function assertZombieInvisible<C extends SeenCollector>(start: StartCollector<C>, topic: string, collectors: C[]): Promise<void> {
  const { committed, uncommitted } = await startBoth(start, topic, collectors);
  await waitFor(() => committed.seen.length >= 2 && uncommitted.seen.length >= 4, 15_000, 'both consumers');
  await sleep(500);
  assert.deepEqual(committed.byPartition(), { 0: [['s', 'successor-0']], 1: [['s', 'successor-1']] });
  assert.deepEqual(uncommitted.byPartition(), { 0: [['z', 'zombie-0'], ['s', 'successor-0']], 1: [['z', 'zombie-1'], ['s', 'successor-1']] }, 'the zombie\'s late send was refused, not stored');
}

/** The timeout scenario's read side: read_committed sees only the later 'later-0', never the timed-out record. */
export async function assertOnlyLaterVisible<C extends SeenCollector>(start: StartCollector<C>, topic: string, collectors: C[]): Promise<void> {
  const committed = await start(topic, 'read_committed');
  collectors.push(committed);
  await waitFor(() => committed.seen.length >= 1, 15_000, 'read_committed to see the later record');
  await sleep(500);
  assert.deepEqual(committed.values(), ['later-0'], 'the timed-out transaction\'s record never becomes visible');
}

// ---- idempotent producer across SIGKILLs ----

export interface SenderStats {
  acked: number;
  readonly failures: string[];
}

/**
 * One process sending `perSend` unique values at a time, round-robin over `partitions`, recording each
 * send in `recorder` (process 0). `send` resolves to the base offset the broker assigned. Runs until
 * `stopped()`; its acknowledged sends must also be monotonic per partition.
 */
export function runRecordedSender(
  recorder: HistoryRecorder,
  topic: string,
  partitions: number,
  perSend: number,
  stats: SenderStats,
  stopped: () => boolean,
  send: (partition: number, values: string[]) => Promise<number>,
): Promise<void> {
  let next = 0;
  return (async () => {
    for (let n = 0; !stopped(); n++) {
      const partition = n % partitions;
      const key = `${topic}-${partition}`;
      const values = Array.from({ length: perSend }, () => `v${next++}`);
      recorder.invoke(0, 'send', values.map((v) => ['send', key, [null, v]] as const));
      try {
        const base = await send(partition, values);
        recorder.ok(0, values.map((v, j) => ['send', key, [base + j, v]] as const));
        stats.acked += values.length;
      } catch (e) {
        stats.failures.push(String(e));
        recorder.info(0);
      }
    }
  })();
}

/**
 * Waits for `minAcked` acks, then SIGKILLs and restarts the CLI broker `restarts` times (after a random
 * pause in [minPauseMs, maxPauseMs)), then waits up to 30 s for 100 more acks. Returns the restarted
 * broker and the ack count at the last restart.
 */
export async function killAndRestart(
  broker: CliBroker,
  port: number,
  dataDir: string,
  rnd: SeededRandom,
  restarts: number,
  stats: SenderStats,
  minAcked: number,
  maxPauseMs: number,
  noAcksMessage: string,
  onRestart: (b: CliBroker) => void,
): Promise<{ ackedAtLastRestart: number }> {
  const started = Date.now() + 30_000;
  while (stats.acked < minAcked && Date.now() < started) await sleep(20);
  assert.ok(stats.acked >= minAcked, `${noAcksMessage}: ${stats.failures.slice(0, 3).join('; ')}`);
  for (let r = 0; r < restarts; r++) {
    await sleep(rnd.int(300, maxPauseMs));
    await broker.stop('SIGKILL');
    await sleep(rnd.int(0, 300));
    broker = await CliBroker.start(port, join(dataDir, 'data'));
    onRestart(broker);
  }
  const ackedAtLastRestart = stats.acked;
  const settle = Date.now() + 30_000;
  while (stats.acked < ackedAtLastRestart + 100 && Date.now() < settle) await sleep(20);
  return { ackedAtLastRestart };
}

/** The history checker found no lost write, duplicate, inconsistent offset, unseen or non-monotonic send. */
export function assertNoAnomalies(result: CheckResult, report: string): void {
  for (const name of ['lost-write', 'duplicate', 'inconsistent-offsets', 'unseen', 'non-monotonic-send'] as const) {
    assert.equal(result.anomalies[name]?.length ?? 0, 0, `${name}\n${report}`);
  }
  assert.ok(result.valid, report);
}
