import { assertPartitionBudget, assertValidTopicName } from './topic-rules.js';
import type { PartitionLog, TopicMetadata } from './types.js';

export interface TopicEntry<L extends PartitionLog> {
  meta: TopicMetadata;
  readonly logs: L[];
}

/**
 * The topic bookkeeping both engines share: topics by name and by id, the partition budget, and the
 * rules a new topic or more partitions must pass. The engines add what is theirs (files, checkpoints).
 */
export class TopicRegistry<L extends PartitionLog> {
  /** Bounded by the partition budget (topic-rules.ts). */
  private readonly byName = new Map<string, TopicEntry<L>>();
  private readonly byId = new Map<string, TopicEntry<L>>();
  private partitions = 0;

  get partitionCount(): number {
    return this.partitions;
  }

  list(): TopicMetadata[] {
    return [...this.byName.values()].map((e) => e.meta);
  }

  get(name: string): TopicEntry<L> | undefined {
    return this.byName.get(name);
  }

  getById(topicId: string): TopicEntry<L> | undefined {
    return this.byId.get(topicId);
  }

  /** The entry of an existing topic; an unknown name is a caller's mistake. */
  require(name: string): TopicEntry<L> {
    const entry = this.byName.get(name);
    if (entry === undefined) throw new Error(`Unknown topic '${name}'`);
    return entry;
  }

  /** Check that a topic can be created; returns its metadata (nothing is registered yet). */
  checkNew(name: string, partitions: number, configs: Record<string, string>, topicId: string): TopicMetadata {
    assertValidTopicName(name);
    if (this.byName.has(name)) throw new Error(`Topic '${name}' already exists`);
    if (this.byId.has(topicId)) throw new Error(`Topic id ${topicId} is already in use`);
    assertPartitionBudget(this.partitions, partitions);
    return { name, topicId, partitions, configs: { ...configs } };
  }

  add(entry: TopicEntry<L>): void {
    this.byName.set(entry.meta.name, entry);
    this.byId.set(entry.meta.topicId, entry);
    this.partitions += entry.logs.length;
  }

  remove(name: string): TopicEntry<L> {
    const entry = this.require(name);
    this.byName.delete(name);
    this.byId.delete(entry.meta.topicId);
    this.partitions -= entry.logs.length;
    return entry;
  }

  /** Grow a topic to `total` partitions with logs made by `makeLog`. */
  grow(name: string, total: number, makeLog: (meta: TopicMetadata, partition: number) => L): TopicEntry<L> {
    const entry = this.require(name);
    const current = entry.meta.partitions;
    assertPartitionBudget(this.partitions, total - current);
    for (let p = current; p < total; p++) entry.logs.push(makeLog(entry.meta, p));
    this.partitions += total - current;
    entry.meta = { ...entry.meta, partitions: total };
    return entry;
  }

  setConfigs(name: string, configs: Record<string, string>): TopicEntry<L> {
    const entry = this.require(name);
    entry.meta = { ...entry.meta, configs: { ...configs } };
    return entry;
  }

  partition(topic: string, partition: number): L | undefined {
    return this.byName.get(topic)?.logs[partition];
  }

  allLogs(): L[] {
    return [...this.byName.values()].flatMap((e) => e.logs);
  }

  clear(): void {
    this.byName.clear();
    this.byId.clear();
    this.partitions = 0;
  }
}
