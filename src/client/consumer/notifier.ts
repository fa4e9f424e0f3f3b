import type { Clock } from '../../io/clock.js';

/**
 * Wakes the one waiting poll (polls never overlap, so one waiter is the bound) when fetched data,
 * an error or close arrives. The version closes the gap between "looked and found nothing" and
 * "started waiting": a notify in between makes the wait return at once.
 */
export class Notifier {
  private version = 0;
  private waiter: (() => void) | null = null;

  constructor(private readonly clock: Clock) {}

  get current(): number {
    return this.version;
  }

  notify(): void {
    this.version++;
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Resolve on the next notify after `since`, or after `ms` (Infinity: no timer). */
  wait(since: number, ms: number): Promise<void> {
    if (this.version !== since || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        timer?.cancel();
        if (this.waiter === done) this.waiter = null;
        resolve();
      };
      const timer = Number.isFinite(ms) ? this.clock.setTimer(ms, done) : null;
      this.waiter?.();
      this.waiter = done;
    });
  }
}
