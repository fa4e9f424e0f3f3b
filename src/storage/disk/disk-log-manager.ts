import { join } from 'node:path';
import { assertPartitionBudget } from '../topic-rules.js';
import type { Clock, TimerHandle } from '../../io/clock.js';
import type { FileSystem } from '../../io/file-system.js';
import { resolveLogConfig, withDefaults } from '../log-config.js';
import { TopicRegistry, type TopicEntry as RegistryEntry } from '../topic-registry.js';
import type { LogManager, LogManagerOptions, PartitionLog, TopicMetadata } from '../types.js';
import { formatCheckpoint, readCheckpoint, topicPartitionKey, writeCheckpoint } from './checkpoint-file.js';
import {
  CLEAN_SHUTDOWN_FILE,
  LOG_START_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  TOPICS_FILE,
  PRODUCER_IDS_FILE,
  parsePartitionDirName,
  partitionDir,
} from './log-dir-layout.js';
import { FILE_HANDLES_MAX, FileHandleCache, type FileHandleStats } from './file-handle-cache.js';
import { DiskPartitionLog, type PartitionLogHooks } from './partition-log.js';
import { readPartitionTopicId, writePartitionMetadata } from './partition-metadata-file.js';
import { loadProducerState } from './producer-state-store.js';
import { loadPartition } from './recovery.js';
import { readTopicsFile, writeTopicsFile } from './topics-file.js';

export interface DiskLogManagerParams {
  readonly logDir: string;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly options?: Partial<LogManagerOptions>;
  /** How often recovery points are checkpointed (Kafka's log.flush.offset.checkpoint.interval.ms). */
  readonly checkpointIntervalMs?: number;
  /** Failures of work nobody awaits: background flushes, periodic checkpoints. */
  readonly onBackgroundError?: (error: unknown) => void;
  /** Segment files open at most (FileHandleCache); FILE_HANDLES_MAX by default. */
  readonly fileHandlesMax?: number;
}

/**
 * createTopicInSteps pauses after this many partitions: each costs a directory and four files created
 * synchronously (about 2.5 ms on the benchmark VM), so a step holds the event loop for ~40 ms.
 */
export const CREATE_TOPIC_STEP_PARTITIONS = 16;

/** Kafka's log.flush.offset.checkpoint.interval.ms default. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;

/** What the last open() found, for operators and tests. */
export interface RecoverySummary {
  readonly hadCleanShutdown: boolean;
  readonly partitions: number;
  readonly recoveredSegments: number;
  readonly discardedBytes: number;
}

type TopicEntry = RegistryEntry<DiskPartitionLog>;

type ManagerState = 'new' | 'open' | 'closing' | 'closed';

/**
 * The on-disk engine: one log directory holding a directory per partition, Kafka's checkpoint files,
 * the clean-shutdown marker and fjord-topics.json.
 *
 * Recovery points are checkpointed on a timer and at close (a stale one only means recovery reads
 * more), and at once whenever topics are created, grown or deleted: a stale entry must never be
 * applied to a new partition reusing the name. deleteTopic removes directories directly; Kafka renames
 * them to "-delete" first so the deletion can run in the background, which we do not need. Leftover
 * directories (a crash mid-delete) are recognised by their partition.metadata at the next open().
 */
export class DiskLogManager implements LogManager {
  /** The caller's file system behind the cache that bounds open segment files. */
  private readonly fs: FileHandleCache;
  private readonly clock: Clock;
  private readonly logDir: string;
  private readonly options: LogManagerOptions;
  private readonly checkpointIntervalMs: number;
  private readonly reportBackgroundError: (error: unknown) => void;
  /** Bounded by MAX_PARTITIONS_PER_LOG_MANAGER through the partition budget. */
  private readonly topics = new TopicRegistry<DiskPartitionLog>();
  private state: ManagerState = 'new';
  private checkpointTimer: TimerHandle | null = null;
  /** Topics createTopicInSteps is still creating: their names and ids are taken, their partitions counted. */
  private readonly creating = new Map<string, { topicId: string; partitions: number }>();
  /** Topic names in the recovery-point and log-start checkpoint files as last written. */
  private readonly recoveryCheckpointTopics = new Set<string>();
  private readonly logStartCheckpointTopics = new Set<string>();
  private logStartCheckpointDirty = false;
  /** Last checkpoint text written, to skip rewriting (and fsyncing) an unchanged file. */
  private lastRecoveryCheckpoint = '';
  private recovery: RecoverySummary | null = null;
  /** The most recent background failure, kept when no handler was given. */
  lastBackgroundError: unknown = undefined;

