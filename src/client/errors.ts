import { errorInfo } from '../protocol/errors.js';

/** A Kafka error code returned by a broker, with Kafka's name and whether a retry can help. */
export class KafkaProtocolError extends Error {
  readonly code: string;
  readonly errorCode: number;
  readonly retriable: boolean;

  constructor(errorCode: number, detail?: string | null) {
    const info = errorInfo(errorCode);
    super(detail !== undefined && detail !== null && detail !== '' ? `${info.name}: ${detail}` : `${info.name}: ${info.message}`);
    this.code = info.name;
    this.errorCode = errorCode;
    this.retriable = info.retriable;
  }
}

/**
 * ILLEGAL_STATE: a call the object's state does not allow (a transactional send outside a
 * transaction, commit without begin). TRANSACTION_ABORTED: a record dropped because its transaction
 * was aborted before it was sent. TIMEOUT: a blocking call ran out of maxBlockMs.
 */
export type ClientErrorCode =
  | 'CONNECTION_CLOSED'
  | 'REQUEST_TIMED_OUT'
  | 'CONNECTION_FAILED'
  | 'UNSUPPORTED_VERSION'
  | 'CLIENT_CLOSED'
  | 'DELIVERY_TIMEOUT'
  | 'INVALID_ARGUMENT'
  | 'PROTOCOL_ERROR'
  | 'ILLEGAL_STATE'
  | 'TRANSACTION_ABORTED'
  | 'TIMEOUT';

/** Failures of the client itself (not a Kafka error code): stable `code` strings. */
export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly retriable = code !== 'CLIENT_CLOSED' && code !== 'INVALID_ARGUMENT' && code !== 'UNSUPPORTED_VERSION' && code !== 'ILLEGAL_STATE' && code !== 'TRANSACTION_ABORTED',
  ) {
    super(message);
  }
}

export function isRetriable(err: unknown): boolean {
  return (err instanceof KafkaProtocolError || err instanceof ClientError) && err.retriable;
}
