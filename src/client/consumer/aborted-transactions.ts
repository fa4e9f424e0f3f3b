/**
 * read_committed filtering, as Kafka's consumer does it (CompletedFetch.nextFetchedRecord): the
 * fetch response lists the transactions aborted in the returned range as (producer id, first
 * offset). Walking the batches in order, a transaction becomes "open and aborted" once a batch of
 * its producer reaches its first offset; the producer's transactional batches are dropped until its
 * ABORT marker (a control batch) closes it.
 */
export class AbortedTransactions {
  /** Sorted by first offset; consumed from `next`. Its length is bounded by the fetch response. */
  private readonly pending: ReadonlyArray<{ readonly producerId: number; readonly firstOffset: number }>;
  private next = 0;
  private readonly aborted = new Set<number>();

  constructor(list: ReadonlyArray<{ readonly producerId: bigint; readonly firstOffset: bigint }>) {
    this.pending = list.map((t) => ({ producerId: Number(t.producerId), firstOffset: Number(t.firstOffset) })).sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Called for every batch with a producer id, before deciding about it. */
  reach(lastOffset: number): void {
    while (this.next < this.pending.length && this.pending[this.next]!.firstOffset <= lastOffset) {
      this.aborted.add(this.pending[this.next]!.producerId);
      this.next++;
    }
  }

  isAborted(producerId: number): boolean {
    return this.aborted.has(producerId);
  }

  /** The producer's ABORT marker: its later transactions are judged afresh. */
  closed(producerId: number): void {
    this.aborted.delete(producerId);
  }
}

/** Control record keys are (int16 version, int16 type); type 0 is ABORT, 1 is COMMIT. */
export const CONTROL_TYPE_ABORT = 0;

export function isAbortMarker(key: Buffer | null): boolean {
  return key !== null && key.length >= 4 && key.readInt16BE(2) === CONTROL_TYPE_ABORT;
}
