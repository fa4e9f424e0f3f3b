/**
 * The Kafka error codes this module can produce. Kept local so the records
 * code does not depend on the central error table; the numbers are fixed by
 * the wire protocol, so the two cannot drift.
 */
export const RecordErrorCode = {
  /** Retriable in Kafka clients: used for damage that a resend may fix (CRC, torn bytes). */
  CORRUPT_MESSAGE: 2,
  /** Not retriable: used for oversize batches and decompression bombs so clients give up. */
  MESSAGE_TOO_LARGE: 10,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_RECORD: 87,
} as const;

export type RecordErrorCode = (typeof RecordErrorCode)[keyof typeof RecordErrorCode];
