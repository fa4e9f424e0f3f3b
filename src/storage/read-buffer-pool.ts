/**
 * Large buffers for reads that leave through a socket (Fetch responses), recycled instead of freshly
 * allocated. A fresh multi-MiB Buffer costs about 0.5 ms per MiB in page faults on this class of
 * machine (measured: 4 MiB allocate+copy 2.1 ms fresh, 0.17 ms into a reused buffer), which alone
 * capped fetch throughput near 2 GB/s of faults before any useful work, and the garbage collector
 * was spending a fifth of the broker's time collecting them.
 *
 * Who may give a buffer back: only the code that knows every view of it is dead. The broker gives the
 * buffers behind a Fetch response back once the socket has taken the response (the write callback).
 * Anything else that reads (tests, the cleaner, in-process callers) simply never gives back, and the
 * garbage collector frees those buffers as usual: forgetting to give back costs speed, never
 * correctness. Giving back a buffer that is still referenced would corrupt data, so `give` accepts
 * only buffers currently lent out, each once.
 */

/** Smallest pooled size: reads below this use ordinary allocations (they come from malloc's heap). */
export const READ_BUFFER_MIN_POOLED_BYTES = 64 * 1024;
/** Largest pooled size; bigger reads are allocated and left to the garbage collector. */
export const READ_BUFFER_MAX_POOLED_BYTES = 16 * 1024 * 1024;
/** Bytes kept idle in the pool, over all size classes: beyond it given-back buffers are dropped. */
export const READ_BUFFER_POOL_IDLE_MAX_BYTES = 64 * 1024 * 1024;

export class ReadBufferPool {
  /** Idle memory by size class (a power of two). */
  private readonly idle = new Map<number, ArrayBuffer[]>();
  private idleBytes = 0;
  /**
   * Buffers lent out and not yet given back: guards against giving back twice or a foreign buffer.
   * Weak, because a reader that never gives back must not make the pool keep its buffer alive.
   */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  constructor(private readonly idleMaxBytes = READ_BUFFER_POOL_IDLE_MAX_BYTES) {}

  /**
   * A buffer of at least `n` bytes (contents undefined). Pooled when `n` is in the pooled range;
   * the caller gives it back with `give` when every view of it is dead, or never.
   */
  take(n: number): Buffer {
    if (n < READ_BUFFER_MIN_POOLED_BYTES || n > READ_BUFFER_MAX_POOLED_BYTES) return Buffer.allocUnsafe(n);
    const size = sizeClassOf(n);
    let memory = this.idle.get(size)?.pop();
    if (memory !== undefined) this.idleBytes -= size;
    else memory = Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
    this.lent.add(memory);
    return Buffer.from(memory, 0, size);
  }

  /**
   * Give back the memory behind a buffer from `take` (any view of it: `give(chunk.buffer)`), once
   * every view of it is dead. Memory not lent out by this pool, or already given back, is ignored.
   */
  give(memory: ArrayBufferLike): void {
    if (!this.lent.delete(memory)) return;
    const size = memory.byteLength;
    if (this.idleBytes + size > this.idleMaxBytes) return;
    let list = this.idle.get(size);
    if (list === undefined) {
      list = [];
      this.idle.set(size, list);
    }
    list.push(memory as ArrayBuffer);
    this.idleBytes += size;
  }

  /** Is this memory lent out by the pool now? */
  isLent(memory: ArrayBufferLike): boolean {
    return this.lent.has(memory);
  }

  /** Bytes waiting in the pool (for tests and metrics). */
  get idleByteCount(): number {
    return this.idleBytes;
  }
}

/** The power of two at or above n. */
function sizeClassOf(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

/**
 * The process's pool, like Node's own Buffer pool: shared by every log and the Fetch handler, so a
 * buffer read by one partition serves the next read of any other.
 */
export const READ_BUFFERS = new ReadBufferPool();
