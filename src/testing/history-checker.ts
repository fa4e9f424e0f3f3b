/**
 * A Jepsen-style checker for histories of the Kafka queue workload (after jepsen.tests.kafka), judging
 * what clients observed of a broker that was killed, paused or given a failing disk.
 *
 * The analysis, in the order `checkHistory` runs it:
 *
 * - Pairing. Each process has at most one operation in flight; a completion (ok/info/fail) closes the
 *   invocation before it on the same process. An invocation never completed is judged as info. A
 *   completion with an empty value inherits its invocation's, so a bare `fail` still names what it sent.
 * - Writers. Every sent (key, value) has exactly one writer, the completion that sent it. A writer *must
 *   have committed* when it is ok, or info with at least one of its values read by an ok operation.
 * - Version order per key. Offsets are claimed by the sends of writers that must have committed and by
 *   every poll, whatever its outcome (read-committed consumers must never be shown uncommitted data, so
 *   even a failed poll's records are evidence). Non-empty offsets are then numbered densely, so the gap a
 *   transaction marker leaves is not mistaken for a missing record.
 * - The checks themselves are documented on each function below; every one is linear or n log n in the
 *   size of the history, and the cycle search is Tarjan's algorithm, never an enumeration of cycles.
 *
 * - With `transactional: true` (transactions read with read_committed), `history/transactions.ts` adds
 *   later-aborted reads, intermediate reads and the consumer-offset chain of `offsets` micro-operations;
 *   the offset commits also become G1c edges (a transaction that resumed from a committed position read
 *   the commit of the transaction that committed it).
 *
 * Reported details name operations by `op.index`, or by position in the history when that is absent, and
 * every list is sorted so two runs over the same history print the same thing.
 */
import type { Completion, OffsetCommit, Read, Send } from './history/completion.js';
import { Digraph, cycleThrough, stronglyConnectedComponents } from './history/graph.js';
import { intermediateAndLaterAbortedReads, offsetChain, offsetEdges, pollPositions } from './history/transactions.js';
import {
  ANOMALY_NAMES,
  type AbortedRead,
  type Anomalies,
  type AnomalyDetails,
  type AnomalyName,
  type BackwardPoll,
  type CheckOptions,
  type CheckResult,
  type CheckStats,
  type Cycle,
  type CycleStep,
  type Duplicate,
  type ExactlyOnceViolation,
  type GarbageRead,
  type InconsistentOffset,
  type LostWrite,
  type NonMonotonicSend,
  type Op,
  type OpF,
  type OwnWriteInTxn,
  type PollSkip,
  type Position,
  type Unseen,
  type Value,
} from './history/types.js';

export * from './history/types.js';
export { HistoryRecorder, createIndexCounter, mergeHistories, mop, type IndexCounter, type CompletionExtras } from './history/recorder.js';

/** Details list at most this many skipped records or claiming operations, to keep reports readable. */
const DETAIL_LIMIT = 8;

interface KeyLog {
  /** Non-empty offsets, ascending; position in this array is the dense index. */
  offsets: number[];
  indexOf: Map<number, number>;
  /** Sorted values claimed at each dense index. */
  valuesAt: Value[][];
  firstIndex: Map<Value, number>;
  lastIndex: Map<Value, number>;
  /** Every dense index each value was seen at, ascending. */
  indexesOf: Map<Value, number[]>;
  /** offset -> value -> indexes of the operations that claimed it. */
  claims: Map<number, Map<Value, number[]>>;
}

