/**
 * The shapes of a recorded Kafka-queue history and of the checker's verdict. Kept apart from the checker
 * so a workload can import the history types and the recorder without pulling in the analysis.
 */

/** A message payload. Unique per key: the workload never sends the same value to one key twice. */
export type Value = number | string;

/** `[offset, value]`: the offset is `null` when the outcome of the send is not known (invoke, info, fail). */
export type SendMop = readonly ['send', string, readonly [number | null, Value]];
/** Records a poll returned, per key (topic-partition), in the order the client delivered them. */
export type PollMop = readonly ['poll', Readonly<Record<string, ReadonlyArray<readonly [number, Value]>>>];
/**
 * Consumer offsets a transaction commits (sendOffsetsToTransaction), for a consume-transform-produce
 * workload: per input key, `[from, to]`, the committed position the transaction's consumer resumed
 * from (`null` when unknown) and the position it commits. In transactional checking the committed
 * position is a register: a transaction that resumed from `from` read the commit of the transaction
 * that committed it.
 */
export type OffsetsMop = readonly ['offsets', string, Readonly<Record<string, readonly [number | null, number]>>];
export type Mop = SendMop | PollMop | OffsetsMop;

export type OpType = 'invoke' | 'ok' | 'info' | 'fail';
export type OpF = 'send' | 'poll' | 'txn' | 'assign' | 'subscribe' | 'crash';

export interface Op {
  process: number;
  type: OpType;
  f: OpF;
  /** Micro-operations for send/poll/txn; the keys for assign/subscribe; empty for crash. */
  value: readonly Mop[] | readonly string[];
  /** Keys whose assignment changed (a group rebalance) while this operation ran. */
  rebalanceKeys?: readonly string[];
  /** A stable name for the operation in reports; defaults to its position in the history. */
  index?: number;
}

export const ANOMALY_NAMES = [
  'inconsistent-offsets',
  'duplicate',
  'lost-write',
  'unseen',
  'aborted-read',
  'own-write-in-txn',
  'garbage-read',
  'poll-skip',
  'backward-poll',
  'non-monotonic-send',
  'G0',
  'G1c',
  'exactly-once',
  'later-aborted-read',
  'intermediate-read',
  'offset-chain',
] as const;
export type AnomalyName = (typeof ANOMALY_NAMES)[number];

/** A record as some operation saw it. */
export interface Position {
  offset: number;
  value: Value;
}

export interface InconsistentOffset {
  key: string;
  offset: number;
  /** Every value claimed for the offset, sorted. */
  values: Value[];
  /** For each value (same order), the operations that claimed it, sorted (at most 8 listed). */
  claimedBy: number[][];
}

export interface Duplicate {
  key: string;
  value: Value;
  /** Every offset the value was seen at, ascending. */
  offsets: number[];
}

export interface LostWrite {
  key: string;
  value: Value;
  /** Offset the value is known at (its last one, should it have several). */
  offset: number;
  writer: number;
  writerType: 'ok' | 'info';
  /** The highest-placed record that ok polls read, proving every committed record before it existed. */
  bound: Position & { reader: number };
}

export interface Unseen {
  key: string;
  value: Value;
  /** Offset the broker acknowledged, or null when the writer never learned it. */
  offset: number | null;
  writer: number;
  writerType: 'ok' | 'info';
  /** The end offset (exclusive) the final polls reached: given, or one past the highest offset the history knows of. */
  endOffset: number;
  endSource: 'given' | 'inferred';
  /** Highest offset any ok poll read for the key, or null if none did. */
  maxReadOffset: number | null;
}

export interface AbortedRead {
  key: string;
  value: Value;
  offset: number;
  reader: number;
  writer: number;
}

export interface OwnWriteInTxn {
  key: string;
  value: Value;
  offset: number;
  op: number;
}

export interface GarbageRead {
  key: string;
  value: Value;
  offset: number;
  reader: number;
  readerType: 'ok' | 'info' | 'fail';
}

export interface PollSkip {
  key: string;
  process: number;
  /** [operation of the earlier read, operation of the later read]; equal when inside one operation. */
  ops: [number, number];
  from: Position;
  to: Position;
  /** Difference of dense log indexes (gaps left by transaction markers do not count). */
  delta: number;
  /** The records jumped over (first 8), and how many there were. */
  skipped: Array<{ offset: number; values: Value[] }>;
  skippedCount: number;
}

export interface BackwardPoll {
  key: string;
  process: number;
  ops: [number, number];
  from: Position;
  to: Position;
  delta: number;
}

export interface NonMonotonicSend {
  key: string;
  process: number;
  ops: [number, number];
  from: Position;
  to: Position;
  delta: number;
}

export interface CycleStep {
  from: number;
  to: number;
  key: string;
  /** The value that links the two: read by `to` after `from` sent it (wr), or sent next after it (ww). */
  value: Value;
  /** For ww steps, the value `from` sent just before `value` in the key's order. */
  previous?: Value;
}

export interface Cycle {
  /** Every operation in the strongly connected component, sorted. */
  ops: number[];
  /** One concrete cycle through the component, starting at its smallest operation. */
  steps: CycleStep[];
}

export interface ExactlyOnceViolation {
  key: string;
  value: Value;
  /** The committed transactions that consumed the value, sorted, with where each read it and what it sent. */
  consumers: Array<{ op: number; process: number; offset: number; sent: Array<[string, Value]> }>;
}