  private readonly hooks: PartitionLogHooks = {
    onFlushed: () => {
      if (this.state === 'open' && this.logStartCheckpointDirty) this.guard(() => this.writeLogStartCheckpoint());
    },
    onLogStartAdvanced: () => {
      this.logStartCheckpointDirty = true;
    },
    onBackgroundError: (err) => this.reportBackgroundError(err),
  };

  constructor(params: DiskLogManagerParams) {
    this.fs = new FileHandleCache(params.fs, params.fileHandlesMax ?? FILE_HANDLES_MAX);
    this.clock = params.clock;
    this.logDir = params.logDir;
    this.options = withDefaults(params.options);
    this.checkpointIntervalMs = params.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.reportBackgroundError =
      params.onBackgroundError ??
      ((err) => {
        this.lastBackgroundError = err;
      });
  }

  async open(): Promise<void> {
    if (this.state === 'open' || this.state === 'closing') throw new Error('Log manager is already open');
    this.topics.clear();
    const fs = this.fs;
    fs.mkdirp(this.logDir);
    const marker = join(this.logDir, CLEAN_SHUTDOWN_FILE);
    const hadCleanShutdown = fs.exists(marker);
    const topics = readTopicsFile(fs, join(this.logDir, TOPICS_FILE));
    const recoveryPoints = readCheckpoint(fs, join(this.logDir, RECOVERY_POINT_CHECKPOINT_FILE));
    const logStarts = readCheckpoint(fs, join(this.logDir, LOG_START_CHECKPOINT_FILE));
    this.removeOrphanPartitionDirs(topics);

    let recoveredSegments = 0;
    let discardedBytes = 0;
    for (const meta of topics) {
      const entry: TopicEntry = { meta, logs: [] };
      for (let p = 0; p < meta.partitions; p++) {
        const key = topicPartitionKey(meta.name, p);
        const { log, loaded } = this.loadLog(meta, p, hadCleanShutdown, recoveryPoints.get(key), logStarts.get(key));
        recoveredSegments += loaded.recoveredSegments;
        discardedBytes += loaded.discardedBytes;
        entry.logs.push(log);
      }
      this.topics.add(entry);
    }
    this.recovery = { hadCleanShutdown, partitions: this.topics.partitionCount, recoveredSegments, discardedBytes };

    // Before accepting writes: a checkpoint from before a truncation would vouch for offsets that
    // the truncation removed and new, unsynced appends will reuse.
    this.writeRecoveryCheckpoint();
    this.writeLogStartCheckpoint();
    if (hadCleanShutdown) {
      // From here on the files change; a crash must not find a marker claiming they are clean.
      fs.unlink(marker);
      await fs.fsyncDir(this.logDir);
    }
    this.state = 'open';
    this.armCheckpointTimer();
  }

  /** Open segment files and their bound, for operators, benchmarks and tests. */
  fileHandleStats(): FileHandleStats {
    return this.fs.stats();
  }

  /** What the last open() found. */
  lastRecovery(): RecoverySummary | null {
    return this.recovery;
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
    const meta = this.checkNewTopic(name, partitions, configs, topicId);
    const entry: TopicEntry = { meta, logs: [] };
    for (let p = 0; p < partitions; p++) entry.logs.push(this.createLog(meta, p));
    return this.addCreated(entry);
  }

  async createTopicInSteps(name: string, partitions: number, configs: Record<string, string>, topicId: string, pause: () => Promise<void>): Promise<TopicMetadata> {
    this.assertOpen();
    const meta = this.checkNewTopic(name, partitions, configs, topicId);
    const entry: TopicEntry = { meta, logs: [] };
    this.creating.set(name, { topicId, partitions });
    try {
      for (let p = 0; p < partitions; p++) {
        if (p > 0 && p % CREATE_TOPIC_STEP_PARTITIONS === 0) {
          await pause();
          if (this.state !== 'open') throw new Error(`Log manager closed while creating topic '${name}'`);
        }
        entry.logs.push(this.createLog(meta, p));
      }
    } catch (err) {
      // Never registered, so nothing else knows these logs: close them and take their directories
      // away (a crash here leaves directories open() removes as orphans: the topics file never named them).
      for (const log of entry.logs) {
        try {
          log.closeForDelete();
          this.fs.rmrf(log.dir);
        } catch {
          // Best effort (the manager may be closed under us); the first error is the one that matters.
        }
      }
      throw err;
    } finally {
      this.creating.delete(name);
    }
    return this.addCreated(entry);
  }

