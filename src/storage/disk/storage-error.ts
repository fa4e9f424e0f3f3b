/**
 * The disk engine's answer when bytes could not be written or synced: the broker maps it to Kafka's
 * KAFKA_STORAGE_ERROR (56), a retriable error, and never acknowledges the append it refers to.
 */
export class KafkaStorageError extends Error {
  readonly code = 'KAFKA_STORAGE_ERROR';
  constructor(message: string, cause?: unknown) {
    super(cause === undefined ? message : `${message}: ${String(cause instanceof Error ? cause.message : cause)}`, cause === undefined ? undefined : { cause });
    this.name = 'KafkaStorageError';
  }
}

/** An fdatasync (or directory fsync) failed: the pages it covered may never reach the disk. */
export class SyncFailedError extends KafkaStorageError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = 'SyncFailedError';
  }
}

/** errno codes of a failing or full disk, as Node reports them in `err.code`. */
const DISK_ERROR_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EIO', 'EDQUOT', 'EROFS', 'EFBIG']);

/** Whether `err` is a storage failure (ours, or a raw disk errno) rather than a programming error. */
export function isStorageFailure(err: unknown): boolean {
  if (err instanceof KafkaStorageError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && DISK_ERROR_CODES.has(code);
}
