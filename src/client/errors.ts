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

/** Failures of the client itself (not a Kafka error code): stable `code` strings. */
export class ClientError extends Error {
  constructor(readonly code: 'CONNECTION_CLOSED' | 'REQUEST_TIMED_OUT' | 'CONNECTION_FAILED' | 'UNSUPPORTED_VERSION' | 'CLIENT_CLOSED' | 'DELIVERY_TIMEOUT' | 'INVALID_ARGUMENT' | 'PROTOCOL_ERROR', message: string, readonly retriable = code !== 'CLIENT_CLOSED' && code !== 'INVALID_ARGUMENT' && code !== 'UNSUPPORTED_VERSION') {
    super(message);
  }
}

export function isRetriable(err: unknown): boolean {
  return (err instanceof KafkaProtocolError || err instanceof ClientError) && err.retriable;
}
