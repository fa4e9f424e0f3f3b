import { ErrorCode } from '../../protocol/errors.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, AddPartitionsToTxnRequestAddPartitionsToTxnTopic, AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult } from '../../protocol/generated/add-partitions-to-txn.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../../protocol/generated/add-offsets-to-txn.js';
import type { EndTxnRequest, EndTxnResponse } from '../../protocol/generated/end-txn.js';
import type { ListTransactionsRequest, ListTransactionsResponse } from '../../protocol/generated/list-transactions.js';
import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from '../../protocol/generated/describe-transactions.js';
import {
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  PRODUCER_EPOCH_MAX,
  TRANSACTION_STATES,
  TRANSACTION_VERSION_2,
  TransactionMetadata,
  isEpochExhausted,
  type TransactionState,
} from './transaction-metadata.js';
import { parseTransactionLogRecord, transactionStateRecord, transactionTombstone, type TransactionStateRecord } from './transaction-log-records.js';

export interface TransactionCoordinatorConfig {
  /** transaction.max.timeout.ms: the largest transaction timeout a producer may ask for. */
  readonly transactionMaxTimeoutMs: number;
  /** transactional.id.expiration.ms: an idle transactional id (Empty/Complete*) is forgotten after this. */
  readonly transactionalIdExpirationMs: number;
  /** transaction.state.log.num.partitions. */
  readonly numPartitions: number;
}

/**
 * Transactional ids one coordinator holds (a named bound, not a Kafka key). Every id costs memory and a
 * record in __transaction_state until it expires, and a client can invent ids without limit. Beyond
 * the bound a new id's InitProducerId gets COORDINATOR_NOT_AVAILABLE: retriable, because idle ids expire
 * after transactional.id.expiration.ms and make room; existing ids keep working.
 */
export const TRANSACTIONAL_IDS_MAX = 100_000;

/** Fjord is one node: it leads every __transaction_state partition from the start, at epoch 0. */
export const COORDINATOR_EPOCH = 0;

const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';

/** Transaction markers to write (WriteTxnMarkers semantics); the runtime calls `markersWritten` once all are durable. */
export interface MarkerRequest {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
  readonly partitions: Array<{ topic: string; partition: number }>;
}

/** A reply to a parked request. The transaction coordinator answers everything at once, so none are made today. */
export interface Reply {
  readonly token: number;
  readonly response: object;
}

/**
 * The outcome of one input: records for __transaction_state (in order, persisted before the response
 * is sent), markers to write, replies to parked requests, and the response when there is one.
 */
export interface Effects<R = object> {
  readonly records: TransactionStateRecord[];
  readonly markers: MarkerRequest[];
  readonly replies: Reply[];
  readonly response?: R;
}

export interface RequestMeta {
  readonly version: number;
  readonly token: number;
}

type TopicResult = Encodable<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult>;

/**
 * Clients older than the version that introduced PRODUCER_FENCED only understand INVALID_PRODUCER_EPOCH
 * (KafkaApis maps it per API: InitProducerId below v4, the others below v2).
 */
function forVersion(code: number, version: number, fencedSince: number): number {
  return code === ErrorCode.PRODUCER_FENCED && version < fencedSince ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
}

function topicResults(topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], codeOf: (topic: string, partition: number) => number): TopicResult[] {
  return topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codeOf(t.name, p) })) }));
}

/**
 * Kafka's transaction coordinator (TransactionCoordinator.scala with the parts of
 * TransactionStateManager that decide things) as a pure state machine. Inputs are decoded requests,
 * marker completions and the passage of time; outputs are __transaction_state records, marker requests
 * and responses. It never touches a socket, a file or a timer: the runtime persists the records before
 * it answers, writes the markers, calls `markersWritten`, and calls `tick` at `nextDeadline()`.
 *
 * Kafka holds a transition "pending" while its record is being appended; Fjord's runtime serializes
 * the coordinator and persists records before answering, so transitions apply when decided.
 */
export class TransactionCoordinator {
  private readonly txns = new Map<string, TransactionMetadata>();