  /** The registry's checks, counting topics still being created in steps too. */
  private checkNewTopic(name: string, partitions: number, configs: Record<string, string>, topicId: string): TopicMetadata {
    if (this.creating.has(name)) throw new Error(`Topic '${name}' already exists (being created)`);
    for (const c of this.creating.values()) if (c.topicId === topicId) throw new Error(`Topic id ${topicId} is already in use`);
    let pending = 0;
    for (const c of this.creating.values()) pending += c.partitions;
    assertPartitionBudget(this.topics.partitionCount + pending, partitions);
    return this.topics.checkNew(name, partitions, configs, topicId);
  }

  private addCreated(entry: TopicEntry): TopicMetadata {
    const { meta } = entry;
    const name = meta.name;
    this.topics.add(entry);
    this.persistTopics();
    // Normally no checkpoint rewrite: a partition missing from the checkpoints recovers from offset 0
    // and starts its log at 0, which is exactly right for a new one. Rewriting both files for every
    // partition of every topic at each creation made creating topics one by one quadratic (11 s for
    // 100 x 100 partitions). Only if a file still names an earlier topic of this name (its deletion
    // failed to rewrite them) must they be rewritten, or they would vouch for offsets of the old log.
    if (this.checkpointsName(name)) {
      this.writeRecoveryCheckpoint();
      this.writeLogStartCheckpoint();
    }
    return meta;
  }

  deleteTopic(name: string): void {
    this.assertOpen();
    const entry = this.topics.remove(name);
    // Forget the topic durably first: a crash after this leaves orphan directories, which open()
    // removes; a crash before it leaves the topic intact.
    this.persistTopics();
    this.writeRecoveryCheckpoint();
    this.writeLogStartCheckpoint();
    for (const log of entry.logs) {
      log.closeForDelete();
      this.fs.rmrf(log.dir);
    }
  }

  addPartitions(name: string, totalPartitions: number): TopicMetadata {
    this.assertOpen();
    const entry = this.topics.grow(name, totalPartitions, (meta, p) => this.createLog(meta, p));
    this.persistTopics();
    // New partitions need no checkpoint entry (see createTopic); the files never name a partition
    // this topic did not have, since shrinking is impossible and deletion rewrites them.
    return entry.meta;
  }

  setTopicConfigs(name: string, configs: Record<string, string>): TopicMetadata {
    this.assertOpen();
    const entry = this.topics.setConfigs(name, configs);
    this.persistTopics();
    const config = resolveLogConfig(this.options, entry.meta.configs);
    for (const log of entry.logs) log.updateConfig(config);
    return entry.meta;
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.partition(topic, partition);
  }

