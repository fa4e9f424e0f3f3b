import type { Clock, TimerHandle } from '../io/clock.js';

/**
 * One timer at a pure coordinator's next deadline. `schedule(next)` arms it for `next` unless it is
 * already armed as early; when it fires, `onDue` runs (the caller ticks the coordinator and calls
 * schedule again with the new deadline). Shared by the group and transaction runtimes.
 */
export class DeadlineTimer {
  private timer: TimerHandle | null = null;
  private timerAt: number | null = null;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
  ) {}

  schedule(next: number | null): void {
    if (this.closed || next === null) return;
    if (this.timerAt !== null && this.timerAt <= next) return;
    this.timer?.cancel();
    this.timerAt = next;
    this.timer = this.clock.setTimer(Math.max(0, next - this.clock.now()), () => {
      this.timer = null;
      this.timerAt = null;
      this.onDue();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
  }
}
