import { TopicRegistry } from '../topic-registry.js';
import type { LogManager, PartitionLog, TopicMetadata } from '../types.js';
import { DEFAULT_MEMORY_PARTITION_MAX_BYTES, MemoryPartitionLog } from './memory-partition-log.js';

export interface MemoryLogManagerOptions {
  /** Per-partition byte bound; the oldest batches are dropped beyond it. */
  readonly maxPartitionBytes?: number;
  /** Clock for transaction marker timestamps; none means -1. */
  readonly now?: () => number;
}

/**
 * Topics and logs in memory. Segment and flush settings have no meaning here and are ignored; close()
 * then open() on the same instance keeps everything (the "restart" of an embedded broker).
 */
export class MemoryLogManager implements LogManager {
  private readonly topics = new TopicRegistry<MemoryPartitionLog>();
  private isOpen = false;
  private readonly maxPartitionBytes: number;
  private readonly now: () => number;

  constructor(options: MemoryLogManagerOptions = {}) {
    this.maxPartitionBytes = options.maxPartitionBytes ?? DEFAULT_MEMORY_PARTITION_MAX_BYTES;
    // Without a clock, markers carry no timestamp (-1), like a record without one.
    this.now = options.now ?? ((): number => -1);
  }

  async open(): Promise<void> {
    if (this.isOpen) throw new Error('Log manager is already open');
    this.isOpen = true;
  }

  listTopics(): TopicMetadata[] {
    return this.topics.list();
  }

  getTopic(name: string): TopicMetadata | undefined {
    return this.topics.get(name)?.meta;
  }

  getTopicById(topicId: string): TopicMetadata | undefined {
    return this.topics.getById(topicId)?.meta;
  }

  createTopic(name: string, partitions: number, configs: Record<string, string>, topicId: string): TopicMetadata {
    this.assertOpen();
    const meta = this.topics.checkNew(name, partitions, configs, topicId);
    this.topics.add({ meta, logs: Array.from({ length: partitions }, (_, p) => this.newLog(meta, p)) });
    return meta;
  }

  /** Memory partitions cost no file system calls: created at once. */
  createTopicInSteps(name: string, partitions: number, configs: Record<string, string>, topicId: string): Promise<TopicMetadata> {
    try {
      return Promise.resolve(this.createTopic(name, partitions, configs, topicId));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  deleteTopic(name: string): void {
    this.assertOpen();
    this.topics.remove(name);
  }

  addPartitions(name: string, totalPartitions: number): TopicMetadata {
    this.assertOpen();
    return this.topics.grow(name, totalPartitions, (meta, p) => this.newLog(meta, p)).meta;
  }

  setTopicConfigs(name: string, configs: Record<string, string>): TopicMetadata {
    this.assertOpen();
    return this.topics.setConfigs(name, configs).meta;
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.partition(topic, partition);
  }

  private newLog(meta: TopicMetadata, partition: number): MemoryPartitionLog {
    return new MemoryPartitionLog(meta.name, partition, this.maxPartitionBytes, this.now);
  }

  private nextProducerId = 0;

  allocateProducerIds(count: number): number {
    const first = this.nextProducerId;
    this.nextProducerId += count;
    return first;
  }

  async close(): Promise<void> {
    this.isOpen = false;
  }

  private assertOpen(): void {
    if (!this.isOpen) throw new Error('Log manager is not open');
  }
}
