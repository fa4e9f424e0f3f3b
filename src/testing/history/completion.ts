/**
 * A completed operation as the checker analyses it: paired with its invocation and its micro-operations
 * parsed. Internal to the checker's modules; workloads use the `Op` format of `types.ts`.
 */
import type { OpF, Value } from './types.js';

export interface Send {
  key: string;
  offset: number | null;
  value: Value;
}

export interface Read {
  key: string;
  offset: number;
  value: Value;
}

/** One key's entry of an `offsets` micro-operation. */
export interface OffsetCommit {
  group: string;
  key: string;
  from: number | null;
  to: number;
}

export interface Completion {
  /** Position among completions; the graph's node id. */
  ord: number;
  /** Name used in reports. */
  index: number;
  process: number;
  type: 'ok' | 'info' | 'fail';
  f: OpF;
  sends: Send[];
  /** Reads per key, in the order the client delivered them. */
  reads: Map<string, Read[]>;
  /** Whether it polled at all (an info poll moved the consumer by records it never reported). */
  polls: boolean;
  /** For assign/subscribe: the keys. */
  keys: string[];
  rebalanceKeys: Set<string>;
  /** Consumer offsets committed with the transaction. */
  offsets: OffsetCommit[];
}
