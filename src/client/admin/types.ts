import type { GroupDescription, GroupListing, GroupOffset } from './groups.js';
import type { ClientOptions } from '../client-options.js';

export interface AdminOptions extends ClientOptions {
  /**
   * Further attempts after a retriable failure (stale controller or leader, dropped connection);
   * default 5. Each retry refreshes metadata first, so it goes to the current controller or leader.
   */
  readonly retries?: number;
  /** First retry delay, doubled per attempt up to retryBackoffMaxMs (Kafka's retry.backoff.ms, retry.backoff.max.ms). */
  readonly retryBackoffMs?: number;
  readonly retryBackoffMaxMs?: number;
}

// ---- topics ----

export interface NewTopic {
  readonly name: string;
  /** Default: the broker's num.partitions. */
  readonly partitions?: number;
  /** Default: the broker's default.replication.factor. */
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface CreateTopicsOptions {
  /** Let the controller validate the request without creating anything. */
  readonly validateOnly?: boolean;
}

export interface CreatedTopic {
  readonly name: string;
  /** Null when the broker did not assign one (validateOnly, or CreateTopics before v7). */
  readonly topicId: string | null;
  /** -1 when the broker is too old to say (CreateTopics before v5). */
  readonly partitions: number;
  readonly replicationFactor: number;
  /** The topic's effective configs as the broker reported them (CreateTopics v5+); null values are sensitive. */
  readonly configs: Readonly<Record<string, string | null>>;
}

export interface DeletedTopic {
  readonly name: string;
  readonly topicId: string | null;
}

export interface ListTopicsOptions {
  /** Include internal topics such as __consumer_offsets; default false. */
  readonly includeInternal?: boolean;
}

export interface PartitionDescription {
  readonly partition: number;
  /** -1 when the partition has no leader. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface TopicDescription {
  readonly name: string;
  /** Null when the broker does not report topic ids (Metadata before v10). */
  readonly topicId: string | null;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionDescription[];
}

export interface NewPartitions {
  readonly topic: string;
  /** The new total number of partitions, not the number to add. */
  readonly count: number;
}

export interface CreatePartitionsOptions {
  readonly validateOnly?: boolean;
}

export interface CreatedPartitions {
  readonly topic: string;
  readonly count: number;
}

// ---- configs ----

export type ConfigResourceType = 'topic' | 'broker';

export interface ConfigResource {
  readonly type: ConfigResourceType;
  /** Topic name, or broker node id as a string ('' for the cluster-wide default). */
  readonly name: string;
  /** Only these keys; default: every key. */
  readonly keys?: readonly string[];
}

export interface DescribeConfigsOptions {
  /** Default true: each entry lists where its value could come from, highest precedence first. */
  readonly includeSynonyms?: boolean;
  readonly includeDocumentation?: boolean;
}

/** Kafka's ConfigEntry.ConfigSource names. */
export type ConfigSourceName =
  | 'UNKNOWN'
  | 'DYNAMIC_TOPIC_CONFIG'
  | 'DYNAMIC_BROKER_CONFIG'
  | 'DYNAMIC_DEFAULT_BROKER_CONFIG'
  | 'STATIC_BROKER_CONFIG'
  | 'DEFAULT_CONFIG'
  | 'DYNAMIC_BROKER_LOGGER_CONFIG'
  | 'CLIENT_METRICS_CONFIG'
  | 'GROUP_CONFIG';

/** Kafka's ConfigEntry.ConfigType names; UNKNOWN before DescribeConfigs v3. */
export type ConfigTypeName = 'UNKNOWN' | 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: ConfigSourceName;
}

export interface ConfigEntry {
  readonly name: string;
  /** Null for sensitive values. */
  readonly value: string | null;
  readonly source: ConfigSourceName;
  readonly isDefault: boolean;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
  readonly synonyms: readonly ConfigSynonym[];
  readonly type: ConfigTypeName;
  readonly documentation: string | null;
}

export interface ConfigResourceDescription {
  readonly type: ConfigResourceType;
  readonly name: string;
  readonly configs: readonly ConfigEntry[];
}

export interface AlterConfigsResource {
  readonly type: ConfigResourceType;
  readonly name: string;
  /** The complete set of overrides: keys not listed lose their override (legacy AlterConfigs semantics). */
  readonly configs: Readonly<Record<string, string>>;
}

