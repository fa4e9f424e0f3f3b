import { Deque } from './deque.js';
import type { PendingRecord } from './pending-record.js';

/**
 * The producer's buffer.memory: records hold their estimated size from `send` until they succeed or
 * fail, and a record that does not fit waits here, in send order, until enough is released. Nothing
 * overtakes a waiting record even if it would fit, so per-partition order survives the wait.
 *
 * The waiting line is the one place the producer does not bound by bytes: each entry is a record the
 * application already built and is awaiting, so its length is the application's own concurrency, and
 * each entry leaves by its deadline at the latest (see expire).
 */
export class BufferMemory {
  private used = 0;
  private readonly waiting = new Deque<PendingRecord>();

  constructor(
    readonly limit: number,
    private readonly admit: (record: PendingRecord) => void,
  ) {}

  /** True while a record waits for room: batches then go out without lingering, to free it sooner. */
  get exhausted(): boolean {
    return this.waiting.length > 0;
  }

  /** Admit the record now if it fits and nobody is waiting, else queue it. */
  acquire(record: PendingRecord): void {
    if (this.waiting.length === 0 && this.used + record.size <= this.limit) {
      this.used += record.size;
      this.admit(record);
    } else {
      this.waiting.push(record);
    }
  }

  /** Take `bytes` now if that is possible without waiting (acquire's fast path); false: use acquire. */
  tryTake(bytes: number): boolean {
    if (this.waiting.length !== 0 || this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
    this.pump();
  }

  /** Fail waiting records whose deadline has passed; returns the earliest deadline still waiting. */
  expire(now: number, fail: (record: PendingRecord) => void): number | undefined {
    for (let r = this.waiting.first(); r !== undefined && r.deadline <= now; r = this.waiting.first()) {
      this.waiting.shift();
      fail(r);
    }
    this.pump();
    return this.waiting.first()?.deadline;
  }

  private pump(): void {
    for (let r = this.waiting.first(); r !== undefined && this.used + r.size <= this.limit; r = this.waiting.first()) {
      this.waiting.shift();
      this.used += r.size;
      this.admit(r);
    }
  }
}
