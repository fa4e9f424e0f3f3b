/**
 * The configuration keys Fjord understands, with Kafka's names, types and defaults. Broker keys come
 * from server.properties / --override; topic keys from CreateTopics / AlterConfigs, each falling back
 * to its broker synonym (retention.ms -> log.retention.ms), exactly as Kafka reports them in
 * DescribeConfigs.
 */
export type ConfigType = 'string' | 'int' | 'long' | 'boolean' | 'list' | 'double' | 'class' | 'password';

export interface ConfigDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** The default as Kafka renders it; null when there is none. */
  readonly defaultValue: string | null;
  /** Inclusive numeric bounds, or allowed values for strings/lists. */
  readonly min?: number;
  readonly max?: number;
  readonly allowed?: readonly string[];
  /** Changeable without a restart (dynamic broker config in Kafka). */
  readonly dynamic?: boolean;
}

const LONG_MAX = '9223372036854775807';

export const BROKER_CONFIGS: readonly ConfigDefinition[] = [
  { name: 'node.id', type: 'int', defaultValue: '1', min: 0 },
  { name: 'broker.id', type: 'int', defaultValue: '-1' },
  { name: 'listeners', type: 'list', defaultValue: 'PLAINTEXT://127.0.0.1:9092' },
  { name: 'advertised.listeners', type: 'list', defaultValue: null },
  { name: 'log.dirs', type: 'list', defaultValue: './fjord-data' },
  { name: 'log.dir', type: 'string', defaultValue: '/tmp/kafka-logs' },
  { name: 'num.partitions', type: 'int', defaultValue: '1', min: 1 },
  { name: 'default.replication.factor', type: 'int', defaultValue: '1', min: 1, max: 1 },
  { name: 'auto.create.topics.enable', type: 'boolean', defaultValue: 'true' },
  { name: 'delete.topic.enable', type: 'boolean', defaultValue: 'true' },
  { name: 'message.max.bytes', type: 'int', defaultValue: '1048588', min: 0, dynamic: true },
  { name: 'socket.request.max.bytes', type: 'int', defaultValue: '104857600', min: 1 },
  { name: 'connections.max.idle.ms', type: 'long', defaultValue: '600000' },
  { name: 'queued.max.requests', type: 'int', defaultValue: '500', min: 1 },
  { name: 'log.segment.bytes', type: 'int', defaultValue: '1073741824', min: 14, dynamic: true },
  { name: 'log.roll.ms', type: 'long', defaultValue: null, min: 1, dynamic: true },
  { name: 'log.roll.hours', type: 'int', defaultValue: '168', min: 1 },
  { name: 'log.index.interval.bytes', type: 'int', defaultValue: '4096', min: 0, dynamic: true },
  { name: 'log.index.size.max.bytes', type: 'int', defaultValue: '10485760', min: 4, dynamic: true },
  { name: 'log.flush.interval.messages', type: 'long', defaultValue: LONG_MAX, min: 1, dynamic: true },
  { name: 'log.flush.interval.ms', type: 'long', defaultValue: null, min: 0, dynamic: true },
  { name: 'log.retention.ms', type: 'long', defaultValue: null, dynamic: true },
  { name: 'log.retention.minutes', type: 'int', defaultValue: null },
  { name: 'log.retention.hours', type: 'int', defaultValue: '168' },
  { name: 'log.retention.bytes', type: 'long', defaultValue: '-1', dynamic: true },
  { name: 'log.retention.check.interval.ms', type: 'long', defaultValue: '300000', min: 1 },
  { name: 'log.cleanup.policy', type: 'list', defaultValue: 'delete', allowed: ['delete', 'compact'], dynamic: true },
  { name: 'log.message.timestamp.type', type: 'string', defaultValue: 'CreateTime', allowed: ['CreateTime', 'LogAppendTime'], dynamic: true },
  { name: 'log.cleaner.backoff.ms', type: 'long', defaultValue: '15000', min: 0 },
  { name: 'log.cleaner.dedupe.buffer.size', type: 'long', defaultValue: '134217728', min: 1024 },
  { name: 'log.cleaner.delete.retention.ms', type: 'long', defaultValue: '86400000', min: 0, dynamic: true },
  { name: 'log.cleaner.min.compaction.lag.ms', type: 'long', defaultValue: '0', min: 0, dynamic: true },
  { name: 'log.cleaner.max.compaction.lag.ms', type: 'long', defaultValue: LONG_MAX, min: 1, dynamic: true },
  { name: 'log.cleaner.min.cleanable.ratio', type: 'double', defaultValue: '0.5', min: 0, max: 1, dynamic: true },
  { name: 'compression.type', type: 'string', defaultValue: 'producer', allowed: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'], dynamic: true },
  { name: 'min.insync.replicas', type: 'int', defaultValue: '1', min: 1, dynamic: true },
  { name: 'offsets.topic.num.partitions', type: 'int', defaultValue: '50', min: 1 },
  { name: 'offsets.topic.replication.factor', type: 'int', defaultValue: '1', min: 1, max: 1 },
  { name: 'group.initial.rebalance.delay.ms', type: 'int', defaultValue: '3000', min: 0 },
  { name: 'group.min.session.timeout.ms', type: 'int', defaultValue: '6000' },
  { name: 'group.max.session.timeout.ms', type: 'int', defaultValue: '1800000' },
  { name: 'group.max.size', type: 'int', defaultValue: '2147483647', min: 1 },
  { name: 'offsets.retention.minutes', type: 'int', defaultValue: '10080', min: 1 },
  { name: 'offset.metadata.max.bytes', type: 'int', defaultValue: '4096', min: 0 },
  { name: 'transaction.state.log.num.partitions', type: 'int', defaultValue: '50', min: 1 },
  { name: 'transaction.max.timeout.ms', type: 'int', defaultValue: '900000', min: 1 },
  { name: 'transactional.id.expiration.ms', type: 'int', defaultValue: '604800000', min: 1 },
  { name: 'transaction.state.log.replication.factor', type: 'int', defaultValue: '1', min: 1, max: 1 },
  { name: 'unclean.leader.election.enable', type: 'boolean', defaultValue: 'false', dynamic: true },
  { name: 'cluster.id', type: 'string', defaultValue: null },
];

/** Per-topic keys and the broker key each falls back to. */
export interface TopicConfigDefinition extends ConfigDefinition {
  readonly brokerSynonym: string | null;
}

export const TOPIC_CONFIGS: readonly TopicConfigDefinition[] = [
  { name: 'cleanup.policy', type: 'list', defaultValue: 'delete', allowed: ['delete', 'compact'], brokerSynonym: 'log.cleanup.policy' },
  { name: 'compression.type', type: 'string', defaultValue: 'producer', allowed: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'], brokerSynonym: 'compression.type' },
  { name: 'delete.retention.ms', type: 'long', defaultValue: '86400000', min: 0, brokerSynonym: 'log.cleaner.delete.retention.ms' },
  { name: 'file.delete.delay.ms', type: 'long', defaultValue: '60000', min: 0, brokerSynonym: null },
  { name: 'flush.messages', type: 'long', defaultValue: LONG_MAX, min: 1, brokerSynonym: 'log.flush.interval.messages' },
  { name: 'flush.ms', type: 'long', defaultValue: LONG_MAX, min: 0, brokerSynonym: 'log.flush.interval.ms' },
  { name: 'index.interval.bytes', type: 'int', defaultValue: '4096', min: 0, brokerSynonym: 'log.index.interval.bytes' },
  { name: 'max.compaction.lag.ms', type: 'long', defaultValue: LONG_MAX, min: 1, brokerSynonym: 'log.cleaner.max.compaction.lag.ms' },
  { name: 'max.message.bytes', type: 'int', defaultValue: '1048588', min: 0, brokerSynonym: 'message.max.bytes' },
  { name: 'message.timestamp.type', type: 'string', defaultValue: 'CreateTime', allowed: ['CreateTime', 'LogAppendTime'], brokerSynonym: 'log.message.timestamp.type' },
  { name: 'message.timestamp.before.max.ms', type: 'long', defaultValue: LONG_MAX, min: 0, brokerSynonym: null },
  { name: 'message.timestamp.after.max.ms', type: 'long', defaultValue: LONG_MAX, min: 0, brokerSynonym: null },
  { name: 'min.cleanable.dirty.ratio', type: 'double', defaultValue: '0.5', min: 0, max: 1, brokerSynonym: 'log.cleaner.min.cleanable.ratio' },
  { name: 'min.compaction.lag.ms', type: 'long', defaultValue: '0', min: 0, brokerSynonym: 'log.cleaner.min.compaction.lag.ms' },
  { name: 'min.insync.replicas', type: 'int', defaultValue: '1', min: 1, brokerSynonym: 'min.insync.replicas' },
  { name: 'preallocate', type: 'boolean', defaultValue: 'false', brokerSynonym: null },
  { name: 'retention.bytes', type: 'long', defaultValue: '-1', brokerSynonym: 'log.retention.bytes' },
  { name: 'retention.ms', type: 'long', defaultValue: '604800000', min: -1, brokerSynonym: 'log.retention.ms' },
  { name: 'segment.bytes', type: 'int', defaultValue: '1073741824', min: 14, brokerSynonym: 'log.segment.bytes' },
  { name: 'segment.index.bytes', type: 'int', defaultValue: '10485760', min: 4, brokerSynonym: 'log.index.size.max.bytes' },
  { name: 'segment.jitter.ms', type: 'long', defaultValue: '0', min: 0, brokerSynonym: null },
  { name: 'segment.ms', type: 'long', defaultValue: '604800000', min: 1, brokerSynonym: 'log.roll.ms' },
  { name: 'unclean.leader.election.enable', type: 'boolean', defaultValue: 'false', brokerSynonym: 'unclean.leader.election.enable' },
];

export const BROKER_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDefinition> = new Map(BROKER_CONFIGS.map((c) => [c.name, c]));
export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, TopicConfigDefinition> = new Map(TOPIC_CONFIGS.map((c) => [c.name, c]));

/** Check one value against its definition; returns an error sentence or null. */
export function validateConfigValue(def: ConfigDefinition, value: string): string | null {
  const v = value.trim();
  switch (def.type) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(v)) return `Invalid value ${value} for configuration ${def.name}: Not a number of type ${def.type.toUpperCase()}`;
      const n = Number(v);
      if (def.type === 'int' && (n < -2147483648 || n > 2147483647)) return `Invalid value ${value} for configuration ${def.name}: Not a number of type INT`;
      if (def.min !== undefined && n < def.min) return `Invalid value ${value} for configuration ${def.name}: Value must be at least ${def.min}`;
      if (def.max !== undefined && n > def.max) return `Invalid value ${value} for configuration ${def.name}: Value must be no more than ${def.max}`;
      return null;
    }
    case 'double': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) return `Invalid value ${value} for configuration ${def.name}: Not a number of type DOUBLE`;
      if (def.min !== undefined && n < def.min) return `Invalid value ${value} for configuration ${def.name}: Value must be at least ${def.min}`;
      if (def.max !== undefined && n > def.max) return `Invalid value ${value} for configuration ${def.name}: Value must be no more than ${def.max}`;
      return null;
    }
    case 'boolean':
      return v === 'true' || v === 'false' ? null : `Invalid value ${value} for configuration ${def.name}: Expected value to be either true or false`;
    case 'list': {
      if (def.allowed === undefined) return null;
      const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
      for (const item of items) {
        if (!def.allowed.includes(item)) return `Invalid value ${value} for configuration ${def.name}: String must be one of: ${def.allowed.join(', ')}`;
      }
      return null;
    }
    default:
      if (def.allowed !== undefined && !def.allowed.includes(v)) {
        return `Invalid value ${value} for configuration ${def.name}: String must be one of: ${def.allowed.join(', ')}`;
      }
      return null;
  }
}
