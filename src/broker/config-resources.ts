import { TOPIC_CONFIG_BY_NAME, BROKER_CONFIG_BY_NAME, type ConfigType } from './config-definitions.js';
import { validateTopicConfigs } from './broker-config.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Broker } from './broker.js';

/** Kafka's ConfigResource types. */
export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** DescribeConfigs v3+ config types. */
export function configTypeCode(t: ConfigType): number {
  switch (t) {
    case 'boolean': return 1;
    case 'string': return 2;
    case 'int': return 3;
    case 'long': return 5;
    case 'double': return 6;
    case 'list': return 7;
    case 'class': return 8;
    case 'password': return 9;
  }
}

export interface AlterOutcome {
  errorCode: number;
  errorMessage: string | null;
}

/**
 * Apply a new set of topic overrides (already merged by the caller) after validating every value:
 * the change is all or nothing, persisted, and in effect for the next request.
 */
export function applyTopicOverrides(broker: Broker, topicName: string, next: Record<string, string>, validateOnly: boolean): AlterOutcome {
  const topic = broker.logs.getTopic(topicName);
  if (topic === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${topicName} does not exist.` };
  const err = validateTopicConfigs(next);
  if (err !== null) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: err };
  if (!validateOnly) broker.logs.setTopicConfigs(topicName, next);
  return { errorCode: 0, errorMessage: null };
}

/** Broker configs are static in Fjord (read from server.properties at start). */
export function brokerResourceOutcome(broker: Broker, resourceName: string, names: readonly string[]): AlterOutcome {
  if (resourceName !== '' && resourceName !== String(broker.nodeId)) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unexpected broker id, expected ${broker.nodeId} but received ${resourceName}` };
  }
  for (const n of names) {
    if (!BROKER_CONFIG_BY_NAME.has(n)) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown broker config ${n}` };
  }
  return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Broker configs are static in Fjord: set them in server.properties or with --override' };
}

export function isListConfig(name: string): boolean {
  return TOPIC_CONFIG_BY_NAME.get(name)?.type === 'list';
}