/** Where a read_committed reader stepped over a record: it read `from` and then `to` on the key. */
export interface PassedOver {
  process: number;
  /** The operation that read the record after the gap. */
  op: number;
  from: number;
  to: number;
}

/**
 * A poll returned a record of a transaction whose outcome the writer never learned (info), and a
 * read_committed reader later read past that transaction's records without seeing any of them: the
 * transaction aborted (or the second reader lost a committed transaction). Either way one of the two
 * reads is wrong.
 */
export interface LaterAbortedRead {
  key: string;
  value: Value;
  offset: number;
  reader: number;
  readerType: 'ok' | 'info' | 'fail';
  writer: number;
  /** The reader that stepped over the transaction's record(s), and the first record it stepped over. */
  passedBy: PassedOver & { key: string; offset: number; value: Value };
}

/**
 * G1b-like: one read_committed reader (a process) saw part of a transaction and read past the rest.
 * Transactions are atomic for read_committed readers, so it should have seen all of it or none.
 */
export interface IntermediateRead {
  writer: number;
  writerType: 'ok' | 'info' | 'fail';
  process: number;
  /** The transaction's records the reader saw, and those it read past (first 8 of each). */
  seen: Array<{ key: string; offset: number; value: Value }>;
  passed: Array<{ key: string; offset: number; value: Value; by: PassedOver }>;
}

/**
 * The committed consumer positions of one group on one input key, as committed transactions resumed
 * and committed them, must form a chain: each resumes exactly where the one before committed. A `gap`
 * means a committed transaction resumed from a position no committed transaction committed (an
 * uncommitted or aborted offset commit was read, or records were skipped); an `overlap` that two
 * committed transactions consumed the same range.
 */
export interface OffsetChainBreak {
  group: string;
  key: string;
  kind: 'gap' | 'overlap';
  prev: { op: number; from: number | null; to: number };
  next: { op: number; from: number | null; to: number };
}

export interface AnomalyDetails {
  'inconsistent-offsets': InconsistentOffset;
  duplicate: Duplicate;
  'lost-write': LostWrite;
  unseen: Unseen;
  'aborted-read': AbortedRead;
  'own-write-in-txn': OwnWriteInTxn;
  'garbage-read': GarbageRead;
  'poll-skip': PollSkip;
  'backward-poll': BackwardPoll;
  'non-monotonic-send': NonMonotonicSend;
  G0: Cycle;
  G1c: Cycle;
  'exactly-once': ExactlyOnceViolation;
  'later-aborted-read': LaterAbortedRead;
  'intermediate-read': IntermediateRead;
  'offset-chain': OffsetChainBreak;
}

/** Only anomalies that occurred are present, each with a non-empty, sorted list. */
export type Anomalies = { [K in AnomalyName]?: Array<AnomalyDetails[K]> };

export interface CheckOptions {
  /** Anomalies that do not make the history invalid (G0 always is; see `subscription`). */
  allowed?: readonly AnomalyName[];
  /** Consumers used group subscription, so rebalances may legitimately skip or rewind polls. */
  subscription?: boolean;
  /** Check that committed transactions consumed each input value at most once. */
  exactlyOnce?: boolean;
  /**
   * Per key, the log end offset (exclusive, as ListOffsets "latest" reports it) that the final catch-up
   * polls are known to have reached. Turns the unseen check on for exactly these keys.
   */
  finalOffsets?: Readonly<Record<string, number>>;
  /**
   * The history is of transactions read by read_committed consumers: turns on the checks that need
   * that isolation (later-aborted reads, intermediate reads, the consumer-offset chain) and adds the
   * consumer-offset dependencies of `offsets` micro-operations to the G1c graph.
   */
  transactional?: boolean;
}

export interface CheckStats {
  /** Entries in the history. */
  ops: number;
  invokes: number;
  ok: number;
  info: number;
  fail: number;
  /** Invocations that never completed; judged as info. */
  unmatchedInvokes: number;
  /** Completions with no invocation before them (hand-written histories may omit invokes). */
  unpairedCompletions: number;
  keys: number;
  /** Distinct (key, value) pairs any completion sent. */
  sentValues: number;
  /** Distinct (key, value) pairs sent by operations that must have committed. */
  committedValues: number;
  /** Distinct (key, value) pairs ok operations read. */
  readValues: number;
  /** info operations proven committed because an ok operation read one of their values. */
  infoCommitted: number;
  transactions: number;
  /** Where the unseen check took its end offsets from. */
  unseenSource: 'given' | 'inferred';
  /** Keys the unseen check covered, and keys it could not (final polls did not reach the end). */
  unseenCheckedKeys: string[];
  unseenSkippedKeys: string[];
  /** (key, value) pairs consumed by committed transactions, when `exactlyOnce` is on. */
  consumedInputs: number;
  /** Transactional checking: committed consumer-offset commits chained, and records read past by readers. */
  offsetCommits: number;
  passedRecords: number;
}

export interface CheckResult {
  valid: boolean;
  anomalies: Anomalies;
  /** Names of every anomaly found, in ANOMALY_NAMES order. */
  anomalyTypes: AnomalyName[];
  /** The subset that is not allowed; the history is valid exactly when this is empty. */
  badAnomalyTypes: AnomalyName[];
  stats: CheckStats;
}