  /** `fjord-producer-ids`: the first producer id not yet handed out, as decimal text. */
  allocateProducerIds(count: number): number {
    const path = join(this.logDir, PRODUCER_IDS_FILE);
    let next = 0;
    if (this.fs.exists(path)) {
      const parsed = Number(this.fs.readFile(path).toString('utf8').trim());
      if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`${path} is damaged`);
      next = parsed;
    }
    this.fs.writeFileAtomic(path, Buffer.from(`${next + count}\n`));
    return next;
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.checkpointTimer?.cancel();
    this.checkpointTimer = null;
    const results = await Promise.allSettled(this.allLogs().map((log) => log.close()));
    let checkpointError: unknown = undefined;
    try {
      this.writeRecoveryCheckpoint();
      this.writeLogStartCheckpoint();
    } catch (err) {
      // Disk full or failing: recovery will start from the older checkpoint, which is only slower.
      checkpointError = err;
    }
    this.state = 'closed';
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected') ?? (checkpointError === undefined ? undefined : { reason: checkpointError });
    // Only a log that is entirely on disk may be trusted without recovery next time.
    if (failed !== undefined) throw failed.reason;
    this.fs.writeFileAtomic(join(this.logDir, CLEAN_SHUTDOWN_FILE), new Uint8Array(0));
  }

  private loadLog(
    meta: TopicMetadata,
    partition: number,
    hadCleanShutdown: boolean,
    recoveryPoint: number | undefined,
    logStartOffset: number | undefined,
  ): { log: DiskPartitionLog; loaded: ReturnType<typeof loadPartition> } {
    const dir = partitionDir(this.logDir, meta.name, partition);
    if (readPartitionTopicId(this.fs, dir) === null) {
      this.fs.mkdirp(dir);
      writePartitionMetadata(this.fs, dir, meta.topicId);
    }
    const config = resolveLogConfig(this.options, meta.configs);
    const loaded = loadPartition({ fs: this.fs, dir, nowMs: this.clock.now(), config, hadCleanShutdown, recoveryPoint, logStartOffset });
    const { producers } = loadProducerState(this.fs, dir, `${meta.name}-${partition}`, loaded.segments, loaded.logStartOffset, loaded.logEndOffset);
    const log = new DiskPartitionLog({
      producers,
      topic: meta.name,
      partition,
      dir,
      fs: this.fs,
      clock: this.clock,
      config,
      loaded,
      hooks: this.hooks,
    });
    return { log, loaded };
  }

  private createLog(meta: TopicMetadata, partition: number): DiskPartitionLog {
    // Anything already there belongs to no live topic (open() removed orphans it recognised).
    this.fs.rmrf(partitionDir(this.logDir, meta.name, partition));
    return this.loadLog(meta, partition, true, undefined, undefined).log;
  }

  /** Remove partition directories no live topic owns: deleted topics, ids that do not match. */
  private removeOrphanPartitionDirs(topics: readonly TopicMetadata[]): void {
    const byName = new Map(topics.map((t) => [t.name, t]));
    for (const name of this.fs.readdir(this.logDir)) {
      const path = join(this.logDir, name);
      const parsed = parsePartitionDirName(name);
      if (parsed === null) continue;
      const topicId = readPartitionTopicId(this.fs, path);
      if (topicId === null) continue; // not a partition directory of ours
      const meta = byName.get(parsed.topic);
      if (meta === undefined || meta.topicId !== topicId || parsed.partition >= meta.partitions) this.fs.rmrf(path);
    }
  }

  private allLogs(): DiskPartitionLog[] {
    return this.topics.allLogs();
  }

  private persistTopics(): void {
    writeTopicsFile(this.fs, join(this.logDir, TOPICS_FILE), this.listTopics());
  }

  private writeRecoveryCheckpoint(): void {
    const entries = this.allLogs().map((l) => ({ topic: l.topic, partition: l.partition, offset: l.recoveryPoint() }));
    const text = formatCheckpoint(entries);
    if (text === this.lastRecoveryCheckpoint) return;
    writeCheckpoint(this.fs, join(this.logDir, RECOVERY_POINT_CHECKPOINT_FILE), entries);
    this.lastRecoveryCheckpoint = text;
    this.noteCheckpointed(entries, this.recoveryCheckpointTopics);
  }

  private writeLogStartCheckpoint(): void {
    const entries = this.allLogs().map((l) => ({ topic: l.topic, partition: l.partition, offset: l.logStartOffset() }));
    writeCheckpoint(this.fs, join(this.logDir, LOG_START_CHECKPOINT_FILE), entries);
    this.logStartCheckpointDirty = false;
    this.noteCheckpointed(entries, this.logStartCheckpointTopics);
  }

  /** Does either checkpoint file, as last written, name this topic? */
  private checkpointsName(topic: string): boolean {
    return this.recoveryCheckpointTopics.has(topic) || this.logStartCheckpointTopics.has(topic);
  }

  private noteCheckpointed(entries: ReadonlyArray<{ topic: string }>, into: Set<string>): void {
    into.clear();
    for (const e of entries) into.add(e.topic);
  }

  private armCheckpointTimer(): void {
    this.checkpointTimer = this.clock.setTimer(this.checkpointIntervalMs, () => {
      if (this.state !== 'open') return;
      this.guard(() => {
        this.writeRecoveryCheckpoint();
        if (this.logStartCheckpointDirty) this.writeLogStartCheckpoint();
      });
      this.armCheckpointTimer();
    });
  }

  private guard(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.reportBackgroundError(err);
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error('Log manager is not open');
  }
}
