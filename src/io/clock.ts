/**
 * Time, injected. Everything outside src/io asks a Clock instead of calling Date.now()/setTimeout, so
 * tests can drive segment.ms rolls and flush.ms timers deterministically.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. Periodic work re-arms itself from inside `fn`. */
  setTimer(ms: number, fn: () => void, keepAlive?: boolean): TimerHandle;
}

/** setTimeout's delay is a signed 32-bit int; anything larger fires immediately, so clamp. */
export const MAX_TIMER_MS = 0x7fffffff;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn, keepAlive = false) {
    if (ms <= 0) {
      // "After this turn": setImmediate runs right after the current poll phase. setTimeout(fn, 0)
      // waits at least 1 ms in Node, which made every acks=1 produce on the disk engine (its queued
      // write runs on a zero-delay timer) take over a millisecond, even on an idle broker.
      const immediate = setImmediate(fn);
      if (!keepAlive) immediate.unref();
      return { cancel: () => clearImmediate(immediate) };
    }
    const timer = setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
    // Background timers (flush.ms, checkpoints) must not keep a finished process alive; whatever
    // owns the timer keeps the process alive by other means (a listening socket, a pending test).
    // A client waiting out a backoff is different: that wait is the program's work (keepAlive).
    if (!keepAlive) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
