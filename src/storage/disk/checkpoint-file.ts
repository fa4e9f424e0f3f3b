import type { FileSystem } from '../../io/file-system.js';
import { MAX_PARTITIONS_PER_LOG_MANAGER } from '../topic-rules.js';

/**
 * Kafka's offset checkpoint files (recovery-point-offset-checkpoint, log-start-offset-checkpoint):
 *
 *   0                       <- format version
 *   2                       <- entry count
 *   orders 0 1532
 *   orders 1 977
 */

const CHECKPOINT_VERSION = 0;

export interface CheckpointEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Map key for a topic-partition. Topic names cannot contain ':', so keys never collide. */
export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/**
 * Entries keyed by topicPartitionKey. A missing or unreadable file gives no entries: the callers'
 * fallbacks (recover from offset 0, log start at the first segment) are safe, just slower or coarser.
 */
export function readCheckpoint(fs: FileSystem, path: string): Map<string, number> {
  const entries = new Map<string, number>();
  if (!fs.exists(path)) return entries;
  const lines = fs.readFile(path).toString('utf8').split('\n');
  const version = Number(lines[0]);
  const count = Number(lines[1]);
  if (version !== CHECKPOINT_VERSION || !Number.isInteger(count) || count < 0 || count > MAX_PARTITIONS_PER_LOG_MANAGER) {
    return entries;
  }
  for (let i = 0; i < count; i++) {
    const fields = (lines[2 + i] ?? '').split(' ');
    const [topic, partition, offset] = [fields[0], Number(fields[1]), Number(fields[2])];
    if (fields.length !== 3 || topic === undefined || topic === '' || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) {
      return new Map();
    }
    entries.set(topicPartitionKey(topic, partition), offset);
  }
  return entries;
}

export function formatCheckpoint(entries: readonly CheckpointEntry[]): string {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  return `${lines.join('\n')}\n`;
}

export function writeCheckpoint(fs: FileSystem, path: string, entries: readonly CheckpointEntry[]): void {
  fs.writeFileAtomic(path, Buffer.from(formatCheckpoint(entries), 'utf8'));
}
