import { join } from 'node:path';

/** File and directory names inside a log directory, matching Kafka's where Kafka has one. */

export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
export const PARTITION_METADATA_FILE = 'partition.metadata';
export const TOPICS_FILE = 'fjord-topics.json';
/** The next unallocated producer id (Kafka keeps producer id blocks in its metadata log). */
export const PRODUCER_IDS_FILE = 'fjord-producer-ids';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
/** Kafka's aborted transaction index, one per segment, present only when it has entries. */
export const TXN_INDEX_SUFFIX = '.txnindex';
/** Producer-state snapshots, named after the offset they describe the state at (not a segment file). */
export const SNAPSHOT_SUFFIX = '.snapshot';
const SNAPSHOT_FILE = /^(\d{20})\.snapshot$/;

/** Kafka pads base offsets to 20 digits so segment files sort by name. */
const SEGMENT_NAME_DIGITS = 20;
const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex|txnindex)$/;

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function partitionDir(logDir: string, topic: string, partition: number): string {
  return join(logDir, partitionDirName(topic, partition));
}

export function segmentFilePath(dir: string, baseOffset: number, suffix: string): string {
  return join(dir, String(baseOffset).padStart(SEGMENT_NAME_DIGITS, '0') + suffix);
}

export interface SegmentFileName {
  readonly baseOffset: number;
  readonly suffix: string;
}

export function parseSegmentFileName(name: string): SegmentFileName | null {
  const m = SEGMENT_FILE.exec(name);
  if (m === null || m[1] === undefined || m[2] === undefined) return null;
  const baseOffset = Number(m[1]);
  return Number.isSafeInteger(baseOffset) ? { baseOffset, suffix: `.${m[2]}` } : null;
}

/** A "<topic>-<partition>" directory name, split at the last dash (topic names may contain dashes). */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return null;
  const partition = Number(name.slice(dash + 1));
  if (!/^\d+$/.test(name.slice(dash + 1)) || !Number.isSafeInteger(partition)) return null;
  return { topic: name.slice(0, dash), partition };
}

/** The offset a `<20 digits>.snapshot` file describes, or null for any other name. */
export function parseSnapshotFileName(name: string): number | null {
  const m = SNAPSHOT_FILE.exec(name);
  if (m === null || m[1] === undefined) return null;
  const offset = Number(m[1]);
  return Number.isSafeInteger(offset) ? offset : null;
}
