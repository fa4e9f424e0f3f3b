import type { Clock } from '../io/clock.js';

/** At most this many parked fetches at once; beyond it a fetch answers at once with what it has. */
export const PARKED_FETCHES_MAX = 10_000;

interface Waiter {
  readonly keys: readonly string[];
  resolve(): void;
}

/**
 * Fetch long-polling (Kafka's delayed-fetch purgatory, simplified): a fetch that has fewer than
 * min_bytes parks here until an append touches one of its partitions or max_wait_ms passes.
 */
export class PartitionWaiters {
  private readonly byKey = new Map<string, Set<Waiter>>();
  private parked = 0;

  constructor(private readonly clock: Clock) {}

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** Resolves on data for any key, after timeoutMs, or at once when too many fetches are parked. */
  wait(keys: readonly string[], timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0 || keys.length === 0 || this.parked >= PARKED_FETCHES_MAX) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let done = false;
      const waiter: Waiter = {
        keys,
        resolve: () => {
          if (done) return;
          done = true;
          timer.cancel();
          this.remove(waiter);
          resolve();
        },
      };
      const timer = this.clock.setTimer(timeoutMs, () => waiter.resolve());
      this.parked++;
      for (const k of keys) {
        let set = this.byKey.get(k);
        if (set === undefined) this.byKey.set(k, (set = new Set()));
        set.add(waiter);
      }
    });
  }

  notify(key: string): void {
    const set = this.byKey.get(key);
    if (set === undefined) return;
    for (const w of [...set]) w.resolve();
  }

  /** Wake everyone (shutdown). */
  wakeAll(): void {
    for (const set of [...this.byKey.values()]) for (const w of [...set]) w.resolve();
  }

  private remove(w: Waiter): void {
    this.parked--;
    for (const k of w.keys) {
      const set = this.byKey.get(k);
      if (set === undefined) continue;
      set.delete(w);
      if (set.size === 0) this.byKey.delete(k);
    }
  }
}
