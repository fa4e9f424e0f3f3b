export { startBroker, type StartBrokerOptions, type RunningBroker } from './io/start-broker.js';
export { BrokerConfig, ConfigError } from './broker/broker-config.js';
export { ErrorCode, errorInfo, KAFKA_ERRORS } from './protocol/errors.js';
