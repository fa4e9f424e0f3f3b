import type { DecodedRecord } from '../../protocol/records/record-batch-reader.js';
import type { KafkaProtocolError } from '../errors.js';
import type { BatchCursor, CursorBatch } from './batch-cursor.js';
import type { ConsumerRecord } from './consumer-record.js';
import type { PartitionState } from './positions.js';

export type ConvertRecord<K, V> = (state: PartitionState, record: DecodedRecord, offset: bigint, batch: CursorBatch) => ConsumerRecord<K, V>;

/**
 * One partition's records from one fetch response, waiting for the application. Records are
 * decoded a batch at a time as poll reaches them; `bytes` (the raw record set) is what counts
 * against maxBufferedBytes until the entry is drained.
 */
export class FetchedRecords {
  private batch: CursorBatch | null = null;
  private index = 0;

  constructor(
    readonly state: PartitionState,
    /** The partition's epoch when the fetch was sent: a seek since makes this entry stale. */
    readonly epoch: number,
    readonly fetchOffset: bigint,
    readonly bytes: number,
    private readonly cursor: BatchCursor,
    /** The offset after the last complete batch: the position once everything here is consumed. */
    readonly nextOffset: bigint,
  ) {}

  /** Decoded records are waiting to be taken. */
  get hasPending(): boolean {
    return this.batch !== null && this.index < this.batch.records.length;
  }

  /** Nothing left: neither decoded records nor undecoded batches. */
  get exhausted(): boolean {
    return !this.hasPending && this.cursor.done;
  }

  /** Decode the next batch holding records at or after `position` (skipping control and aborted ones). */
  async load(position: bigint): Promise<void> {
    this.batch = await this.cursor.next(position);
    this.index = 0;
  }

  /**
   * Move decoded records at or after the position into `out` (up to `max` in total), advancing the
   * position past every record taken. A throwing converter (a deserializer) leaves the position at the
   * record that failed, so the next poll meets it again, as in Kafka's consumer.
   */
  take<K, V>(out: Array<ConsumerRecord<K, V>>, max: number, convert: ConvertRecord<K, V>): void {
    const batch = this.batch;
    if (batch === null) return;
    const s = this.state;
    const records = batch.records;
    const n = records.length;
    // Offsets are compared as numbers (exact below 2^53, as the batch reader reads them), and the
    // position moves once per call: one BigInt per record (its offset), not three.
    const from = s.position === null ? -1 : Number(s.position);
    let i = this.index;
    let next = -1;
    try {
      while (i < n && out.length < max) {
        const r = records[i]!;
        const offset = r.offset;
        if (offset < from) {
          i++;
          continue;
        }
        out.push(convert(s, r, BigInt(offset), batch));
        i++;
        next = offset + 1;
      }
    } finally {
      // A throwing converter (a deserializer) leaves index and position at the record that failed.
      this.index = i;
      if (next >= 0) s.position = BigInt(next);
    }
  }
}

/** A partition error kept in fetch order, so records fetched before it are delivered first. */
export class FetchFailure {
  constructor(
    readonly state: PartitionState,
    readonly epoch: number,
    readonly fetchOffset: bigint,
    readonly error: KafkaProtocolError,
    readonly outOfRange: boolean,
  ) {}

  readonly bytes = 0;
}

export type BufferedFetch = FetchedRecords | FetchFailure;
