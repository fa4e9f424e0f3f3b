/**
 * The checks that need transactions read with read_committed (`CheckOptions.transactional`):
 *
 * - Read-past evidence. A read_committed reader that reads offset a and then offset b > a + 1 on a key
 *   has been shown nothing in between: every record there is, for that reader, aborted (or a marker).
 *   Each process's continuous reads give such gaps; continuity ends where the position may have moved
 *   unseen (as in the poll-order check: crash, assign/subscribe, an info poll, a rebalance).
 * - Intermediate reads (G1b-like): one process saw some records of a transaction and read past others.
 * - Later-aborted reads: a record of a transaction of unknown outcome (info) was returned by a poll,
 *   and some process read past that transaction's records without seeing any: it aborted, so the read
 *   was of uncommitted data (or the other reader lost a committed transaction).
 * - The consumer-offset chain of `offsets` micro-operations, and its dependency edges for G1c.
 *
 * All linear in the history plus the records read past.
 */
import type { Completion, OffsetCommit } from './completion.js';
import type { IntermediateRead, LaterAbortedRead, OffsetChainBreak, PassedOver, Value } from './types.js';

/** What these checks need of the checker's analysis. */
export interface TxnAnalysis {
  completions: Completion[];
  writerOf: Map<string, Map<Value, Completion>>;
  committed: (c: Completion) => boolean;
}

const DETAIL_LIMIT = 8;

function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** process -> key -> offset -> the step that passed over it (the first one, in history order). */
type Passed = Map<number, Map<string, Map<number, PassedOver>>>;

/**
 * Known record offsets per key, ascending: from sends whose offset the writer learned (whatever the
 * outcome: an aborted transaction's records occupy offsets too) and from reads.
 */
function knownOffsets(a: TxnAnalysis): Map<string, number[]> {
  const sets = new Map<string, Set<number>>();
  const add = (key: string, offset: number): void => {
    let s = sets.get(key);
    if (s === undefined) sets.set(key, (s = new Set()));
    s.add(offset);
  };
  for (const c of a.completions) {
    for (const s of c.sends) if (s.offset !== null) add(s.key, s.offset);
    for (const reads of c.reads.values()) for (const r of reads) add(r.key, r.offset);
  }
  const out = new Map<string, number[]>();
  for (const [k, s] of sets) out.set(k, [...s].sort((x, y) => x - y));
  return out;
}

/**
 * The last read positions per key of `c`'s process (`last` holds one map per process), for a poll to
 * check against: first applies what a crash (forget every position) or a successful assign/subscribe
 * (forget the keys no longer owned) does to them. Undefined when `c` is not a poll to check (not a
 * poll, or a failed one).
 */
export function pollPositions<T>(last: Map<number, Map<string, T>>, c: Completion): Map<string, T> | undefined {
  let mine = last.get(c.process);
  if (mine === undefined) last.set(c.process, (mine = new Map()));
  if (c.f === 'crash') {
    mine.clear();
    return undefined;
  }
  if (c.f === 'assign' || c.f === 'subscribe') {
    if (c.type === 'fail') return undefined;
    const keep = new Set(c.keys);
    for (const k of [...mine.keys()]) if (!keep.has(k)) mine.delete(k);
    return undefined;
  }
  if (!c.polls || c.type === 'fail') return undefined;
  return mine;
}

function passedOver(a: TxnAnalysis, known: Map<string, number[]>): { passed: Passed; count: number } {
  const passed: Passed = new Map();
  let count = 0;
  const last = new Map<number, Map<string, number>>();
  const step = (process: number, key: string, from: number, to: number, op: number): void => {
    if (to - from <= 1) return;
    const offsets = known.get(key) ?? [];
    for (let i = lowerBound(offsets, from + 1); i < offsets.length && offsets[i]! < to; i++) {
      let byKey = passed.get(process);
      if (byKey === undefined) passed.set(process, (byKey = new Map()));
      let m = byKey.get(key);
      if (m === undefined) byKey.set(key, (m = new Map()));
      if (!m.has(offsets[i]!)) {
        m.set(offsets[i]!, { process, op, from, to });
        count++;
      }
    }
  };
  for (const c of a.completions) {
    const mine = pollPositions(last, c);
    if (mine === undefined) continue;
    for (const k of c.rebalanceKeys) if (!c.reads.has(k)) mine.delete(k);
    for (const [key, reads] of c.reads) {
      const exempt = c.rebalanceKeys.has(key);
      let prev = exempt ? undefined : mine.get(key);
      for (const r of reads) {
        if (prev !== undefined) step(c.process, key, prev, r.offset, c.index);
        prev = exempt ? undefined : r.offset;
      }
      const lastRead = reads[reads.length - 1];
      if (lastRead !== undefined) mine.set(key, lastRead.offset);
    }
    // An info poll may have moved the position by records it never reported.
    if (c.type === 'info') mine.clear();
  }
  return { passed, count };
}

interface Reader {
  c: Completion;
  offset: number;
}

