import type { RecordOutcome } from './pending-record.js';
import type { RecordMetadata } from './types.js';

/**
 * One sendBatch() call: one promise for all its records instead of one per record. Resolves with the
 * metadata in call order once every record succeeded; rejects with the first failure, as
 * Promise.all over per-record sends would (the other records still go out).
 */
export class SendBatchCall implements RecordOutcome {
  private left: number;
  private done = false;
  private readonly results: RecordMetadata[];

  constructor(
    count: number,
    private readonly resolve: (results: RecordMetadata[]) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.left = count;
    this.results = new Array<RecordMetadata>(count);
  }

  resolved(index: number, metadata: RecordMetadata): void {
    this.results[index] = metadata;
    if (--this.left === 0 && !this.done) {
      this.done = true;
      this.resolve(this.results);
    }
  }

  rejected(_index: number, err: Error): void {
    this.left--;
    if (this.done) return;
    this.done = true;
    this.reject(err);
  }
}
