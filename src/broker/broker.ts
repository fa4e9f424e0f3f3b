import type { Clock } from '../io/clock.js';
import type { Random } from '../io/random.js';
import type { LogManager, TopicMetadata } from '../storage/types.js';
import type { BrokerConfig } from './broker-config.js';
import { validateTopicConfigs } from './broker-config.js';
import { ErrorCode } from '../protocol/errors.js';
import { PartitionWaiters } from './partition-waiters.js';
import { FetchSessionCache } from './fetch-sessions.js';
import { GroupRuntime } from './group-runtime.js';
import { ProducerIds } from './producer-ids.js';
import { TransactionRuntime } from './transaction-runtime.js';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export interface BrokerDeps {
  readonly config: BrokerConfig;
  readonly logs: LogManager;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly clusterId: string;
  /** Where clients should connect: the advertised listener, resolved after the socket is bound. */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  /**
   * Resolves after the event loop has served other work (src/io passes setImmediate). Long jobs
   * (creating thousands of partitions) await it between steps. Without it they run in one go.
   */
  readonly yieldToIo?: () => Promise<void>;
}

/** A CreateTopics of more partitions than this is created in steps (LogManager.createTopicInSteps). */
export const CREATE_TOPIC_IN_ONE_GO_MAX_PARTITIONS = 16;

/** Kafka's topic name rule: legal characters, at most 249 of them, and not "." or "..". */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** CreateTopics/CreatePartitions cap, so a request cannot ask for millions of directories. */
export const PARTITIONS_PER_TOPIC_MAX = 100_000;

export class TopicError extends Error {
  constructor(readonly errorCode: number, message: string) {
    super(message);
  }
}

/**
 * The broker's state shared by all handlers: configuration, the log manager and the fetch waiters.
 * It holds no socket; the network edge (src/io) feeds it frames through Connection.
 */
export class Broker {
  readonly config: BrokerConfig;
  readonly logs: LogManager;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly waiters: PartitionWaiters;
  readonly fetchSessions: FetchSessionCache;
  readonly groups: GroupRuntime;
  readonly producerIds: ProducerIds;
  readonly transactions: TransactionRuntime;
  advertisedHost: string;
  advertisedPort: number;
  private readonly yieldToIo: () => Promise<void>;

  constructor(deps: BrokerDeps) {
    this.config = deps.config;
    this.logs = deps.logs;
    this.clock = deps.clock;
    this.random = deps.random;
    this.log = deps.log;
    this.clusterId = deps.clusterId;
    this.nodeId = deps.config.nodeId;
    this.advertisedHost = deps.advertisedHost;
    this.advertisedPort = deps.advertisedPort;
    this.yieldToIo = deps.yieldToIo ?? ((): Promise<void> => Promise.resolve());
    this.waiters = new PartitionWaiters(deps.clock);
    this.fetchSessions = new FetchSessionCache(deps.random);
    this.groups = new GroupRuntime(this);
    this.producerIds = new ProducerIds(deps.logs);
    this.transactions = new TransactionRuntime(this);
  }

  static validateTopicName(name: string): string | null {
    if (!TOPIC_NAME.test(name)) {
      return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-', or is longer than 249 characters`;
    }
    if (name === '.' || name === '..') return `Topic name cannot be "." or ".."`;
    return null;
  }

  /** Validate and create a topic; throws TopicError with Kafka's code. */
  createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, validateOnly = false): TopicMetadata | null {
    const count = this.checkNewTopic(name, partitions, replicationFactor, configs);
    if (validateOnly) return null;
    const topic = this.logs.createTopic(name, count, configs, this.random.uuid());
    this.log.info(`Created topic ${name} with ${count} partitions`);
    return topic;
  }

  /**
   * createTopic for CreateTopics: a large topic is created in steps with the event loop served in
   * between, so other clients (heartbeats, produce, fetch) are not stopped for the seconds that
   * thousands of partition directories take. The answer comes when the topic is complete.
   */
  async createTopicServingOthers(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, validateOnly = false): Promise<TopicMetadata | null> {
    const count = this.checkNewTopic(name, partitions, replicationFactor, configs);
    if (validateOnly) return null;
    if (count <= CREATE_TOPIC_IN_ONE_GO_MAX_PARTITIONS) return this.createTopic(name, partitions, replicationFactor, configs);
    this.creating.add(name);
    try {
      const topic = await this.logs.createTopicInSteps(name, count, configs, this.random.uuid(), this.yieldToIo);
      this.log.info(`Created topic ${name} with ${count} partitions`);
      return topic;
    } finally {
      this.creating.delete(name);
    }
  }

  /** Names CreateTopics is creating in steps: taken, though not visible yet. */
  private readonly creating = new Set<string>();

  /** Kafka's checks of a new topic, with its error codes; the partition count to create. */
  private checkNewTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>): number {
    const nameError = Broker.validateTopicName(name);
    if (nameError !== null) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    if (this.logs.getTopic(name) !== undefined || this.creating.has(name)) throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const count = partitions === -1 ? this.config.getInt('num.partitions') : partitions;
    if (count < 1 || count > PARTITIONS_PER_TOPIC_MAX) {
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be between 1 and ${PARTITIONS_PER_TOPIC_MAX}.`);
    }
    if (replicationFactor !== -1 && replicationFactor !== 1) {
      throw new TopicError(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${replicationFactor} larger than available brokers: 1.`);
    }
    const configError = validateTopicConfigs(configs);
    if (configError !== null) throw new TopicError(ErrorCode.INVALID_CONFIG, configError);
    return count;
  }

  /** Metadata/Produce auto-creation, when auto.create.topics.enable allows it. */
  autoCreateTopic(name: string): TopicMetadata | null {
    if (!this.config.getBool('auto.create.topics.enable')) return null;
    if (Broker.validateTopicName(name) !== null) return null;
    const existing = this.logs.getTopic(name);
    if (existing !== undefined) return existing;
    // Being created by a CreateTopics: not there yet (Metadata answers as for an unknown topic).
    if (this.creating.has(name)) return null;
    return this.createTopic(name, -1, -1, {});
  }

  /** A topic's effective config value (override, broker synonym or default). */
  topicConfig(topic: TopicMetadata, key: string): string {
    const v = this.config.topicValue(topic.configs, key);
    if (v === null) throw new Error(`no value for topic config ${key}`);
    return v;
  }
}
