import { Reader } from '../../protocol/reader.js';
import { Writer } from '../../protocol/writer.js';
import { decodeTransactionLogKey, encodeTransactionLogKey } from '../../protocol/generated/transaction-log-key.js';
import { decodeTransactionLogValue, encodeTransactionLogValue } from '../../protocol/generated/transaction-log-value.js';
import { offsetsPartitionFor } from '../group/offsets-topic-records.js';
import { TRANSACTION_STATES, TRANSACTION_VERSION_2, TransactionMetadata, type TransactionState } from './transaction-metadata.js';

/**
 * __transaction_state records in Kafka's own layout: key = int16 version 0 + TransactionLogKey,
 * value = int16 version + TransactionLogValue, a tombstone when a transactional id expires.
 *
 * Value version: 0, what Kafka 3.x writes, for transactions driven by pre-KIP-890 clients. A
 * transaction driven with transaction version 2 (EndTxn v5+) needs the tagged fields only the flexible
 * version 1 has (NextProducerId across a restart while it completes, ClientTransactionVersion), so its
 * records are version 1, as Kafka writes once transaction.version 2 is on. Kafka reads both.
 */
export const TRANSACTION_LOG_KEY_VERSION = 0;
export const TRANSACTION_LOG_VALUE_VERSION_MAX = 1;

/** Kafka's state ids in TransactionLogValue.TransactionStatus. */
const STATE_IDS: Readonly<Record<TransactionState, number>> = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
};

export function transactionStateId(state: TransactionState): number {
  return STATE_IDS[state];
}

export function transactionStateFromId(id: number): TransactionState | null {
  return TRANSACTION_STATES[id] ?? null;
}

export interface TransactionStateRecord {
  /** The __transaction_state partition the record belongs to. */
  readonly partition: number;
  readonly key: Buffer;
  /** Null is a tombstone: the transactional id expired. */
  readonly value: Buffer | null;
}

/** What a record holds once decoded; lastProducerEpoch is not in the log (as in Kafka). */
export interface TransactionLogEntry {
  readonly producerId: number;
  readonly previousProducerId: number;
  readonly nextProducerId: number;
  readonly producerEpoch: number;
  readonly txnTimeoutMs: number;
  readonly state: TransactionState;
  readonly partitions: Array<{ topic: string; partition: number }>;
  readonly txnLastUpdateTimestamp: number;
  readonly txnStartTimestamp: number;
  readonly clientTransactionVersion: number;
}

export type ParsedTransactionLogRecord =
  | { kind: 'transaction'; transactionalId: string; value: TransactionLogEntry | null }
  | { kind: 'unknown' };

/** Kafka's partition for a transactional id: abs(Java String.hashCode(id)) % partitions. */
export function transactionStatePartitionFor(transactionalId: string, numPartitions: number): number {
  return offsetsPartitionFor(transactionalId, numPartitions);
}

export function transactionLogKey(transactionalId: string): Buffer {
  const w = new Writer(32);
  w.int16(TRANSACTION_LOG_KEY_VERSION);
  encodeTransactionLogKey(w, { transactionalId }, TRANSACTION_LOG_KEY_VERSION);
  return w.toBuffer();
}

export function transactionLogValue(m: TransactionMetadata): Buffer {
  if (m.state === 'Empty' && m.partitionCount() > 0) throw new Error(`transaction ${m.transactionalId} is Empty but holds partitions`);
  const version = m.clientTransactionVersion >= TRANSACTION_VERSION_2 ? 1 : 0;
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of m.partitionList()) {
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  const w = new Writer(64);
  w.int16(version);
  encodeTransactionLogValue(
    w,
    {
      producerId: BigInt(m.producerId),
      previousProducerId: BigInt(m.previousProducerId),
      nextProducerId: BigInt(m.nextProducerId),
      producerEpoch: m.producerEpoch,
      transactionTimeoutMs: m.txnTimeoutMs,
      transactionStatus: transactionStateId(m.state),
      // Kafka writes a null partition list for Empty.
      transactionPartitions: m.state === 'Empty' ? null : [...byTopic].map(([topic, partitionIds]) => ({ topic, partitionIds })),
      transactionLastUpdateTimestampMs: BigInt(m.txnLastUpdateTimestamp),
      transactionStartTimestampMs: BigInt(m.txnStartTimestamp),
      clientTransactionVersion: m.clientTransactionVersion,
    },
    version,
  );
  return w.toBuffer();
}

export function transactionStateRecord(m: TransactionMetadata, numPartitions: number): TransactionStateRecord {
  return { partition: transactionStatePartitionFor(m.transactionalId, numPartitions), key: transactionLogKey(m.transactionalId), value: transactionLogValue(m) };
}

export function transactionTombstone(transactionalId: string, numPartitions: number): TransactionStateRecord {
  return { partition: transactionStatePartitionFor(transactionalId, numPartitions), key: transactionLogKey(transactionalId), value: null };
}

export function parseTransactionLogRecord(key: Buffer, value: Buffer | null): ParsedTransactionLogRecord {
  const kr = new Reader(key);
  const keyVersion = kr.int16();
  if (!kr.ok || keyVersion !== TRANSACTION_LOG_KEY_VERSION) return { kind: 'unknown' };
  const k = decodeTransactionLogKey(kr, keyVersion);
  if (!kr.ok) return { kind: 'unknown' };
  if (value === null) return { kind: 'transaction', transactionalId: k.transactionalId, value: null };
  const vr = new Reader(value);
  const vv = vr.int16();
  if (!vr.ok || vv < 0 || vv > TRANSACTION_LOG_VALUE_VERSION_MAX) return { kind: 'unknown' };
  const v = decodeTransactionLogValue(vr, vv);
  if (!vr.ok) return { kind: 'unknown' };
  const state = transactionStateFromId(v.transactionStatus);
  if (state === null) return { kind: 'unknown' };
  const partitions: Array<{ topic: string; partition: number }> = [];
  // As Kafka does, partitions of an Empty record are ignored.
  if (state !== 'Empty') for (const t of v.transactionPartitions ?? []) for (const p of t.partitionIds) partitions.push({ topic: t.topic, partition: p });
  return {
    kind: 'transaction',
    transactionalId: k.transactionalId,
    value: {
      producerId: Number(v.producerId),
      previousProducerId: Number(v.previousProducerId),
      nextProducerId: Number(v.nextProducerId),
      producerEpoch: v.producerEpoch,
      txnTimeoutMs: v.transactionTimeoutMs,
      state,
      partitions,
      txnLastUpdateTimestamp: Number(v.transactionLastUpdateTimestampMs),
      txnStartTimestamp: Number(v.transactionStartTimestampMs),
      clientTransactionVersion: v.clientTransactionVersion,
    },
  };
}
