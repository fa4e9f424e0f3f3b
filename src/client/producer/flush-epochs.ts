import type { SettleCounter } from './pending-record.js';

/**
 * flush() waits for the records sent before it, not for later ones. Sends are counted per flush
 * epoch: a counter for the current epoch (the hot path is one increment per send and one decrement
 * per outcome, no Map, no promise per record), and a count per earlier epoch that flush() waits on.
 * Bounded: at most one entry per flush() still waiting.
 */
export class FlushEpochs implements SettleCounter {
  private epoch = 0;
  /** Records of the current epoch without an outcome yet. */
  private current = 0;
  /** Earlier epochs with records still without an outcome. */
  private readonly older = new Map<number, number>();
  private readonly waiters: Array<{ upTo: number; resolve: () => void }> = [];

  /** Count a record being sent; returns its epoch, to hand back to `settled`. */
  add(): number {
    this.current++;
    return this.epoch;
  }

  settled(epoch: number, count: number): void {
    if (epoch === this.epoch) {
      this.current -= count;
      return;
    }
    const left = (this.older.get(epoch) ?? count) - count;
    if (left > 0) {
      this.older.set(epoch, left);
      return;
    }
    this.older.delete(epoch);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (!this.anyUpTo(w.upTo)) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /**
   * Start a new epoch: the promise resolves once every record counted so far has its outcome. Null
   * when there is none outstanding (nothing to wait for).
   */
  mark(): Promise<void> | null {
    const upTo = this.epoch;
    if (this.current === 0 && !this.anyUpTo(upTo)) return null;
    if (this.current > 0) this.older.set(upTo, this.current);
    this.current = 0;
    this.epoch++;
    return new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }));
  }

  private anyUpTo(upTo: number): boolean {
    for (const e of this.older.keys()) if (e <= upTo) return true;
    return false;
  }
}
