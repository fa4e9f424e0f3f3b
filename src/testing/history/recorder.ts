import type { Op, OpF, OpType, Mop, Value } from './types.js';

/** Hands out operation indexes. Injected so several recorders (one per client) can share one sequence. */
export interface IndexCounter {
  next(): number;
}

/** A counter starting at `start`. History order is whatever order operations are recorded in, so no clock is needed. */
export function createIndexCounter(start = 0): IndexCounter {
  let n = start;
  return { next: () => n++ };
}

export interface CompletionExtras {
  rebalanceKeys?: readonly string[];
}

/**
 * Records invoke/complete pairs for a workload. It enforces what the checker's pairing assumes: a process
 * has at most one operation in flight, and a completion names the same function as its invocation.
 */
export class HistoryRecorder {
  private readonly ops: Op[] = [];
  private readonly inFlight = new Map<number, Op>();

  constructor(private readonly counter: IndexCounter = createIndexCounter()) {}

  invoke(process: number, f: OpF, value: Op['value'] = []): Op {
    const prior = this.inFlight.get(process);
    if (prior !== undefined) {
      throw new Error(`process ${process} invoked ${f} while ${prior.f} (op ${String(prior.index)}) is still in flight`);
    }
    const op: Op = { process, type: 'invoke', f, value, index: this.counter.next() };
    this.inFlight.set(process, op);
    this.ops.push(op);
    return op;
  }

  /** Completes the process's operation; without a value it repeats the invocation's (what a fail or info usually knows). */
  complete(process: number, type: Exclude<OpType, 'invoke'>, value?: Op['value'], extras: CompletionExtras = {}): Op {
    const inv = this.inFlight.get(process);
    if (inv === undefined) throw new Error(`process ${process} completed (${type}) with nothing in flight`);
    this.inFlight.delete(process);
    const op: Op = { process, type, f: inv.f, value: value ?? inv.value, index: this.counter.next() };
    if (extras.rebalanceKeys !== undefined && extras.rebalanceKeys.length > 0) op.rebalanceKeys = [...extras.rebalanceKeys];
    this.ops.push(op);
    return op;
  }

  ok(process: number, value?: Op['value'], extras?: CompletionExtras): Op {
    return this.complete(process, 'ok', value, extras);
  }

  info(process: number, value?: Op['value'], extras?: CompletionExtras): Op {
    return this.complete(process, 'info', value, extras);
  }

  fail(process: number, value?: Op['value'], extras?: CompletionExtras): Op {
    return this.complete(process, 'fail', value, extras);
  }

  /** The operation a process has in flight, if any. */
  pending(process: number): Op | undefined {
    return this.inFlight.get(process);
  }

  /** Ends the run: everything still in flight completes as info (its outcome is unknown). */
  closeAll(): void {
    for (const p of [...this.inFlight.keys()].sort((a, b) => a - b)) this.info(p);
  }

  /** A copy of what was recorded, in recording order. */
  history(): Op[] {
    return [...this.ops];
  }
}

/** Interleaves histories of recorders that shared a counter back into one history, by index. */
export function mergeHistories(...histories: ReadonlyArray<readonly Op[]>): Op[] {
  return histories.flat().sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
}

/** Shorthand constructors for micro-operations, so workloads and tests read like the history format. */
export const mop = {
  send(key: string, value: Value, offset: number | null = null): Mop {
    return ['send', key, [offset, value]];
  },
  poll(reads: Readonly<Record<string, ReadonlyArray<readonly [number, Value]>>> = {}): Mop {
    return ['poll', reads];
  },
  /** Consumer offsets a transaction commits for `group`: per input key, [resumed from, committed]. */
  offsets(group: string, positions: Readonly<Record<string, readonly [number | null, number]>>): Mop {
    return ['offsets', group, positions];
  },
};
