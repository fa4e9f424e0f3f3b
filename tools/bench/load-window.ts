/**
 * The measurement window the load generators (produce, spread produce, fetch, latency) share, and the
 * run around it: a window after a warm-up whose edges are fixed times, opened and closed once each
 * from a timer or from the first response that notices the edge has passed (a timer can lose the race
 * against the last response). Opening and closing run the caller's hooks (e.g. to sample the broker's
 * CPU time) and account the generator's own CPU time in between. A watchdog fails the run when nothing
 * progresses for STALL_MS; any failure destroys the run's sockets and rejects the run.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** A real failure (error code, wrong correlation id, dropped connection, stall): the suite exits non-zero. */
export class BenchFailure extends Error {}

/** No response for this long means the broker is stuck: a real failure. */
export const STALL_MS = 30_000;

/** What every load generator is told. */
export interface LoadOptions {
  port: number;
  topic: string;
  warmupSeconds: number;
  seconds: number;
  /** Called when the measurement window opens and closes (e.g. to sample the broker's CPU time). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export class LoadWindow {
  /** The load generator's own CPU use inside the window, in cores (NaN until the window closed). */
  clientCpu = Number.NaN;
  /** The run was settled (done or failed); later events are ignored. */
  finished = false;
  private opened = false;
  private closed = false;
  private cpuAtStart = process.cpuUsage();
  private lastProgress = performance.now();
  private timers: NodeJS.Timeout[] = [];
  private sockets: readonly Socket[] = [];
  private settle: (err?: Error) => void = () => {};

  /** `start` and `end` are performance.now() times: by default the window follows a warm-up from now. */
  constructor(
    private readonly o: LoadOptions,
    readonly start = performance.now() + o.warmupSeconds * 1000,
    readonly end = start + o.seconds * 1000,
  ) {}

  readonly open = (): void => {
    if (this.opened) return;
    this.opened = true;
    this.cpuAtStart = process.cpuUsage();
    this.o.onWindowStart?.();
  };

  readonly close = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.open();
    const used = process.cpuUsage(this.cpuAtStart);
    this.clientCpu = (used.user + used.system) / 1e6 / this.o.seconds;
    this.o.onWindowEnd?.();
  };

  /** Whether a response at `now` is inside the window; the first one inside opens it. */
  holds(now: number): boolean {
    if (now < this.start || now >= this.end) return false;
    this.open();
    return true;
  }

  /** Something arrived at `now`: the watchdog starts over. */
  progress(now: number): void {
    this.lastProgress = now;
  }

  /**
   * Arms the edge timers and the watchdog (which fails with "`stalled` for 30 s"), then calls `begin`
   * to wire the sockets and send; resolves on done(), rejects on fail(). `cleanup` runs once either way.
   */
  run(sockets: readonly Socket[], stalled: string, begin: () => void, cleanup?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.sockets = sockets;
      this.timers = [
        setTimeout(this.open, this.start - performance.now()),
        setTimeout(this.close, this.end - performance.now()),
        setInterval(() => {
          if (performance.now() - this.lastProgress > STALL_MS) this.fail(new BenchFailure(`${stalled} for ${STALL_MS / 1000} s`));
        }, 1000),
      ];
      this.settle = (err) => {
        for (const t of this.timers) clearTimeout(t);
        cleanup?.();
        if (err === undefined) resolve();
        else reject(err);
      };
      try {
        begin();
      } catch (err) {
        this.fail(asError(err));
      }
    });
  }

  readonly done = (err?: Error): void => {
    if (this.finished) return;
    this.finished = true;
    this.settle(err);
  };

  readonly fail = (err: Error): void => {
    for (const s of this.sockets) s.destroy();
    this.done(err);
  };

  /** Feeds the socket's bytes to `push` (a throw fails the run); a socket error fails it; `onClose` judges a close. */
  watch(socket: Socket, push: (chunk: Buffer) => void, onClose: () => void): void {
    socket.on('data', (chunk: Buffer) => {
      try {
        push(chunk);
      } catch (err) {
        this.fail(asError(err));
      }
    });
    socket.on('error', this.fail);
    socket.on('close', onClose);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
