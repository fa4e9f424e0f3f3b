import type { Cluster } from '../cluster.js';
import { createCluster } from '../client-options.js';
import { ClientError } from '../errors.js';
import type { AdminContext } from './context.js';
import { alterConfigs, describeConfigs, incrementalAlterConfigs } from './configs.js';
import { describeCluster } from './cluster-info.js';
import { deleteRecords, listOffsets } from './offsets.js';
import { describeTopics, listTopics } from './topic-metadata.js';
import { createPartitions, createTopics, deleteTopics } from './topics.js';
import { alterGroupOffsets, deleteGroupOffsets, deleteGroups, describeGroups, listGroupOffsets, listGroups, type GroupDescription, type GroupListing, type GroupOffset } from './groups.js';
import type {
  Admin,
  AdminOptions,
  AlterConfigsOptions,
  AlterConfigsResource,
  AlteredConfigResource,
  ClusterDescription,
  ConfigResource,
  ConfigResourceDescription,
  CreatedPartitions,
  CreatedTopic,
  CreatePartitionsOptions,
  CreateTopicsOptions,
  DeletedRecords,
  DeletedTopic,
  DescribeConfigsOptions,
  IncrementalAlterConfigsResource,
  ListedOffset,
  ListOffsetsOptions,
  ListTopicsOptions,
  NewPartitions,
  NewTopic,
  OffsetQuery,
  RecordsToDelete,
  TopicDescription,
} from './types.js';

const DEFAULT_CLIENT_ID = 'fjord-admin';

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new ClientError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${value}`);
  return value;
}

class AdminClient implements Admin {
  private readonly ctx: AdminContext;
  private closed = false;

  constructor(private readonly cluster: Cluster, options: AdminOptions) {
    const backoffMs = nonNegativeInt('retryBackoffMs', options.retryBackoffMs, 100);
    this.ctx = {
      cluster,
      retry: {
        retries: nonNegativeInt('retries', options.retries, 5),
        backoffMs,
        backoffMaxMs: Math.max(backoffMs, nonNegativeInt('retryBackoffMaxMs', options.retryBackoffMaxMs, 1_000)),
      },
      operationTimeoutMs: cluster.options.requestTimeoutMs,
    };
  }

  /** Fail fast after close() instead of reconnecting from a closed cluster. */
  private live(): AdminContext {
    if (this.closed) throw new ClientError('CLIENT_CLOSED', 'The admin client is closed');
    return this.ctx;
  }

  async createTopics(topics: readonly NewTopic[], options: CreateTopicsOptions = {}): Promise<CreatedTopic[]> {
    return createTopics(this.live(), topics, options);
  }

  async deleteTopics(names: readonly string[]): Promise<DeletedTopic[]> {
    return deleteTopics(this.live(), names);
  }

  async listTopics(options: ListTopicsOptions = {}): Promise<string[]> {
    return listTopics(this.live(), options);
  }

  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    return describeTopics(this.live(), names);
  }

  async createPartitions(topics: readonly NewPartitions[], options: CreatePartitionsOptions = {}): Promise<CreatedPartitions[]> {
    return createPartitions(this.live(), topics, options);
  }

  async describeConfigs(resources: readonly ConfigResource[], options: DescribeConfigsOptions = {}): Promise<ConfigResourceDescription[]> {
    return describeConfigs(this.live(), resources, options);
  }

  async alterConfigs(resources: readonly AlterConfigsResource[], options: AlterConfigsOptions = {}): Promise<AlteredConfigResource[]> {
    return alterConfigs(this.live(), resources, options);
  }

  async incrementalAlterConfigs(resources: readonly IncrementalAlterConfigsResource[], options: AlterConfigsOptions = {}): Promise<AlteredConfigResource[]> {
    return incrementalAlterConfigs(this.live(), resources, options);
  }

  async listOffsets(queries: readonly OffsetQuery[], options: ListOffsetsOptions = {}): Promise<ListedOffset[]> {
    return listOffsets(this.live(), queries, options);
  }

  async deleteRecords(targets: readonly RecordsToDelete[]): Promise<DeletedRecords[]> {
    return deleteRecords(this.live(), targets);
  }

  async describeCluster(): Promise<ClusterDescription> {
    return describeCluster(this.live());
  }

  async listGroups(): Promise<GroupListing[]> {
    return listGroups(this.live());
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return describeGroups(this.live(), groupIds);
  }

  async listGroupOffsets(groupId: string): Promise<GroupOffset[]> {
    return listGroupOffsets(this.live(), groupId);
  }

  async alterGroupOffsets(groupId: string, offsets: readonly { topic: string; partition: number; offset: bigint }[]): Promise<void> {
    return alterGroupOffsets(this.live(), groupId, offsets);
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    return deleteGroups(this.live(), groupIds);
  }

  async deleteGroupOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<void> {
    return deleteGroupOffsets(this.live(), groupId, partitions);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.cluster.close();
  }
}

/** An admin client. Connections open lazily, on the first call. */
export function createAdmin(options: AdminOptions): Admin {
  return new AdminClient(createCluster(options, DEFAULT_CLIENT_ID), options);
}