export interface AlterConfigsOptions {
  readonly validateOnly?: boolean;
}

export type ConfigOpType = 'set' | 'delete' | 'append' | 'subtract';

export interface ConfigOp {
  readonly key: string;
  readonly op: ConfigOpType;
  /** Required for set; for append/subtract a comma-separated list of items. */
  readonly value?: string;
}

export interface IncrementalAlterConfigsResource {
  readonly type: ConfigResourceType;
  readonly name: string;
  readonly ops: readonly ConfigOp[];
}

export interface AlteredConfigResource {
  readonly type: ConfigResourceType;
  readonly name: string;
}

// ---- offsets and records ----

/** earliest: log start; latest: log end (the next offset to be written); max-timestamp: the record with the largest timestamp. */
export type OffsetSpec = 'earliest' | 'latest' | 'max-timestamp' | { readonly timestamp: number };

export interface OffsetQuery {
  readonly topic: string;
  readonly partition: number;
  readonly spec: OffsetSpec;
}

export interface ListOffsetsOptions {
  /** read_committed stops 'latest' at the last stable offset; default read_uncommitted. */
  readonly isolationLevel?: 'read_uncommitted' | 'read_committed';
}

export interface ListedOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1n when no record matches (a timestamp after every record, or an empty log for max-timestamp). */
  readonly offset: bigint;
  /** The matched record's timestamp; -1 for earliest and latest. */
  readonly timestamp: number;
  readonly leaderEpoch: number;
}

export interface RecordsToDelete {
  readonly topic: string;
  readonly partition: number;
  /** Delete every record before this offset; -1n means up to the high watermark. */
  readonly offset: bigint;
}

export interface DeletedRecords {
  readonly topic: string;
  readonly partition: number;
  /** The partition's new log start offset. */
  readonly lowWatermark: bigint;
}

// ---- cluster ----

export interface BrokerDescription {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface ClusterDescription {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: readonly BrokerDescription[];
}

/**
 * Kafka's admin operations. Batch methods resolve with one result per input, in input order, when
 * every item succeeds; otherwise they reject with an AdminError that lists each failure and carries
 * the results of the items that did succeed.
 */
export interface Admin {
  createTopics(topics: readonly NewTopic[], options?: CreateTopicsOptions): Promise<CreatedTopic[]>;
  deleteTopics(names: readonly string[]): Promise<DeletedTopic[]>;
  /** Topic names, sorted. */
  listTopics(options?: ListTopicsOptions): Promise<string[]>;
  describeTopics(names: readonly string[]): Promise<TopicDescription[]>;
  createPartitions(topics: readonly NewPartitions[], options?: CreatePartitionsOptions): Promise<CreatedPartitions[]>;
  describeConfigs(resources: readonly ConfigResource[], options?: DescribeConfigsOptions): Promise<ConfigResourceDescription[]>;
  alterConfigs(resources: readonly AlterConfigsResource[], options?: AlterConfigsOptions): Promise<AlteredConfigResource[]>;
  incrementalAlterConfigs(resources: readonly IncrementalAlterConfigsResource[], options?: AlterConfigsOptions): Promise<AlteredConfigResource[]>;
  listOffsets(queries: readonly OffsetQuery[], options?: ListOffsetsOptions): Promise<ListedOffset[]>;
  deleteRecords(targets: readonly RecordsToDelete[]): Promise<DeletedRecords[]>;
  describeCluster(): Promise<ClusterDescription>;
  /** Consumer groups on every broker, sorted by id. */
  listGroups(): Promise<GroupListing[]>;
  /** State, protocol and members (with decoded assignments for consumer groups). */
  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]>;
  /** The group's committed offsets. */
  listGroupOffsets(groupId: string): Promise<GroupOffset[]>;
  /** Commit offsets for an inactive group (the group must have no members). */
  alterGroupOffsets(groupId: string, offsets: readonly { topic: string; partition: number; offset: bigint }[]): Promise<void>;
  /** Delete empty groups and their offsets (NON_EMPTY_GROUP otherwise). */
  deleteGroups(groupIds: readonly string[]): Promise<void>;
  deleteGroupOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<void>;
  close(): Promise<void>;
}
