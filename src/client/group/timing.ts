import type { Clock, TimerHandle } from '../../io/clock.js';

export const TIMED_OUT: unique symbol = Symbol('timed out');

/** `p`, or TIMED_OUT once the clock passes `deadline`; `p` itself goes on either way. */
export async function within<T>(clock: Clock, p: Promise<T>, deadline: number): Promise<T | typeof TIMED_OUT> {
  let timer: TimerHandle | null = null;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = clock.setTimer(Math.max(0, deadline - clock.now()), () => resolve(TIMED_OUT));
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    (timer as TimerHandle | null)?.cancel();
  }
}

/** Backoff sleeps that close() can cut short, so a closing consumer leaves no timer behind. */
export class Sleeper {
  private readonly pending = new Set<{ timer: TimerHandle; resolve: () => void }>();

  constructor(private readonly clock: Clock) {}

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: this.clock.setTimer(ms, () => {
          this.pending.delete(entry);
          resolve();
        }),
        resolve,
      };
      this.pending.add(entry);
    });
  }

  wakeAll(): void {
    for (const e of this.pending) {
      e.timer.cancel();
      e.resolve();
    }
    this.pending.clear();
  }
}

/** Exponential backoff between retries: doubling from `base` up to `max`. */
export function nextBackoff(prev: number, base: number, max: number): number {
  return Math.min(Math.max(base, prev * 2), Math.max(base, max));
}