  constructor(
    private readonly config: TransactionCoordinatorConfig,
    private readonly allocateProducerId: () => number,
  ) {
    if (!(config.numPartitions > 0)) throw new Error('numPartitions must be positive');
  }

  // ---------- queries ----------

  transaction(transactionalId: string): TransactionMetadata | undefined {
    return this.txns.get(transactionalId);
  }

  transactionalIds(): string[] {
    return [...this.txns.keys()];
  }

  // ---------- InitProducerId ----------

  handleInitProducerId(req: InitProducerIdRequest, meta: RequestMeta, now: number): Effects<Encodable<InitProducerIdResponse>> {
    const records: TransactionStateRecord[] = [];
    const markers: MarkerRequest[] = [];
    const fail = (errorCode: number): Effects<Encodable<InitProducerIdResponse>> => ({
      records,
      markers,
      replies: [],
      response: { errorCode: forVersion(errorCode, meta.version, 4), producerId: BigInt(NO_PRODUCER_ID), producerEpoch: NO_PRODUCER_EPOCH },
    });
    const transactionalId = req.transactionalId;
    if (transactionalId === null) throw new Error('InitProducerId without a transactional id is answered by the broker');
    if (transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
    if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > this.config.transactionMaxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    // KIP-360 (v3+): a producer recovering from an error names the id and epoch it had; both or neither.
    let expected: { producerId: number; epoch: number } | null = null;
    if (meta.version >= 3) {
      const idGiven = req.producerId !== BigInt(NO_PRODUCER_ID);
      const epochGiven = req.producerEpoch !== NO_PRODUCER_EPOCH;
      if (idGiven !== epochGiven) return fail(ErrorCode.INVALID_REQUEST);
      if (idGiven) expected = { producerId: Number(req.producerId), epoch: req.producerEpoch };
    }

    let m = this.txns.get(transactionalId);
    if (m === undefined) {
      if (this.txns.size >= TRANSACTIONAL_IDS_MAX) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      m = new TransactionMetadata(transactionalId, this.allocateProducerId(), NO_PRODUCER_EPOCH, req.transactionTimeoutMs, now);
      this.txns.set(transactionalId, m);
    }

    if (expected !== null && !this.isValidExpectedProducer(m, expected)) return fail(ErrorCode.PRODUCER_FENCED);

    switch (m.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
        // Markers are being written; the client backs off and retries.
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Ongoing':
        // A new instance of the producer: abort what the old one left open, fencing it with a bumped
        // epoch. That epoch is never returned; the client retries and gets a second bump (or a new id).
        this.fenceAndAbort(m, now, records, markers);
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Empty':
      case 'CompleteCommit':
      case 'CompleteAbort':
        break;
      case 'Dead':
      case 'PrepareEpochFence':
        throw new Error(`transactional id ${transactionalId} in state ${m.state}, which is never kept`);
    }

    const idBefore = m.producerId;
    if (m.isProducerEpochExhausted() && (expected === null || expected.epoch === m.producerEpoch)) {
      // Out of epochs: continue under a new producer id at epoch 0, remembering the old epoch when the
      // producer named it so that a retry of this very request gets the same answer.
      m.lastProducerEpoch = expected !== null ? m.producerEpoch : NO_PRODUCER_EPOCH;
      m.producerId = this.allocateProducerId();
      m.producerEpoch = 0;
    } else if (expected === null) {
      m.lastProducerEpoch = NO_PRODUCER_EPOCH;
      m.producerEpoch += 1;
    } else if (m.producerEpoch === NO_PRODUCER_EPOCH || expected.epoch === m.producerEpoch) {
      m.lastProducerEpoch = m.producerEpoch;
      m.producerEpoch += 1;
    } else if (expected.epoch === m.lastProducerEpoch) {
      // A retry of a bump whose answer the producer never got: the same answer again, no new bump.
    } else {
      return fail(ErrorCode.PRODUCER_FENCED);
    }
    m.previousProducerId = idBefore;
    m.nextProducerId = NO_PRODUCER_ID;
    m.txnTimeoutMs = req.transactionTimeoutMs;
    m.state = 'Empty';
    m.topicPartitions.clear();
    m.txnStartTimestamp = -1;
    m.txnLastUpdateTimestamp = now;
    records.push(this.record(m));
    return { records, markers, replies: [], response: { errorCode: 0, producerId: BigInt(m.producerId), producerEpoch: m.producerEpoch } };
  }

  /**
   * Kafka's isValidProducerId: the named producer may re-initialize when the id is new (epoch -1), its
   * id is the current one (the epoch is judged when bumping), or it is the id before a rotation and its
   * epoch was exhausted (a retry of the rotating call).
   */
  private isValidExpectedProducer(m: TransactionMetadata, expected: { producerId: number; epoch: number }): boolean {
    return m.producerEpoch === NO_PRODUCER_EPOCH || expected.producerId === m.producerId || (expected.producerId === m.previousProducerId && isEpochExhausted(expected.epoch));
  }

  // ---------- AddPartitionsToTxn / AddOffsetsToTxn ----------

  /**
   * v0-3: one transaction from a client. v4+: a batch from a partition leader (KIP-890), each either
   * adding its partitions (transaction version 2) or, with VerifyOnly, checking that they are already in.
   * `partitionExists`, when given, is KafkaApis' metadata check: unknown partitions get
   * UNKNOWN_TOPIC_OR_PARTITION and the rest of that transaction OPERATION_NOT_ATTEMPTED.
   */
  handleAddPartitionsToTxn(
    req: AddPartitionsToTxnRequest,
    meta: RequestMeta,
    now: number,
    partitionExists?: (topic: string, partition: number) => boolean,
  ): Effects<Encodable<AddPartitionsToTxnResponse>> {
    const records: TransactionStateRecord[] = [];
    const one = (transactionalId: string, producerId: bigint, producerEpoch: number, topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], verifyOnly: boolean, transactionVersion: number): TopicResult[] => {
      if (partitionExists !== undefined && topics.some((t) => t.partitions.some((p) => !partitionExists(t.name, p)))) {
        return topicResults(topics, (t, p) => (partitionExists(t, p) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      }
      if (verifyOnly) return this.verifyPartitions(transactionalId, producerId, producerEpoch, topics, meta.version);
      const partitions = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
      const code = forVersion(this.addToTransaction(transactionalId, producerId, producerEpoch, partitions, transactionVersion, now, records), meta.version, 2);
      return topicResults(topics, () => code);
    };
    if (meta.version <= 3) {
      const results = one(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics, false, 0);
      return { records, markers: [], replies: [], response: { resultsByTopicV3AndBelow: results } };
    }
    // v4+ comes from a partition leader on behalf of a transaction-version-2 producer.
    const resultsByTransaction = req.transactions.map((t) => ({
      transactionalId: t.transactionalId,
      topicResults: one(t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly, TRANSACTION_VERSION_2),
    }));
    return { records, markers: [], replies: [], response: { errorCode: 0, resultsByTransaction } };
  }

  handleAddOffsetsToTxn(req: AddOffsetsToTxnRequest, meta: RequestMeta, now: number, offsetsPartitionFor: (groupId: string) => number): Effects<Encodable<AddOffsetsToTxnResponse>> {
    const records: TransactionStateRecord[] = [];
    const partition = offsetsPartitionFor(req.groupId);
    // Kafka adds the group's offsets partition with transaction version 0: this request comes from clients.
    const code = this.addToTransaction(req.transactionalId, req.producerId, req.producerEpoch, [{ topic: CONSUMER_OFFSETS_TOPIC, partition }], 0, now, records);
    return { records, markers: [], replies: [], response: { errorCode: forVersion(code, meta.version, 2) } };
  }

  /** Kafka's handleAddPartitionsToTransaction: an error code, and on success a record when something changed. */
  private addToTransaction(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: Array<{ topic: string; partition: number }>,
    transactionVersion: number,
    now: number,
    records: TransactionStateRecord[],
  ): number {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const m = this.txns.get(transactionalId);
    if (m === undefined || BigInt(m.producerId) !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
    // Already in the transaction: nothing to write.
    if (m.state === 'Ongoing' && partitions.every((p) => m.hasPartition(p.topic, p.partition))) return ErrorCode.NONE;
    if (m.state !== 'Ongoing') {
      // A new transaction starts: its timeout runs from here.
      m.txnStartTimestamp = now;
      m.topicPartitions.clear();
    }
    for (const p of partitions) m.addPartition(p.topic, p.partition);
    m.state = 'Ongoing';
    m.txnLastUpdateTimestamp = now;
    m.clientTransactionVersion = transactionVersion;
    records.push(this.record(m));
    return ErrorCode.NONE;
  }

  /**
   * Kafka's handleVerifyPartitionsInTransaction: no state change. A partition not in the transaction is
   * TRANSACTION_ABORTABLE from v5 (KIP-890); v4 predates that code and gets INVALID_TXN_STATE.
   */
  private verifyPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], version: number): TopicResult[] {
    let error: number | null = null;
    const m = this.txns.get(transactionalId);
    if (transactionalId === '') error = ErrorCode.INVALID_REQUEST;
    else if (m === undefined || BigInt(m.producerId) !== producerId) error = ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    else if (m.producerEpoch !== producerEpoch) error = ErrorCode.PRODUCER_FENCED;
    else if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') error = ErrorCode.CONCURRENT_TRANSACTIONS;
    if (error !== null || m === undefined) {
      const code = error ?? ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      return topicResults(topics, () => code);
    }
    const missing = version >= 5 ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.INVALID_TXN_STATE;
    return topicResults(topics, (t, p) => (m.hasPartition(t, p) ? ErrorCode.NONE : missing));
  }

  // ---------- EndTxn ----------

  /**
   * Ends the transaction: a PrepareCommit/PrepareAbort record, then markers. The response may go out once
   * the record is persisted (Kafka answers before the markers are written). EndTxn v5+ is transaction
   * version 2 (KIP-890 part 2): the epoch is bumped at every transaction end and returned.
   */
  handleEndTxn(req: EndTxnRequest, meta: RequestMeta, now: number): Effects<Encodable<EndTxnResponse>> {
    const records: TransactionStateRecord[] = [];
    const markers: MarkerRequest[] = [];
    const done = (errorCode: number, m?: TransactionMetadata): Effects<Encodable<EndTxnResponse>> => {
      // Only v5+ carries the producer id and epoch; before it Kafka leaves them at -1.
      const view = errorCode === ErrorCode.NONE && m !== undefined && meta.version >= 5 ? this.clientView(m) : { producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH };
      return {
        records,
        markers,
        replies: [],
        response: { errorCode: forVersion(errorCode, meta.version, 2), producerId: BigInt(view.producerId), producerEpoch: view.producerEpoch },
      };
    };
    if (req.transactionalId === '') return done(ErrorCode.INVALID_REQUEST);
    const m = this.txns.get(req.transactionalId);
    if (m === undefined) return done(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const code = meta.version >= 5 ? this.endTransactionV2(m, req, now, records, markers) : this.endTransactionV1(m, req, now, records, markers);
    return done(code, m);
  }

  /** Before KIP-890 part 2: strict epoch equality, no bump; a retry after completion is NONE. */
  private endTransactionV1(m: TransactionMetadata, req: EndTxnRequest, now: number, records: TransactionStateRecord[], markers: MarkerRequest[]): number {
    if (BigInt(m.producerId) !== req.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerEpoch !== req.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    const commit = req.committed;
    switch (m.state) {
      case 'Ongoing':
        m.clientTransactionVersion = 0;
        this.prepareEnd(m, commit, false, now, records, markers);
        return ErrorCode.NONE;
      case 'CompleteCommit':
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case 'CompleteAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case 'PrepareCommit':
        return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
      case 'PrepareAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
      case 'Empty':
        return ErrorCode.INVALID_TXN_STATE;
      case 'Dead':
      case 'PrepareEpochFence':
        throw new Error(`transactional id ${m.transactionalId} in state ${m.state}, which is never kept`);
    }
  }

  /**
   * Transaction version 2: the end bumps the epoch, so "same epoch" means the next transaction and a
   * retry is recognised by the producer holding the epoch just below ours (or, after an overflow, the
   * previous producer id at the last epoch). Kafka's table:
   *
   *                    Abort: retry / current    Commit: retry / current
   *   Empty            FENCED / bump             FENCED / INVALID_TXN_STATE
   *   CompleteAbort    NONE / bump               INVALID_TXN_STATE / INVALID_TXN_STATE
   *   CompleteCommit   INVALID_TXN_STATE / bump  NONE / INVALID_TXN_STATE
   */
  private endTransactionV2(m: TransactionMetadata, req: EndTxnRequest, now: number, records: TransactionStateRecord[], markers: MarkerRequest[]): number {
    const producerId = Number(req.producerId);
    const epoch = req.producerEpoch;
    const retryOnOverflow = m.previousProducerId === producerId && epoch === PRODUCER_EPOCH_MAX - 1 && m.producerEpoch === 0;
    const retryOnEpochBump = m.producerEpoch === epoch + 1;
    const isRetry = retryOnEpochBump || retryOnOverflow;
    let validEpoch: boolean;
    switch (m.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
        validEpoch = retryOnEpochBump;
        break;
      case 'CompleteCommit':
      case 'CompleteAbort':
        validEpoch = isRetry || epoch === m.producerEpoch;
        break;
      default:
        validEpoch = epoch === m.producerEpoch;
    }
    if (m.producerId !== producerId && !retryOnOverflow) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (!validEpoch) return ErrorCode.PRODUCER_FENCED;
    const commit = req.committed;
    const end = (asCommit: boolean, noPartitionAdded: boolean): number => {
      this.bumpForEnd(m);
      this.prepareEnd(m, asCommit, noPartitionAdded, now, records, markers);
      return ErrorCode.NONE;
    };
    switch (m.state) {
      case 'Ongoing':
        return end(commit, false);
      case 'CompleteCommit':
        if (commit) return isRetry ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
        return isRetry ? ErrorCode.INVALID_TXN_STATE : end(false, true);
      case 'CompleteAbort':
        if (!commit) return isRetry ? ErrorCode.NONE : end(false, true);
        return ErrorCode.INVALID_TXN_STATE;
      case 'PrepareCommit':
        return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
      case 'PrepareAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
      case 'Empty':
        // A TV2 producer may abort without knowing whether anything was added.
        return commit ? ErrorCode.INVALID_TXN_STATE : end(false, true);
      case 'Dead':
      case 'PrepareEpochFence':
        throw new Error(`transactional id ${m.transactionalId} in state ${m.state}, which is never kept`);
    }
  }

  /** TV2's bump at the end of a transaction; an exhausted epoch continues under a new producer id after completion. */
  private bumpForEnd(m: TransactionMetadata): void {
    if (m.producerEpoch >= PRODUCER_EPOCH_MAX) throw new Error(`producer epoch of ${m.transactionalId} would overflow`);
    if (m.isProducerEpochExhausted()) m.nextProducerId = this.allocateProducerId();
    m.lastProducerEpoch = m.producerEpoch;
    m.producerEpoch += 1;
    m.clientTransactionVersion = TRANSACTION_VERSION_2;
  }

  /** What the producer should continue with: after an epoch overflow, the next producer id at epoch 0. */
  private clientView(m: TransactionMetadata): { producerId: number; producerEpoch: number } {
    return m.nextProducerId !== NO_PRODUCER_ID ? { producerId: m.nextProducerId, producerEpoch: 0 } : { producerId: m.producerId, producerEpoch: m.producerEpoch };
  }

  /**
   * Kafka's prepareFenceProducerEpoch followed by an abort not from the client (InitProducerId on an
   * Ongoing transaction, or its timeout): one epoch bump, so the old producer's requests are fenced,
   * then PrepareAbort and markers at the bumped epoch.
   */
  private fenceAndAbort(m: TransactionMetadata, now: number, records: TransactionStateRecord[], markers: MarkerRequest[]): void {
    if (m.clientTransactionVersion >= TRANSACTION_VERSION_2) {
      this.bumpForEnd(m);
    } else {
      if (m.producerEpoch >= PRODUCER_EPOCH_MAX) throw new Error(`producer epoch of ${m.transactionalId} would overflow`);
      m.producerEpoch += 1;
      m.lastProducerEpoch = NO_PRODUCER_EPOCH;
    }
    this.prepareEnd(m, false, false, now, records, markers);
  }

  /** Ongoing (or, for TV2 aborts, Empty/Complete*) → Prepare*, then markers, or completion at once when nothing was added. */
  private prepareEnd(m: TransactionMetadata, commit: boolean, noPartitionAdded: boolean, now: number, records: TransactionStateRecord[], markers: MarkerRequest[]): void {
    m.state = commit ? 'PrepareCommit' : 'PrepareAbort';
    if (noPartitionAdded) {
      m.txnStartTimestamp = now;
      m.topicPartitions.clear();
    }
    m.txnLastUpdateTimestamp = now;
    records.push(this.record(m));
    if (m.partitionCount() === 0) this.complete(m, now, records);
    else markers.push(this.markerRequest(m));
  }

  private markerRequest(m: TransactionMetadata): MarkerRequest {
    return {
      transactionalId: m.transactionalId,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      commit: m.state === 'PrepareCommit',
      coordinatorEpoch: COORDINATOR_EPOCH,
      partitions: m.partitionList(),
    };
  }

  /** Kafka's prepareComplete: Prepare* → Complete*, partitions cleared; a TV2 overflow moves to the next producer id. */
  private complete(m: TransactionMetadata, now: number, records: TransactionStateRecord[]): void {
    m.state = m.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort';
    if (m.clientTransactionVersion >= TRANSACTION_VERSION_2) {
      m.previousProducerId = m.producerId;
      if (m.nextProducerId !== NO_PRODUCER_ID) {
        m.producerId = m.nextProducerId;
        m.producerEpoch = 0;
      }
    }
    m.nextProducerId = NO_PRODUCER_ID;
    m.topicPartitions.clear();
    m.txnLastUpdateTimestamp = now;
    records.push(this.record(m));
  }

  // ---------- markers ----------

  /**
   * Every marker of the MarkerRequest for (producerId, producerEpoch) is durable. A stale call (the
   * transaction already completed, or a different producer) changes nothing.
   */
  markersWritten(transactionalId: string, producerId: number, producerEpoch: number, now: number): Effects {
    const records: TransactionStateRecord[] = [];
    const m = this.txns.get(transactionalId);
    if (m !== undefined && m.producerId === producerId && m.producerEpoch === producerEpoch && (m.state === 'PrepareCommit' || m.state === 'PrepareAbort')) {
      this.complete(m, now, records);
    }
    return { records, markers: [], replies: [] };
  }

  /** Transactions left in PrepareCommit/PrepareAbort (after replay): their markers must be written again. */
  pendingMarkers(): MarkerRequest[] {
    const out: MarkerRequest[] = [];
    for (const m of this.txns.values()) if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') out.push(this.markerRequest(m));
    return out;
  }

  // ---------- time ----------

  /** The earliest time `tick` has work to do, or null. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const m of this.txns.values()) {
      let t: number | null = null;
      // Kafka aborts when start + timeout < now, so the first such instant is one past it.
      if (m.state === 'Ongoing') t = m.txnStartTimestamp + m.txnTimeoutMs + 1;
      else if (m.isExpirationAllowed()) t = m.txnLastUpdateTimestamp + this.config.transactionalIdExpirationMs;
      if (t !== null && (next === null || t < next)) next = t;
    }
    return next;
  }

  /**
   * Kafka's abortTimedOutTransactions (fence and abort transactions Ongoing past their timeout) and
   * removeExpiredTransactionalIds (tombstones for ids idle past transactional.id.expiration.ms).
   */
  tick(now: number): Effects {
    const records: TransactionStateRecord[] = [];
    const markers: MarkerRequest[] = [];
    for (const m of [...this.txns.values()]) {
      if (m.state === 'Ongoing' && m.txnStartTimestamp + m.txnTimeoutMs < now) {
        this.fenceAndAbort(m, now, records, markers);
      } else if (m.isExpirationAllowed() && m.txnLastUpdateTimestamp <= now - this.config.transactionalIdExpirationMs) {
        this.txns.delete(m.transactionalId);
        records.push(transactionTombstone(m.transactionalId, this.config.numPartitions));
      }
    }
    return { records, markers, replies: [] };
  }

  // ---------- admin ----------

  /** ListTransactions; v1's DurationFilter keeps transactions running longer than it (as Kafka measures: now - start). */
  handleListTransactions(req: ListTransactionsRequest, now: number): Encodable<ListTransactionsResponse> {
    const known = new Set<string>(TRANSACTION_STATES);
    const unknownStateFilters = req.stateFilters.filter((s) => !known.has(s));
    const states = new Set(req.stateFilters);
    const producerIds = new Set(req.producerIdFilters.map((p) => Number(p)));
    const duration = Number(req.durationFilter);
    const transactionStates = [];
    for (const m of this.txns.values()) {
      if (m.state === 'Dead') continue;
      if (producerIds.size > 0 && !producerIds.has(m.producerId)) continue;
      if (states.size > 0 && !states.has(m.state)) continue;
      if (duration >= 0 && now - m.txnStartTimestamp <= duration) continue;
      transactionStates.push({ transactionalId: m.transactionalId, producerId: BigInt(m.producerId), transactionState: m.state });
    }
    return { errorCode: 0, unknownStateFilters, transactionStates };
  }

  handleDescribeTransactions(req: DescribeTransactionsRequest, now: number): Encodable<DescribeTransactionsResponse> {
    void now;
    return {
      transactionStates: req.transactionalIds.map((transactionalId) => {
        if (transactionalId === '') return { errorCode: ErrorCode.INVALID_REQUEST, transactionalId };
        const m = this.txns.get(transactionalId);
        if (m === undefined || m.state === 'Dead') return { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId };
        return {
          errorCode: 0,
          transactionalId,
          transactionState: m.state,
          transactionTimeoutMs: m.txnTimeoutMs,
          transactionStartTimeMs: BigInt(m.txnStartTimestamp),
          producerId: BigInt(m.producerId),
          producerEpoch: m.producerEpoch,
          topics: [...m.topicPartitions.keys()].sort().map((topic) => ({ topic, partitions: [...m.topicPartitions.get(topic)!].sort((a, b) => a - b) })),
        };
      }),
    };
  }

  // ---------- replay ----------

  /** Rebuilds the state from __transaction_state at start-up, record by record in log order. */
  replay(key: Buffer, value: Buffer | null): void {
    const rec = parseTransactionLogRecord(key, value);
    if (rec.kind !== 'transaction') return;
    if (rec.value === null) {
      this.txns.delete(rec.transactionalId);
      return;
    }
    const v = rec.value;
    let m = this.txns.get(rec.transactionalId);
    if (m === undefined) {
      m = new TransactionMetadata(rec.transactionalId, v.producerId, v.producerEpoch, v.txnTimeoutMs, v.txnLastUpdateTimestamp);
      this.txns.set(rec.transactionalId, m);
    }
    m.producerId = v.producerId;
    m.previousProducerId = v.previousProducerId;
    m.nextProducerId = v.nextProducerId;
    m.producerEpoch = v.producerEpoch;
    // Not in the log (as in Kafka): a KIP-360 retry that spans a restart is fenced.
    m.lastProducerEpoch = NO_PRODUCER_EPOCH;
    m.txnTimeoutMs = v.txnTimeoutMs;
    m.state = v.state;
    m.topicPartitions.clear();
    for (const p of v.partitions) m.addPartition(p.topic, p.partition);
    m.txnStartTimestamp = v.txnStartTimestamp;
    m.txnLastUpdateTimestamp = v.txnLastUpdateTimestamp;
    m.clientTransactionVersion = v.clientTransactionVersion;
  }

  private record(m: TransactionMetadata): TransactionStateRecord {
    return transactionStateRecord(m, this.config.numPartitions);
  }
}

export type { TransactionState };