/** Numbers sort before strings; numbers numerically, strings by code unit (locale-independent, hence stable). */
export function compareValues(a: Value, b: Value): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A (key, value) pair as one string for Set lookups; the type tag keeps 1 and '1' apart. */
function kv(key: string, value: Value): string {
  return `${key}\u0000${typeof value}:${String(value)}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Lexicographic comparison over a list of already-compared fields. */
function chain(...results: number[]): number {
  for (const r of results) if (r !== 0) return r;
  return 0;
}

function malformed(pos: number, what: string): Error {
  return new Error(`history[${pos}]: ${what}`);
}

function isValue(v: unknown): v is Value {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

function isOffset(o: unknown): o is number {
  return typeof o === 'number' && Number.isSafeInteger(o) && o >= 0;
}

/**
 * Micro-operations are checked at runtime: a malformed history is a bug in the workload, and failing
 * loudly here beats reporting phantom anomalies.
 */
function parseMops(value: Op['value'], pos: number): { sends: Send[]; reads: Map<string, Read[]>; polls: boolean; offsets: OffsetCommit[] } {
  const sends: Send[] = [];
  const reads = new Map<string, Read[]>();
  const offsets: OffsetCommit[] = [];
  let polls = false;
  for (const raw of value as readonly unknown[]) {
    if (!Array.isArray(raw)) throw malformed(pos, `expected a micro-operation, got ${JSON.stringify(raw)}`);
    const m = raw as unknown[];
    if (m[0] === 'send') {
      const key = m[1];
      const pair = m[2];
      if (typeof key !== 'string' || !Array.isArray(pair) || pair.length !== 2) throw malformed(pos, `bad send ${JSON.stringify(m)}`);
      const [offset, v] = pair as unknown[];
      if (!(offset === null || isOffset(offset)) || !isValue(v)) throw malformed(pos, `bad send ${JSON.stringify(m)}`);
      sends.push({ key, offset, value: v });
    } else if (m[0] === 'poll') {
      const rec = m[1];
      if (typeof rec !== 'object' || rec === null) throw malformed(pos, `bad poll ${JSON.stringify(m)}`);
      polls = true;
      for (const [key, pairs] of Object.entries(rec as Record<string, unknown>)) {
        if (!Array.isArray(pairs)) throw malformed(pos, `bad poll of ${key}`);
        let list = reads.get(key);
        for (const p of pairs as unknown[]) {
          const [offset, v] = Array.isArray(p) ? (p as unknown[]) : [];
          if (!isOffset(offset) || !isValue(v)) throw malformed(pos, `bad record ${JSON.stringify(p)} polled from ${key}`);
          if (list === undefined) {
            list = [];
            reads.set(key, list);
          }
          list.push({ key, offset, value: v });
        }
      }
    } else if (m[0] === 'offsets') {
      const group = m[1];
      const rec = m[2];
      if (typeof group !== 'string' || typeof rec !== 'object' || rec === null) throw malformed(pos, `bad offsets ${JSON.stringify(m)}`);
      for (const [key, pair] of Object.entries(rec as Record<string, unknown>)) {
        const [from, to] = Array.isArray(pair) && pair.length === 2 ? (pair as unknown[]) : [];
        if (!(from === null || isOffset(from)) || !isOffset(to)) throw malformed(pos, `bad offsets ${JSON.stringify(pair)} for ${key}`);
        offsets.push({ group, key, from, to });
      }
    } else {
      throw malformed(pos, `unknown micro-operation ${JSON.stringify(m)}`);
    }
  }
  return { sends, reads, polls, offsets };
}

const TXN_FS: ReadonlySet<OpF> = new Set<OpF>(['send', 'poll', 'txn']);

function pairOperations(history: readonly Op[], stats: CheckStats): Completion[] {
  const completions: Completion[] = [];
  const inFlight = new Map<number, { op: Op; pos: number }>();

  const build = (op: Op, type: Completion['type'], pos: number, inv: Op | undefined): Completion => {
    const value = op.value.length === 0 && inv !== undefined ? inv.value : op.value;
    const c: Completion = {
      ord: completions.length,
      // An invocation never completed arrives here as itself, so it is named after the invocation.
      index: op.index ?? pos,
      process: op.process,
      type,
      f: op.f,
      sends: [],
      reads: new Map(),
      polls: false,
      keys: [],
      rebalanceKeys: new Set(op.rebalanceKeys ?? []),
      offsets: [],
    };
    if (TXN_FS.has(op.f)) {
      const parsed = parseMops(value, pos);
      c.sends = parsed.sends;
      c.reads = parsed.reads;
      c.polls = parsed.polls;
      c.offsets = parsed.offsets;
    } else if (op.f === 'assign' || op.f === 'subscribe') {
      for (const k of value as readonly unknown[]) {
        if (typeof k !== 'string') throw malformed(pos, `${op.f} of a non-key ${JSON.stringify(k)}`);
        c.keys.push(k);
      }
    }
    return c;
  };

  history.forEach((op, pos) => {
    if (op.type === 'invoke') {
      stats.invokes++;
      const prior = inFlight.get(op.process);
      if (prior !== undefined) throw malformed(pos, `process ${op.process} invoked ${op.f} while history[${prior.pos}] is in flight`);
      inFlight.set(op.process, { op, pos });
      return;
    }
    stats[op.type]++;
    const inv = inFlight.get(op.process);
    if (inv === undefined) stats.unpairedCompletions++;
    else {
      if (inv.op.f !== op.f) throw malformed(pos, `${op.f} completion for a ${inv.op.f} invocation (history[${inv.pos}])`);
      inFlight.delete(op.process);
    }
    completions.push(build(op, op.type, pos, inv?.op));
  });

  const leftovers = [...inFlight.values()].sort((a, b) => a.pos - b.pos);
  for (const { op, pos } of leftovers) {
    stats.unmatchedInvokes++;
    completions.push(build(op, 'info', pos, op));
  }
  return completions;
}

/** Everything the individual checks share. */
interface Analysis {
  completions: Completion[];
  writerOf: Map<string, Map<Value, Completion>>;
  /** key -> value -> the first ok completion that read it (and where). */
  okReads: Map<string, Map<Value, { reader: Completion; offset: number }>>;
  committed: (c: Completion) => boolean;
  logs: Map<string, KeyLog>;
}

function analyse(completions: Completion[]): Analysis {
  const writerOf = new Map<string, Map<Value, Completion>>();
  const okReads = new Map<string, Map<Value, { reader: Completion; offset: number }>>();
  for (const c of completions) {
    for (const s of c.sends) {
      let m = writerOf.get(s.key);
      if (m === undefined) writerOf.set(s.key, (m = new Map()));
      const prior = m.get(s.value);
      // Unique values are what let a read name its writer; a second writer means the workload broke that.
      if (prior !== undefined && prior !== c) {
        throw new Error(`value ${JSON.stringify(s.value)} sent to ${s.key} by both op ${prior.index} and op ${c.index}`);
      }
      m.set(s.value, c);
    }
    if (c.type !== 'ok') continue;
    for (const [key, reads] of c.reads) {
      let m = okReads.get(key);
      if (m === undefined) okReads.set(key, (m = new Map()));
      for (const r of reads) if (!m.has(r.value)) m.set(r.value, { reader: c, offset: r.offset });
    }
  }

  // An info operation proven committed (another reader saw one of its writes) did run: a transaction
  // that consumed, produced and committed, and was killed before it could report, still read what it
  // read. Its reads count like an ok operation's, or the records it consumed would look lost. Each
  // round may prove another info transaction (one that read what this one wrote), hence the loop.
  const infoReaders = completions.filter((c) => c.type === 'info' && c.reads.size > 0 && c.sends.length > 0);
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of infoReaders) {
      if (!c.sends.some((s) => okReads.get(s.key)?.has(s.value) === true)) continue;
      for (const [key, reads] of c.reads) {
        let m = okReads.get(key);
        if (m === undefined) okReads.set(key, (m = new Map()));
        for (const r of reads) {
          if (m.has(r.value)) continue;
          m.set(r.value, { reader: c, offset: r.offset });
          changed = true;
        }
      }
    }
  }

  const committedCache = new Map<number, boolean>();
  const committed = (c: Completion): boolean => {
    let v = committedCache.get(c.ord);
    if (v === undefined) {
      v = c.type === 'ok' || (c.type === 'info' && c.sends.some((s) => okReads.get(s.key)?.has(s.value) === true));
      committedCache.set(c.ord, v);
    }
    return v;
  };

  // offset claims per key: key -> offset -> value -> claiming op indexes
  const raw = new Map<string, Map<number, Map<Value, number[]>>>();
  const claim = (key: string, offset: number, value: Value, by: number): void => {
    let k = raw.get(key);
    if (k === undefined) raw.set(key, (k = new Map()));
    let o = k.get(offset);
    if (o === undefined) k.set(offset, (o = new Map()));
    const list = o.get(value);
    if (list === undefined) o.set(value, [by]);
    else if (list[list.length - 1] !== by) list.push(by);
  };
  for (const c of completions) {
    if (committed(c)) for (const s of c.sends) if (s.offset !== null) claim(s.key, s.offset, s.value, c.index);
    for (const reads of c.reads.values()) for (const r of reads) claim(r.key, r.offset, r.value, c.index);
  }

  const logs = new Map<string, KeyLog>();
  for (const [key, byOffset] of raw) {
    const offsets = [...byOffset.keys()].sort((a, b) => a - b);
    const log: KeyLog = {
      offsets,
      indexOf: new Map(),
      valuesAt: [],
      firstIndex: new Map(),
      lastIndex: new Map(),
      indexesOf: new Map(),
      claims: byOffset,
    };
    offsets.forEach((offset, i) => {
      log.indexOf.set(offset, i);
      const values = [...byOffset.get(offset)!.keys()].sort(compareValues);
      log.valuesAt.push(values);
      for (const v of values) {
        if (!log.firstIndex.has(v)) log.firstIndex.set(v, i);
        log.lastIndex.set(v, i);
        const at = log.indexesOf.get(v);
        if (at === undefined) log.indexesOf.set(v, [i]);
        else at.push(i);
      }
    });
    logs.set(key, log);
  }
  return { completions, writerOf, okReads, committed, logs };
}

function sortedKeys<T>(m: ReadonlyMap<string, T>): string[] {
  return [...m.keys()].sort(compareStrings);
}

/** Two values at one offset: the broker told different clients different things about one record. */
function inconsistentOffsets(a: Analysis): InconsistentOffset[] {
  const out: InconsistentOffset[] = [];
  for (const key of sortedKeys(a.logs)) {
    const log = a.logs.get(key)!;
    log.offsets.forEach((offset, i) => {
      const values = log.valuesAt[i]!;
      if (values.length < 2) return;
      const claims = log.claims.get(offset)!;
      const claimedBy = values.map((v) => [...new Set(claims.get(v) ?? [])].sort((x, y) => x - y).slice(0, DETAIL_LIMIT));
      out.push({ key, offset, values, claimedBy });
    });
  }
  return out;
}

/** One value at more than one offset: the log holds a record twice (e.g. a retried produce appended again). */
function duplicates(a: Analysis): Duplicate[] {
  const out: Duplicate[] = [];
  for (const key of sortedKeys(a.logs)) {
    const log = a.logs.get(key)!;
    const found: Duplicate[] = [];
    for (const [value, indexes] of log.indexesOf) {
      if (indexes.length > 1) found.push({ key, value, offsets: indexes.map((i) => log.offsets[i]!) });
    }
    out.push(...found.sort((x, y) => chain(x.offsets[0]! - y.offsets[0]!, compareValues(x.value, y.value))));
  }
  return out;
}

/**
 * Lost writes. Per key, the bound is the highest first-index among values ok operations read: whoever
 * read that record could only do so if every committed record before it existed. A value whose last
 * index is at or below the bound, that no ok operation read, and whose writer must have committed, is
 * lost. Using the value's *last* index keeps a duplicated value from being counted before the bound
 * when a later copy sits beyond it. Info writers proven by one read value make their unread siblings
 * count too, which is how a torn transaction shows up.
 */
function lostWrites(a: Analysis): LostWrite[] {
  const out: LostWrite[] = [];
  for (const key of sortedKeys(a.okReads)) {
    const read = a.okReads.get(key)!;
    const log = a.logs.get(key);
    if (log === undefined) continue;
    let bound = -1;
    let boundValue: Value | undefined;
    for (const v of read.keys()) {
      const fi = log.firstIndex.get(v);
      if (fi === undefined) continue;
      if (fi > bound || (fi === bound && boundValue !== undefined && compareValues(v, boundValue) < 0)) {
        bound = fi;
        boundValue = v;
      }
    }
    if (boundValue === undefined) continue;
    const boundDetail: Position & { reader: number } = {
      offset: log.offsets[bound]!,
      value: boundValue,
      reader: read.get(boundValue)!.reader.index,
    };
    for (let i = 0; i <= bound; i++) {
      for (const v of log.valuesAt[i]!) {
        if (log.lastIndex.get(v) !== i || read.has(v)) continue;
        const w = a.writerOf.get(key)?.get(v);
        if (w === undefined || w.type === 'fail' || !a.committed(w)) continue;
        out.push({ key, value: v, offset: log.offsets[i]!, writer: w.index, writerType: w.type, bound: boundDetail });
      }
    }
  }
  return out;
}

/**
 * Unseen: values whose writer must have committed, that no ok poll ever read, on keys whose final polls
 * reached the end of the log, excluding values already reported lost. With `finalOffsets` the workload
 * vouches that its catch-up consumers reached those end offsets, so every committed value of those keys
 * should have been read — including ones acknowledged at or past the end (the log was truncated under
 * them). Without it, a key counts as caught up when some ok poll read its highest known offset; that
 * mostly adds committed values whose offsets were never learned (e.g. the rest of an info transaction).
 */
function unseen(a: Analysis, lost: LostWrite[], opts: CheckOptions, stats: CheckStats): Unseen[] {
  const lostSet = new Set(lost.map((l) => kv(l.key, l.value)));
  const maxRead = new Map<string, number>();
  for (const [key, vs] of a.okReads) {
    let m = -1;
    for (const { offset } of vs.values()) m = Math.max(m, offset);
    maxRead.set(key, m);
  }
  const keysWithCommitted = sortedKeys(a.writerOf).filter((k) => [...a.writerOf.get(k)!.values()].some((w) => a.committed(w)));

  const checked = new Map<string, number>();
  const given = opts.finalOffsets;
  stats.unseenSource = given === undefined ? 'inferred' : 'given';
  if (given !== undefined) {
    for (const key of Object.keys(given).sort(compareStrings)) checked.set(key, given[key]!);
  } else {
    for (const key of keysWithCommitted) {
      const log = a.logs.get(key);
      const highest = log?.offsets[log.offsets.length - 1];
      const reached = maxRead.get(key);
      if (highest !== undefined && reached !== undefined && reached >= highest) checked.set(key, highest + 1);
    }
  }
  stats.unseenCheckedKeys = [...checked.keys()];
  stats.unseenSkippedKeys = keysWithCommitted.filter((k) => !checked.has(k));

  const out: Unseen[] = [];
  for (const [key, endOffset] of checked) {
    const writers = a.writerOf.get(key);
    if (writers === undefined) continue;
    const read = a.okReads.get(key);
    const found: Unseen[] = [];
    for (const [value, w] of writers) {
      if (w.type === 'fail' || !a.committed(w) || read?.has(value) === true) continue;
      if (lostSet.has(kv(key, value))) continue;
      const offset = w.sends.find((s) => s.key === key && s.value === value)?.offset ?? null;
      found.push({
        key,
        value,
        offset,
        writer: w.index,
        writerType: w.type,
        endOffset,
        endSource: stats.unseenSource,
        maxReadOffset: maxRead.get(key) ?? null,
      });
    }
    out.push(...found.sort((x, y) => chain((x.offset ?? Infinity) - (y.offset ?? Infinity), compareValues(x.value, y.value))));
  }
  return out;
}

/** G1a: an ok operation read a value whose writer failed, i.e. a record of an aborted transaction. */
function abortedReads(a: Analysis): AbortedRead[] {
  const out: AbortedRead[] = [];
  for (const c of a.completions) {
    if (c.type !== 'ok') continue;
    for (const reads of c.reads.values()) {
      for (const r of reads) {
        const w = a.writerOf.get(r.key)?.get(r.value);
        if (w?.type === 'fail') out.push({ key: r.key, value: r.value, offset: r.offset, reader: c.index, writer: w.index });
      }
    }
  }
  return out;
}

/** A value no operation ever sent: corruption, or a record from outside the workload. */
function garbageReads(a: Analysis): GarbageRead[] {
  const out: GarbageRead[] = [];
  for (const c of a.completions) {
    for (const reads of c.reads.values()) {
      for (const r of reads) {
        if (a.writerOf.get(r.key)?.has(r.value) !== true) {
          out.push({ key: r.key, value: r.value, offset: r.offset, reader: c.index, readerType: c.type });
        }
      }
    }
  }
  return out;
}

/**
 * An operation polled a value it sent itself. Kafka hides a transaction's records from every consumer,
 * its own included, until the commit, so this is a read of uncommitted data whatever the outcome.
 */
function ownWrites(a: Analysis): OwnWriteInTxn[] {
  const out: OwnWriteInTxn[] = [];
  for (const c of a.completions) {
    if (c.sends.length === 0 || c.reads.size === 0) continue;
    const sent = new Set(c.sends.map((s) => kv(s.key, s.value)));
    for (const reads of c.reads.values()) {
      for (const r of reads) {
        if (sent.has(kv(r.key, r.value))) out.push({ key: r.key, value: r.value, offset: r.offset, op: c.index });
      }
    }
  }
  return out;
}

interface Mark {
  index: number;
  offset: number;
  value: Value;
  op: number;
}

/**
 * Poll order, per process over its ok polls (and the polls inside ok transactions). For each key, the
 * first record an operation read is compared with the last one the process read before, and each
 * record with the one before it inside the operation: a dense-index step above 1 skipped a record, a
 * step below 1 went back (or repeated). Positions are the dense index of the offset actually read, so a
 * duplicated value is reported once, as a duplicate, rather than again as a backward poll.
 *
 * Tracking stops where the consumer's position legitimately changes or becomes unknown: an ok or info
 * assign/subscribe keeps only the keys still assigned (the client keeps positions of partitions it
 * retains); a crash forgets everything; an info poll forgets everything (it may have advanced the
 * position by records we never saw); and a key in an operation's `rebalanceKeys` is not compared at all
 * in that operation, neither with the previous operation nor inside it, since the rebalance may have
 * moved the position either way. A failed operation is taken not to have happened.
 */
function pollOrder(a: Analysis): { skips: PollSkip[]; backwards: BackwardPoll[] } {
  const skips: PollSkip[] = [];
  const backwards: BackwardPoll[] = [];
  const last = new Map<number, Map<string, Mark>>();

  const compare = (key: string, process: number, log: KeyLog, from: Mark, to: Mark): void => {
    const delta = to.index - from.index;
    if (delta === 1) return;
    const base = {
      key,
      process,
      ops: [from.op, to.op] as [number, number],
      from: { offset: from.offset, value: from.value },
      to: { offset: to.offset, value: to.value },
      delta,
    };
    if (delta > 1) {
      const skipped: PollSkip['skipped'] = [];
      for (let i = from.index + 1; i < to.index && skipped.length < DETAIL_LIMIT; i++) {
        skipped.push({ offset: log.offsets[i]!, values: log.valuesAt[i]! });
      }
      skips.push({ ...base, skipped, skippedCount: delta - 1 });
    } else {
      backwards.push(base);
    }
  };

  for (const c of a.completions) {
    const mine = pollPositions(last, c);
    if (mine === undefined) continue;
    if (c.type === 'info') {
      mine.clear();
      continue;
    }
    for (const k of c.rebalanceKeys) if (!c.reads.has(k)) mine.delete(k);
    for (const key of sortedKeys(c.reads)) {
      const reads = c.reads.get(key)!;
      const log = a.logs.get(key)!;
      const exempt = c.rebalanceKeys.has(key);
      let prev = exempt ? undefined : mine.get(key);
      let mark: Mark | undefined;
      for (const r of reads) {
        mark = { index: log.indexOf.get(r.offset)!, offset: r.offset, value: r.value, op: c.index };
        if (prev !== undefined) compare(key, c.process, log, prev, mark);
        prev = exempt ? undefined : mark;
      }
      if (mark !== undefined) mine.set(key, mark);
    }
  }
  return { skips, backwards };
}

/**
 * Send order, per process: each acknowledged send (an offset known, from a writer that must have
 * committed) must land after the previous one the process made to that key, within an operation and
 * across operations. A process issues an operation only after the previous one completed, so its
 * acknowledged records are ordered in real time and the log must agree. Nothing resets this: a new
 * client after a crash still writes after the old one's acknowledged records.
 */
function sendOrder(a: Analysis): NonMonotonicSend[] {
  const out: NonMonotonicSend[] = [];
  const last = new Map<number, Map<string, Mark>>();
  for (const c of a.completions) {
    if (c.sends.length === 0 || !a.committed(c)) continue;
    let mine = last.get(c.process);
    if (mine === undefined) last.set(c.process, (mine = new Map()));
    for (const s of c.sends) {
      if (s.offset === null) continue;
      const index = a.logs.get(s.key)!.indexOf.get(s.offset)!;
      const mark: Mark = { index, offset: s.offset, value: s.value, op: c.index };
      const prev = mine.get(s.key);
      if (prev !== undefined && mark.index - prev.index < 1) {
        out.push({
          key: s.key,
          process: c.process,
          ops: [prev.op, c.index],
          from: { offset: prev.offset, value: prev.value },
          to: { offset: mark.offset, value: mark.value },
          delta: mark.index - prev.index,
        });
      }
      mine.set(s.key, mark);
    }
  }
  return out;
}

interface EdgeLabel {
  key: string;
  value: Value;
  previous?: Value;
}

function cyclesOf(a: Analysis, g: Digraph<EdgeLabel>): Cycle[] {
  const name = (ord: number): number => a.completions[ord]!.index;
  return stronglyConnectedComponents(g).map((component) => {
    const steps: CycleStep[] = cycleThrough(g, component).map(([from, to]) => {
      const l = g.label(from, to)!;
      const step: CycleStep = { from: name(from), to: name(to), key: l.key, value: l.value };
      if (l.previous !== undefined) step.previous = l.previous;
      return step;
    });
    return { ops: component.map(name).sort((x, y) => x - y), steps };
  });
}

/**
 * G1c: T1 -> T2 when T2 read a value T1 sent, over operations that committed (writers that must have,
 * readers that are ok or proven). A strongly connected component of two or more such operations means
 * each saw the other's writes, impossible when writes become visible only at commit.
 */
function g1c(a: Analysis): Cycle[] {
  const g = new Digraph<EdgeLabel>();
  for (const e of offsetEdges(a)) g.addEdge(e.from.ord, e.to.ord, { key: e.key, value: e.value });
  for (const c of a.completions) {
    if (c.reads.size === 0 || !a.committed(c)) continue;
    for (const key of sortedKeys(c.reads)) {
      for (const r of c.reads.get(key)!) {
        const w = a.writerOf.get(key)?.get(r.value);
        if (w !== undefined && w.type !== 'fail' && a.committed(w)) g.addEdge(w.ord, c.ord, { key, value: r.value });
      }
    }
  }
  return cyclesOf(a, g);
}

/**
 * G0: T1 -> T2 when T2's value directly follows T1's in some key's order. Kafka does not isolate
 * writes, so such cycles are expected; they are reported (always allowed) because they show how
 * concurrent transactions interleaved, which helps read a G1c or a torn transaction next to them.
 */
function g0(a: Analysis): Cycle[] {
  const g = new Digraph<EdgeLabel>();
  for (const key of sortedKeys(a.logs)) {
    const log = a.logs.get(key)!;
    const writers = a.writerOf.get(key);
    if (writers === undefined) continue;
    for (let i = 1; i < log.valuesAt.length; i++) {
      for (const v2 of log.valuesAt[i]!) {
        const w2 = writers.get(v2);
        if (w2 === undefined || w2.type === 'fail' || !a.committed(w2)) continue;
        for (const v1 of log.valuesAt[i - 1]!) {
          const w1 = writers.get(v1);
          if (w1 !== undefined && w1.type !== 'fail' && a.committed(w1)) g.addEdge(w1.ord, w2.ord, { key, value: v2, previous: v1 });
        }
      }
    }
  }
  return cyclesOf(a, g);
}

/**
 * Exactly-once consumption, for consume-transform-produce transactions under group subscription.
 * Inputs are the records a transaction polls; its outputs are what it sends, committed atomically with
 * the consumed offsets. So each input (key, value) may be consumed by at most one committed transaction
 * (ok, or info proven by an ok read of one of its outputs) across all processes, taken as members of one
 * consumer group. Transactions of a process whose latest assign/subscribe was an assign are left out:
 * manually assigned consumers may re-read freely. Plain polls are left out: they commit offsets outside
 * any transaction, which gives at-least-once, not exactly-once. The same transaction reading a value
 * twice is a backward poll, not a second consumption.
 */
function exactlyOnce(a: Analysis, stats: CheckStats): ExactlyOnceViolation[] {
  const mode = new Map<number, 'assign' | 'subscribe'>();
  const consumed = new Map<string, Map<Value, Array<{ c: Completion; offset: number }>>>();
  for (const c of a.completions) {
    if ((c.f === 'assign' || c.f === 'subscribe') && c.type !== 'fail') mode.set(c.process, c.f);
    if (c.f !== 'txn' || c.type === 'fail' || !a.committed(c) || mode.get(c.process) === 'assign') continue;
    for (const [key, reads] of c.reads) {
      let m = consumed.get(key);
      if (m === undefined) consumed.set(key, (m = new Map()));
      for (const r of reads) {
        const list = m.get(r.value);
        if (list === undefined) m.set(r.value, [{ c, offset: r.offset }]);
        else if (list[list.length - 1]!.c !== c) list.push({ c, offset: r.offset });
      }
    }
  }
  const out: ExactlyOnceViolation[] = [];
  for (const key of sortedKeys(consumed)) {
    const byValue = consumed.get(key)!;
    stats.consumedInputs += byValue.size;
    const found: ExactlyOnceViolation[] = [];
    for (const [value, list] of byValue) {
      if (list.length < 2) continue;
      found.push({
        key,
        value,
        consumers: list
          .map(({ c, offset }) => ({
            op: c.index,
            process: c.process,
            offset,
            sent: c.sends.map((s): [string, Value] => [s.key, s.value]),
          }))
          .sort((x, y) => x.op - y.op),
      });
    }
    out.push(...found.sort((x, y) => compareValues(x.value, y.value)));
  }
  return out;
}

const byKeyOffsetValue = (x: { key: string; offset: number; value: Value }, y: { key: string; offset: number; value: Value }): number =>
  chain(compareStrings(x.key, y.key), x.offset - y.offset, compareValues(x.value, y.value));

const byOrderDetail = (x: { key: string; process: number; ops: [number, number]; to: Position }, y: typeof x): number =>
  chain(compareStrings(x.key, y.key), x.process - y.process, x.ops[1] - y.ops[1], x.to.offset - y.to.offset, x.ops[0] - y.ops[0]);

/**
 * Checks a history of the Kafka queue workload. Never throws for a broker misbehaving (that is what the
 * anomalies report); throws only for a malformed history, which is a workload bug.
 */
export function checkHistory(history: readonly Op[], opts: CheckOptions = {}): CheckResult {
  const stats: CheckStats = {
    ops: history.length,
    invokes: 0,
    ok: 0,
    info: 0,
    fail: 0,
    unmatchedInvokes: 0,
    unpairedCompletions: 0,
    keys: 0,
    sentValues: 0,
    committedValues: 0,
    readValues: 0,
    infoCommitted: 0,
    transactions: 0,
    unseenSource: 'inferred',
    unseenCheckedKeys: [],
    unseenSkippedKeys: [],
    consumedInputs: 0,
    offsetCommits: 0,
    passedRecords: 0,
  };
  const completions = pairOperations(history, stats);
  const a = analyse(completions);

  const keys = new Set<string>([...a.writerOf.keys(), ...a.logs.keys()]);
  for (const c of completions) for (const k of c.reads.keys()) keys.add(k);
  stats.keys = keys.size;
  for (const [, writers] of a.writerOf) {
    stats.sentValues += writers.size;
    for (const w of writers.values()) if (a.committed(w)) stats.committedValues++;
  }
  for (const vs of a.okReads.values()) stats.readValues += vs.size;
  for (const c of completions) {
    if (c.type === 'info' && c.sends.length > 0 && a.committed(c)) stats.infoCommitted++;
    if (c.f === 'txn') stats.transactions++;
  }

  const lost = lostWrites(a);
  const txn = opts.transactional === true ? intermediateAndLaterAbortedReads(a) : { intermediate: [], laterAborted: [], passedRecords: 0 };
  const offsetsChain = opts.transactional === true ? offsetChain(a) : { breaks: [], commits: 0 };
  stats.passedRecords = txn.passedRecords;
  stats.offsetCommits = offsetsChain.commits;
  const order = pollOrder(a);
  const found: { [K in AnomalyName]: Array<AnomalyDetails[K]> } = {
    'inconsistent-offsets': inconsistentOffsets(a),
    duplicate: duplicates(a),
    'lost-write': lost,
    unseen: unseen(a, lost, opts, stats),
    'aborted-read': abortedReads(a).sort((x, y) => chain(byKeyOffsetValue(x, y), x.reader - y.reader)),
    'own-write-in-txn': ownWrites(a).sort((x, y) => chain(byKeyOffsetValue(x, y), x.op - y.op)),
    'garbage-read': garbageReads(a).sort((x, y) => chain(byKeyOffsetValue(x, y), x.reader - y.reader)),
    'poll-skip': order.skips.sort(byOrderDetail),
    'backward-poll': order.backwards.sort(byOrderDetail),
    'non-monotonic-send': sendOrder(a).sort(byOrderDetail),
    G0: g0(a),
    G1c: g1c(a),
    'exactly-once': opts.exactlyOnce === true ? exactlyOnce(a, stats) : [],
    'later-aborted-read': txn.laterAborted.sort((x, y) => chain(byKeyOffsetValue(x, y), x.reader - y.reader)),
    'intermediate-read': txn.intermediate.sort((x, y) => chain(x.writer - y.writer, x.process - y.process)),
    'offset-chain': offsetsChain.breaks,
  };

  const allowed = new Set<AnomalyName>(['G0', ...(opts.allowed ?? [])]);
  if (opts.subscription === true) {
    allowed.add('poll-skip');
    allowed.add('backward-poll');
  }
  const anomalies: Anomalies = {};
  const put = <K extends AnomalyName>(name: K): void => {
    const list = found[name];
    if (list.length > 0) (anomalies as { [P in K]?: Array<AnomalyDetails[P]> })[name] = list;
  };
  for (const name of ANOMALY_NAMES) put(name);
  const anomalyTypes = ANOMALY_NAMES.filter((n) => found[n].length > 0);
  const badAnomalyTypes = anomalyTypes.filter((n) => !allowed.has(n));
  return { valid: badAnomalyTypes.length === 0, anomalies, anomalyTypes, badAnomalyTypes, stats };
}

/**
 * A short human-readable report: the verdict, then each anomaly with its first few details as JSON.
 * Meant for assertion messages in torture tests, where the full result may be megabytes.
 */
export function formatCheckResult(result: CheckResult, limit = 5): string {
  const lines = [
    `valid: ${result.valid}` + (result.badAnomalyTypes.length > 0 ? ` (bad: ${result.badAnomalyTypes.join(', ')})` : ''),
  ];
  for (const name of result.anomalyTypes) {
    const list: readonly unknown[] = result.anomalies[name] ?? [];
    const allowed = result.badAnomalyTypes.includes(name) ? '' : ' (allowed)';
    lines.push(`${name}${allowed}: ${list.length}`);
    for (const d of list.slice(0, limit)) lines.push(`  ${JSON.stringify(d)}`);
    if (list.length > limit) lines.push(`  ... ${list.length - limit} more`);
  }
  const s = result.stats;
  lines.push(
    `stats: ${s.ok} ok, ${s.info} info, ${s.fail} fail, ${s.keys} keys, ${s.committedValues}/${s.sentValues} values committed, ` +
      `${s.readValues} read, unseen ${s.unseenSource} over [${s.unseenCheckedKeys.join(', ')}]`,
  );
  return lines.join('\n');
}
