import type { LogManager } from '../storage/types.js';

/**
 * Hands out producer ids from blocks reserved durably in the log manager, as Kafka brokers take blocks
 * from the controller (KIP-730): one durable write per PRODUCER_ID_BLOCK_SIZE ids, and after a crash
 * the rest of a block is skipped, never reused.
 */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

export class ProducerIds {
  private next = 0;
  private end = 0;

  constructor(private readonly logs: LogManager) {}

  nextId(): number {
    if (this.next >= this.end) {
      this.next = this.logs.allocateProducerIds(PRODUCER_ID_BLOCK_SIZE);
      this.end = this.next + PRODUCER_ID_BLOCK_SIZE;
    }
    return this.next++;
  }
}
