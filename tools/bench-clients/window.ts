/**
 * Measurement windows of the load child. Each edge is announced on stdout as a JSON line, so the
 * orchestrator can sample the broker child's CPU time at the same moments.
 */
import { performance } from 'node:perf_hooks';

/** Now, on the clock of V8's CPU profiles (microseconds). */
export function hrMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function announce(event: 'window-start' | 'window-end'): number {
  const us = hrMicros();
  process.stdout.write(`${JSON.stringify({ event, us })}\n`);
  return us;
}

/**
 * A fixed-time window after a warm-up. `count(n)` books n records acknowledged now: only those that
 * land inside the window count. The edges fire from timers, or from the first count that notices an
 * edge has passed (a timer can lose the race against a burst of acknowledgements).
 */
export class TimedWindow {
  readonly start: number;
  readonly end: number;
  records = 0;
  private opened = false;
  private closed = false;
  private cpuAtStart = process.cpuUsage();
  clientCpu = Number.NaN;
  /** The window's edges in hrMicros(). */
  readonly windowUs: [number, number] = [Number.NaN, Number.NaN];
  private readonly timers: NodeJS.Timeout[];

  constructor(warmupSeconds: number, readonly seconds: number) {
    const now = performance.now();
    this.start = now + warmupSeconds * 1000;
    this.end = this.start + seconds * 1000;
    this.timers = [setTimeout(() => this.open(), this.start - now), setTimeout(() => this.close(), this.end - now)];
  }

  get over(): boolean {
    return performance.now() >= this.end;
  }

  count(n: number): void {
    const now = performance.now();
    if (now < this.start) return;
    if (now < this.end) {
      this.open();
      this.records += n;
    } else {
      this.close();
    }
  }

  private open(): void {
    if (this.opened) return;
    this.opened = true;
    this.cpuAtStart = process.cpuUsage();
    this.windowUs[0] = announce('window-start');
  }

  /** Idempotent; also opens the window if nothing did (so both events are always sent, in order). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.open();
    const used = process.cpuUsage(this.cpuAtStart);
    this.clientCpu = (used.user + used.system) / 1e6 / this.seconds;
    for (const t of this.timers) clearTimeout(t);
    this.windowUs[1] = announce('window-end');
  }
}

/**
 * A window from the first record delivered to the last: consumption is a fixed record count, and
 * connecting or joining a group happens before it opens. The first delivery opens the window and is
 * not counted (its fetch happened before the window); the rate is (total − first) / (last − first).
 */
export class CountWindow {
  private readonly created = performance.now();
  private firstAt = Number.NaN;
  private lastAt = Number.NaN;
  private firstCount = 0;
  private firstBytes = 0;
  private cpuAtStart = process.cpuUsage();
  private cpuInWindow = Number.NaN;
  total = 0;
  bytes = 0;
  readonly windowUs: [number, number] = [Number.NaN, Number.NaN];

  constructor(readonly expected: number) {}

  /** n records of `bytes` value bytes were handed to the application. Returns true once all arrived; later calls are ignored. */
  deliver(n: number, bytes: number): boolean {
    if (n === 0 || this.total >= this.expected) return this.total >= this.expected;
    if (this.total === 0) {
      this.firstAt = performance.now();
      this.firstCount = n;
      this.firstBytes = bytes;
      this.cpuAtStart = process.cpuUsage();
      this.windowUs[0] = announce('window-start');
    }
    this.total += n;
    this.bytes += bytes;
    if (this.total >= this.expected && Number.isNaN(this.lastAt)) {
      this.lastAt = performance.now();
      const used = process.cpuUsage(this.cpuAtStart);
      this.cpuInWindow = (used.user + used.system) / 1000 / Math.max(1e-9, this.lastAt - this.firstAt);
      this.windowUs[1] = announce('window-end');
    }
    return this.total >= this.expected;
  }

  get done(): boolean {
    return this.total >= this.expected;
  }

  result(): { records: number; bytes: number; seconds: number; firstRecordMs: number; clientCpu: number } {
    return {
      records: this.total - this.firstCount,
      bytes: this.bytes - this.firstBytes,
      seconds: (this.lastAt - this.firstAt) / 1000,
      firstRecordMs: this.firstAt - this.created,
      clientCpu: this.cpuInWindow,
    };
  }
}
