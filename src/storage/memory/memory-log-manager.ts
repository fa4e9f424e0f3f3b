import { assertPartitionBudget, assertValidTopicName } from '../topic-rules.js';
import type { LogManager, PartitionLog, TopicMetadata } from '../types.js';
import { DEFAULT_MEMORY_PARTITION_MAX_BYTES, MemoryPartitionLog } from './memory-partition-log.js';

export interface MemoryLogManagerOptions {
  /** Per-partition byte bound; the oldest batches are dropped beyond it. */
  readonly maxPartitionBytes?: number;
}

interface TopicEntry {
  meta: TopicMetadata;
  readonly logs: MemoryPartitionLog[];
}

/**
 * Topics and logs in memory. Segment and flush settings have no meaning here and are ignored; close()
 * then open() on the same instance keeps everything (the "restart" of an embedded broker).
 */
export class MemoryLogManager implements LogManager {
  /** Bounded by MAX_PARTITIONS_PER_LOG_MANAGER through the partition budget. */
  private readonly topics = new Map<string, TopicEntry>();
  private readonly topicsById = new Map<string, TopicEntry>();
  private partitionCount = 0;
  private isOpen = false;
  private readonly maxPartitionBytes: number;

  constructor(options: MemoryLogManagerOptions = {}) {
    this.maxPartitionBytes = options.maxPartitionBytes ?? DEFAULT_MEMORY_PARTITION_MAX_BYTES;
  }

  async open(): Promise<void> {
    if (this.isOpen) throw new Error('Log manager is already open');
    this.isOpen = true;
  }

  listTopics(): TopicMetadata[] {
    return [...this.topics.values()].map((e) => e.meta);
  }

  getTopic(name: string): TopicMetadata | undefined {
    return this.topics.get(name)?.meta;
  }

  getTopicById(topicId: string): TopicMetadata | undefined {
    return this.topicsById.get(topicId)?.meta;
  }

  createTopic(name: string, partitions: number, configs: Record<string, string>, topicId: string): TopicMetadata {
    this.assertOpen();
    assertValidTopicName(name);
    if (this.topics.has(name)) throw new Error(`Topic '${name}' already exists`);
    if (this.topicsById.has(topicId)) throw new Error(`Topic id ${topicId} is already in use`);
    assertPartitionBudget(this.partitionCount, partitions);
    const meta: TopicMetadata = { name, topicId, partitions, configs: { ...configs } };
    const entry: TopicEntry = { meta, logs: [] };
    for (let p = 0; p < partitions; p++) entry.logs.push(new MemoryPartitionLog(name, p, this.maxPartitionBytes));
    this.topics.set(name, entry);
    this.topicsById.set(topicId, entry);
    this.partitionCount += partitions;
    return meta;
  }

  deleteTopic(name: string): void {
    this.assertOpen();
    const entry = this.topics.get(name);
    if (entry === undefined) throw new Error(`Unknown topic '${name}'`);
    this.topics.delete(name);
    this.topicsById.delete(entry.meta.topicId);
    this.partitionCount -= entry.logs.length;
  }

  addPartitions(name: string, totalPartitions: number): TopicMetadata {
    this.assertOpen();
    const entry = this.topics.get(name);
    if (entry === undefined) throw new Error(`Unknown topic '${name}'`);
    const current = entry.meta.partitions;
    assertPartitionBudget(this.partitionCount, totalPartitions - current);
    for (let p = current; p < totalPartitions; p++) entry.logs.push(new MemoryPartitionLog(name, p, this.maxPartitionBytes));
    this.partitionCount += totalPartitions - current;
    entry.meta = { ...entry.meta, partitions: totalPartitions };
    return entry.meta;
  }

  setTopicConfigs(name: string, configs: Record<string, string>): TopicMetadata {
    this.assertOpen();
    const entry = this.topics.get(name);
    if (entry === undefined) throw new Error(`Unknown topic '${name}'`);
    entry.meta = { ...entry.meta, configs: { ...configs } };
    return entry.meta;
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.logs[partition];
  }

  async close(): Promise<void> {
    this.isOpen = false;
  }

  private assertOpen(): void {
    if (!this.isOpen) throw new Error('Log manager is not open');
  }
}
