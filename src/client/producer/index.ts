export { createProducer } from './producer.js';
export { PRODUCER_DEFAULTS } from './config.js';
export type { Acks, CompressionType, Producer, ProducerHeaders, ProducerOptions, ProducerRecord, RecordMetadata } from './types.js';
export { partitionForKey, StickyPartitioner, type Partitioner, type PartitionRandom } from '../partitioner.js';
export { murmur2, toPositive } from '../murmur2.js';
