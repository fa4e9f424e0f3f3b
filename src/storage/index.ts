import type { Clock } from '../io/clock.js';
import type { FileSystem } from '../io/file-system.js';
import { DiskLogManager } from './disk/disk-log-manager.js';
import { MemoryLogManager } from './memory/memory-log-manager.js';
import type { LogManagerOptions } from './types.js';

export * from './types.js';
export { DEFAULT_LOG_MANAGER_OPTIONS, LONG_MAX_VALUE, resolveLogConfig } from './log-config.js';
export { DiskLogManager, DEFAULT_CHECKPOINT_INTERVAL_MS, type RecoverySummary } from './disk/disk-log-manager.js';
export { MemoryLogManager } from './memory/memory-log-manager.js';

export interface CreateDiskLogManagerParams {
  readonly logDir: string;
  readonly fs: FileSystem;
  readonly clock: Clock;
  /** Broker defaults; anything omitted takes Kafka's default. */
  readonly options?: Partial<LogManagerOptions>;
  /** How often recovery points are checkpointed; Kafka's 60 s by default. */
  readonly checkpointIntervalMs?: number;
  /** Failures of background flushes and checkpoints, which no caller awaits. */
  readonly onBackgroundError?: (error: unknown) => void;
}

export function createDiskLogManager(params: CreateDiskLogManagerParams): DiskLogManager {
  return new DiskLogManager(params);
}

export interface CreateMemoryLogManagerOptions extends Partial<LogManagerOptions> {
  /** Per-partition byte bound for the in-memory engine (oldest batches dropped beyond it). */
  readonly maxPartitionBytes?: number;
  /** Time for transaction marker timestamps (the broker passes its clock). */
  readonly now?: () => number;
}

/**
 * The segment/flush options are accepted for symmetry with the disk engine and ignored: memory has
 * no segments and nothing to sync.
 */
export function createMemoryLogManager(options: CreateMemoryLogManagerOptions = {}): MemoryLogManager {
  return new MemoryLogManager({
    ...(options.maxPartitionBytes === undefined ? {} : { maxPartitionBytes: options.maxPartitionBytes }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}
