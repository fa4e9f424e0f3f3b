import type { LogManagerOptions } from './types.js';

/** Per-topic config keys the log honours, as Kafka names them. */
export const SEGMENT_BYTES_CONFIG = 'segment.bytes';
export const SEGMENT_MS_CONFIG = 'segment.ms';
export const INDEX_INTERVAL_BYTES_CONFIG = 'index.interval.bytes';
export const FLUSH_MESSAGES_CONFIG = 'flush.messages';
export const FLUSH_MS_CONFIG = 'flush.ms';
export const CLEANUP_POLICY_CONFIG = 'cleanup.policy';
export const MAX_COMPACTION_LAG_MS_CONFIG = 'max.compaction.lag.ms';

/** Kafka's Long.MAX_VALUE default for flush.messages/flush.ms, as the nearest number. */
export const LONG_MAX_VALUE = 9223372036854775807;

/** Offsets and positions in the index files are int32, which caps a segment's size. */
export const MAX_SEGMENT_BYTES = 0x7fffffff;

/** Kafka's broker defaults. */
export const DEFAULT_LOG_MANAGER_OPTIONS: LogManagerOptions = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  indexIntervalBytes: 4096,
  flushMessages: LONG_MAX_VALUE,
  flushMs: LONG_MAX_VALUE,
};

/** The effective settings of one topic's logs. */
export type LogConfig = LogManagerOptions;

export function withDefaults(options: Partial<LogManagerOptions> = {}): LogManagerOptions {
  return { ...DEFAULT_LOG_MANAGER_OPTIONS, ...options };
}

/** True for the "never" values (Long.MAX_VALUE, anything past 2^53, Infinity). */
export function isNever(value: number): boolean {
  return !Number.isFinite(value) || value >= Number.MAX_SAFE_INTEGER;
}

function override(configs: Readonly<Record<string, string>>, key: string, fallback: number, min: number): number {
  const raw = configs[key];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  // The config handlers validate; a value that slipped through falls back rather than breaking the log.
  return Number.isFinite(value) && value >= min ? value : fallback;
}

/**
 * Kafka's LogConfig.maxSegmentMs: a compacted log rolls its active segment at
 * min(segment.ms, max.compaction.lag.ms), so no record waits in the active segment (which the cleaner
 * never touches) longer than the topic's maximum compaction lag.
 */
function rollMs(configs: Readonly<Record<string, string>>, segmentMs: number): number {
  const compact = (configs[CLEANUP_POLICY_CONFIG] ?? '').split(',').map((p) => p.trim()).includes('compact');
  const maxLag = override(configs, MAX_COMPACTION_LAG_MS_CONFIG, Number.POSITIVE_INFINITY, 1);
  return compact && Number.isFinite(maxLag) ? Math.min(segmentMs, maxLag) : segmentMs;
}

export function resolveLogConfig(defaults: LogManagerOptions, configs: Readonly<Record<string, string>>): LogConfig {
  return {
    segmentBytes: Math.min(override(configs, SEGMENT_BYTES_CONFIG, defaults.segmentBytes, 1), MAX_SEGMENT_BYTES),
    segmentMs: rollMs(configs, override(configs, SEGMENT_MS_CONFIG, defaults.segmentMs, 1)),
    indexIntervalBytes: override(configs, INDEX_INTERVAL_BYTES_CONFIG, defaults.indexIntervalBytes, 0),
    flushMessages: override(configs, FLUSH_MESSAGES_CONFIG, defaults.flushMessages, 1),
    flushMs: override(configs, FLUSH_MS_CONFIG, defaults.flushMs, 0),
  };
}
