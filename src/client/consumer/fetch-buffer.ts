import type { BufferedFetch } from './buffered-fetch.js';

/**
 * Fetched data waiting for poll, in arrival order (per partition that is fetch order). Bounded in
 * bytes: the fetcher sends no fetch while `bytes` plus its reservations reach maxBufferedBytes. Its
 * entry count follows from that bound plus at most one zero-byte FetchFailure per partition (a
 * partition with a failure waiting is not fetched).
 */
export class FetchBuffer {
  private entries: Array<BufferedFetch | null> = [];
  /** Index of the oldest live entry: removing the head, the common case, is O(1). */
  private head = 0;
  private live = 0;
  bytes = 0;
  peakBytes = 0;

  get size(): number {
    return this.live;
  }

  add(e: BufferedFetch): void {
    this.entries.push(e);
    this.live++;
    this.bytes += e.bytes;
    if (this.bytes > this.peakBytes) this.peakBytes = this.bytes;
  }

  /** The oldest entry that `eligible` accepts (poll skips paused partitions). */
  first(eligible: (e: BufferedFetch) => boolean): BufferedFetch | undefined {
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e !== null && e !== undefined && eligible(e)) return e;
    }
    return undefined;
  }

  remove(e: BufferedFetch): void {
    const i = this.entries.indexOf(e, this.head);
    if (i < 0) return;
    this.entries[i] = null;
    this.live--;
    this.bytes -= e.bytes;
    while (this.head < this.entries.length && this.entries[this.head] === null) this.head++;
    // Compact once the dead prefix dominates, so the array does not grow for ever.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Drop everything buffered for a partition (seek, reset, unassign); returns the bytes freed. */
  dropPartition(key: string): number {
    const doomed: BufferedFetch[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e !== null && e !== undefined && e.state.key === key) doomed.push(e);
    }
    let freed = 0;
    for (const e of doomed) {
      freed += e.bytes;
      this.remove(e);
    }
    return freed;
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.live = 0;
    this.bytes = 0;
  }
}
