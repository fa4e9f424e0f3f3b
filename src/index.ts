// Fjord's public API: the embedded broker and the TypeScript client.
export { startBroker, type StartBrokerOptions, type RunningBroker } from './io/start-broker.js';
export { BrokerConfig, ConfigError } from './broker/broker-config.js';
export { ErrorCode, errorInfo, KAFKA_ERRORS } from './protocol/errors.js';
export { createProducer, type Producer, type ProducerOptions, type ProducerRecord, type RecordMetadata, type TransactionOffset, type TransactionState } from './client/producer/index.js';
export { runTransactionalCopy, type TransactionalCopyOptions, type TransactionalCopyResult, type TransformResult } from './client/transactional-copy.js';
export {
  createConsumer,
  CommitFailedError,
  RebalanceInProgressError,
  rangeAssignor,
  roundRobinAssignor,
  cooperativeStickyAssignor,
  type Consumer,
  type ConsumerOptions,
  type ConsumerRecord,
  type RebalanceListener,
  type OffsetAndMetadata,
  type ConsumerGroupMetadata,
  type PartitionAssignor,
} from './client/consumer/index.js';
export { createAdmin, type Admin, type AdminOptions } from './client/admin/index.js';
export { serializers, deserializers, type Serializer, type Deserializer } from './client/serializers.js';
export { KafkaProtocolError, ClientError } from './client/errors.js';
export type { ClientOptions } from './client/client-options.js';
