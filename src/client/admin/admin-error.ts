/** One item of a batch admin call that failed, named the way the error message names it. */
export interface AdminFailure {
  /** e.g. "topic orders", "orders-3", "broker 1". */
  readonly resource: string;
  /** A KafkaProtocolError for a broker's per-item error code, else the ClientError that ended the attempts. */
  readonly error: Error;
}

/**
 * A batch admin call in which some items failed. Kafka answers per item, so one bad topic does not
 * hide the others: `failures` lists every failed item, `results` holds the items that succeeded, and
 * `code` is the first failure's code so a single-item call reads like a plain KafkaProtocolError.
 */
export class AdminError<R = unknown> extends AggregateError {
  override readonly name = 'AdminError';
  readonly code: string;
  readonly failures: readonly AdminFailure[];
  readonly results: readonly R[];

  constructor(operation: string, total: number, failures: readonly AdminFailure[], results: readonly R[]) {
    const list = failures.map((f) => `${f.resource}: ${f.error.message}`).join('; ');
    super(failures.map((f) => f.error), `${operation}: ${failures.length} of ${total} failed: ${list}`);
    const first = failures[0]?.error as { code?: unknown } | undefined;
    this.code = typeof first?.code === 'string' ? first.code : 'UNKNOWN';
    this.failures = failures;
    this.results = results;
  }
}
