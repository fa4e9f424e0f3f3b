export { createProducer } from './producer.js';
export { PRODUCER_DEFAULTS } from './config.js';
export type { Acks, CompressionType, Producer, ProducerHeaders, ProducerOptions, ProducerRecord, RecordMetadata, TransactionOffset } from './types.js';
export type { TransactionState } from './transaction-manager.js';
export { partitionForKey, StickyPartitioner, type Partitioner, type PartitionRandom } from '../partitioner.js';
export { murmur2, toPositive } from '../murmur2.js';
