import type { Command } from 'commander';
import type { Acks, CompressionType, ProducerOptions } from '../client/producer/index.js';
import { parseIntOption, UsageError } from './common.js';

/** The producer tuning flags shared by `fjord produce` and `fjord perf produce`. */
export interface ProducerFlags {
  acks?: string;
  compression?: string;
  lingerMs?: string;
  batchSize?: string;
}

export function withProducerFlags(cmd: Command): Command {
  return cmd
    .option('--acks <acks>', 'all (= -1), 1 or 0: how many replicas must have a record before it counts as sent', 'all')
    .option('--compression <codec>', 'none, gzip, snappy, lz4 or zstd', 'none')
    .option('--linger-ms <ms>', 'how long a batch waits for more records (linger.ms; default 5)')
    .option('--batch-size <bytes>', 'close a batch at this many bytes (batch.size; default 16384)');
}

const ACKS: Record<string, Acks> = { all: 'all', '-1': -1, '1': 1, '0': 0 };
const CODECS: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Validated producer options; a bad value is a usage error (exit 2) before anything connects. */
export function producerOptions(f: ProducerFlags): Pick<ProducerOptions, 'acks' | 'compression' | 'lingerMs' | 'batchSize'> {
  const acks = ACKS[f.acks ?? 'all'];
  if (acks === undefined) throw new UsageError(`--acks must be all, -1, 1 or 0, got "${f.acks ?? ''}"`);
  const compression = CODECS.find((c) => c === (f.compression ?? 'none'));
  if (compression === undefined) throw new UsageError(`--compression must be one of ${CODECS.join(', ')}, got "${f.compression ?? ''}"`);
  return {
    acks,
    compression,
    ...(f.lingerMs !== undefined ? { lingerMs: parseIntOption(f.lingerMs, '--linger-ms', 0) } : {}),
    ...(f.batchSize !== undefined ? { batchSize: parseIntOption(f.batchSize, '--batch-size', 0) } : {}),
  };
}