export function intermediateAndLaterAbortedReads(a: TxnAnalysis): {
  intermediate: IntermediateRead[];
  laterAborted: LaterAbortedRead[];
  passedRecords: number;
} {
  const known = knownOffsets(a);
  const { passed, count } = passedOver(a, known);

  // key -> value -> every read of it, in history order.
  const readsOf = new Map<string, Map<Value, Reader[]>>();
  for (const c of a.completions) {
    for (const [key, reads] of c.reads) {
      let m = readsOf.get(key);
      if (m === undefined) readsOf.set(key, (m = new Map()));
      for (const r of reads) {
        const list = m.get(r.value);
        if (list === undefined) m.set(r.value, [{ c, offset: r.offset }]);
        else list.push({ c, offset: r.offset });
      }
    }
  }

  const intermediate: IntermediateRead[] = [];
  const laterAborted: LaterAbortedRead[] = [];
  for (const w of a.completions) {
    if (w.sends.length === 0) continue;
    // The transaction's records, where their offsets are known.
    const records: Array<{ key: string; offset: number; value: Value; readers: Reader[] }> = [];
    for (const s of w.sends) {
      const readers = readsOf.get(s.key)?.get(s.value) ?? [];
      const offset = s.offset ?? readers[0]?.offset;
      if (offset !== undefined) records.push({ key: s.key, offset, value: s.value, readers });
    }
    const seenBy = new Map<number, typeof records>();
    const passedBy = new Map<number, Array<(typeof records)[number] & { by: PassedOver }>>();
    for (const rec of records) {
      const readerProcesses = new Set<number>();
      for (const r of rec.readers) {
        readerProcesses.add(r.c.process);
        const list = seenBy.get(r.c.process);
        if (list === undefined) seenBy.set(r.c.process, [rec]);
        else if (list[list.length - 1] !== rec) list.push(rec);
      }
      for (const [process, byKey] of passed) {
        const by = byKey.get(rec.key)?.get(rec.offset);
        if (by === undefined || readerProcesses.has(process)) continue;
        const list = passedBy.get(process);
        if (list === undefined) passedBy.set(process, [{ ...rec, by }]);
        else list.push({ ...rec, by });
      }
    }
    const strip = (r: { key: string; offset: number; value: Value }): { key: string; offset: number; value: Value } => ({
      key: r.key,
      offset: r.offset,
      value: r.value,
    });
    for (const process of [...passedBy.keys()].sort((x, y) => x - y)) {
      const p = passedBy.get(process)!;
      const s = seenBy.get(process);
      if (s !== undefined) {
        intermediate.push({
          writer: w.index,
          writerType: w.type,
          process,
          seen: s.slice(0, DETAIL_LIMIT).map(strip),
          passed: p.slice(0, DETAIL_LIMIT).map((r) => ({ ...strip(r), by: r.by })),
        });
      }
    }
    if (w.type !== 'info') continue;
    // The first process that read past the transaction and saw none of it is the witness of its abort.
    const witness = [...passedBy.entries()].filter(([process]) => !seenBy.has(process)).sort((x, y) => x[0] - y[0])[0];
    if (witness === undefined) continue;
    const first = witness[1][0]!;
    for (const rec of records) {
      for (const r of rec.readers) {
        laterAborted.push({
          key: rec.key,
          value: rec.value,
          offset: r.offset,
          reader: r.c.index,
          readerType: r.c.type,
          writer: w.index,
          passedBy: { ...first.by, key: first.key, offset: first.offset, value: first.value },
        });
      }
    }
  }
  return { intermediate, laterAborted, passedRecords: count };
}

/** Committed transactions' offset commits per (group, key), in history order. */
function committedOffsetCommits(a: TxnAnalysis): Map<string, Array<{ c: Completion; o: OffsetCommit }>> {
  const out = new Map<string, Array<{ c: Completion; o: OffsetCommit }>>();
  for (const c of a.completions) {
    if (c.offsets.length === 0 || c.type === 'fail' || !a.committed(c)) continue;
    for (const o of c.offsets) {
      const id = `${o.group}\u0000${o.key}`;
      const list = out.get(id);
      if (list === undefined) out.set(id, [{ c, o }]);
      else list.push({ c, o });
    }
  }
  return out;
}

/**
 * The chain of committed consumer positions: sorted by where they resumed, each committed transaction
 * must resume exactly where the previous one committed. Transactions that do not know where they
 * resumed (`from` null) still end a link: the next must resume at their `to`.
 */
export function offsetChain(a: TxnAnalysis): { breaks: OffsetChainBreak[]; commits: number } {
  const breaks: OffsetChainBreak[] = [];
  let commits = 0;
  const byId = committedOffsetCommits(a);
  for (const id of [...byId.keys()].sort()) {
    const list = byId.get(id)!;
    commits += list.length;
    const sorted = [...list].sort((x, y) => (x.o.from ?? x.o.to) - (y.o.from ?? y.o.to) || x.o.to - y.o.to || x.c.ord - y.c.ord);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const next = sorted[i]!;
      if (next.o.from === null || next.o.from === prev.o.to) continue;
      breaks.push({
        group: next.o.group,
        key: next.o.key,
        kind: next.o.from > prev.o.to ? 'gap' : 'overlap',
        prev: { op: prev.c.index, from: prev.o.from, to: prev.o.to },
        next: { op: next.c.index, from: next.o.from, to: next.o.to },
      });
    }
  }
  return { breaks, commits };
}

/** G1c edges through consumer offsets: T -> T' when committed T' resumed from the position committed T committed. */
export function offsetEdges(a: TxnAnalysis): Array<{ from: Completion; to: Completion; key: string; value: number }> {
  const edges: Array<{ from: Completion; to: Completion; key: string; value: number }> = [];
  for (const list of committedOffsetCommits(a).values()) {
    const writersAt = new Map<number, Completion[]>();
    for (const { c, o } of list) {
      const w = writersAt.get(o.to);
      if (w === undefined) writersAt.set(o.to, [c]);
      else w.push(c);
    }
    for (const { c, o } of list) {
      if (o.from === null) continue;
      for (const w of writersAt.get(o.from) ?? []) edges.push({ from: w, to: c, key: `${o.group}/${o.key}`, value: o.from });
    }
  }
  return edges;
}
