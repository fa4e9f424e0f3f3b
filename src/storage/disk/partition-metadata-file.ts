import { join } from 'node:path';
import type { FileSystem } from '../../io/file-system.js';
import { PARTITION_METADATA_FILE } from './log-dir-layout.js';

/**
 * Kafka's per-partition `partition.metadata`: ties a directory to a topic id, so a directory left over
 * from a deleted topic is never mistaken for a new topic with the same name.
 */

export function writePartitionMetadata(fs: FileSystem, dir: string, topicId: string): void {
  fs.writeFileAtomic(join(dir, PARTITION_METADATA_FILE), Buffer.from(`version: 0\ntopic_id: ${topicId}\n`, 'utf8'));
}

/** The topic id recorded in `dir`, or null when the file is missing or unreadable. */
export function readPartitionTopicId(fs: FileSystem, dir: string): string | null {
  const path = join(dir, PARTITION_METADATA_FILE);
  if (!fs.exists(path)) return null;
  const m = /^topic_id: *(\S+) *$/m.exec(fs.readFile(path).toString('utf8'));
  return m?.[1] ?? null;
}
