import type { ProducerStateManager } from '../producer-state/producer-state.js';
import type { CleanerTransactions, ProducerLastRecord } from './types.js';

/** The transactional inputs of a pass over [from, upTo), from a partition's producer state. */
export function cleanerTransactionsOf(producers: ProducerStateManager, from: number, upTo: number): CleanerTransactions {
  const lastRecords = new Map<number, ProducerLastRecord>();
  for (const e of producers.entries()) {
    const last = e.batches[e.batches.length - 1];
    lastRecords.set(e.producerId, { lastDataOffset: last === undefined ? null : last.lastOffset, epoch: e.epoch });
  }
  return { aborted: producers.abortedTransactions(from, upTo), lastRecords };
}
