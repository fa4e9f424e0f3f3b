import type { Clock } from '../../io/clock.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { DecodedRecord } from '../../protocol/records/record-batch-reader.js';
import { createCluster } from '../client-options.js';
import type { Cluster } from '../cluster.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import { deserializers, type Deserializer } from '../serializers.js';
import { BatchError, type CursorBatch } from './batch-cursor.js';
import { FetchFailure, type BufferedFetch } from './buffered-fetch.js';
import { resolveConsumerOptions, type ConsumerOptions, type ResolvedConsumerOptions } from './consumer-options.js';
import { NoOffsetForPartitionError, OffsetOutOfRangeError, RecordDeserializationError } from './consumer-errors.js';
import { tpKey, tpName, type ConsumerRecord, type OffsetAndTimestamp, type RecordHeaders, type TopicPartition, type TopicPartitionOffset } from './consumer-record.js';
import { FetchBuffer } from './fetch-buffer.js';
import { Fetcher } from './fetcher.js';
import { Notifier } from './notifier.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, OffsetLookup, type OffsetQuery } from './offset-lookup.js';
import { Positions, validateTopicPartition, type PartitionState } from './positions.js';
import { ConsumerCoordinator, type CommittedOffset, type ConsumerGroupMetadata, type OffsetAndMetadata, type OffsetCommitCallback } from '../group/consumer-coordinator.js';
import type { RebalanceListener } from '../group/rebalance-listener.js';

export interface PollOptions {
  /** At most this many records (default: the consumer's maxPollRecords, 500). */
  readonly maxRecords?: number;
  /** Wait at most this long for the first record (default: pollTimeoutMs); Infinity waits until close. */
  readonly timeoutMs?: number;
}

export interface ConsumerMetrics {
  /** Fetched record bytes waiting for poll. */
  readonly bufferedBytes: number;
  /** The most that was ever buffered: stays within maxBufferedBytes plus one batch per leader. */
  readonly peakBufferedBytes: number;
  readonly bufferedFetches: number;
  readonly fetchesInFlight: number;
  readonly fetchRequests: number;
  readonly fetchResponses: number;
  readonly fetchedBytes: number;
  readonly recordsReturned: number;
}

export interface PartitionAssignment extends TopicPartition {
  /** Start here; without it the partition keeps its position, or starts per autoOffsetReset. */
  readonly offset?: bigint;
}

export interface Consumer<K, V> extends AsyncIterable<ConsumerRecord<K, V>> {
  /** Replace the assignment (manual partition assignment, no group). */
  assign(partitions: readonly PartitionAssignment[]): void;
  assignment(): TopicPartition[];
  seek(tp: TopicPartition, offset: bigint): void;
  /** Without arguments: every assigned partition. Resolved lazily, at the next poll or position. */
  seekToBeginning(partitions?: readonly TopicPartition[]): void;
  seekToEnd(partitions?: readonly TopicPartition[]): void;
  /** The offset of the next record poll would return for the partition. */
  position(tp: TopicPartition): Promise<bigint>;
  /** Per partition, the first offset whose record timestamp is >= the given one (null when none). */
  offsetsForTimes(query: ReadonlyArray<TopicPartition & { readonly timestamp: number }>): Promise<OffsetAndTimestamp[]>;
  beginningOffsets(partitions: readonly TopicPartition[]): Promise<TopicPartitionOffset[]>;
  /** The high watermark, or under read_committed the last stable offset. */
  endOffsets(partitions: readonly TopicPartition[]): Promise<TopicPartitionOffset[]>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  paused(): TopicPartition[];
  /** Records in offset order per partition; [] after the timeout, or when the consumer closes. */
  poll(options?: PollOptions): Promise<Array<ConsumerRecord<K, V>>>;
  /**
   * Join the consumer group (groupId) for these topics, or for every topic whose whole name matches
   * the pattern (re-matched every metadataMaxAgeMs). Partitions arrive through poll(), which runs the
   * rebalances and the listener. Exclusive with assign(), as in Kafka; subscribing again replaces it.
   */
  subscribe(topics: readonly string[] | RegExp, listener?: RebalanceListener): void;
  /** Leave the group: auto-commit, onPartitionsRevoked, LeaveGroup; also clears a manual assignment. */
  unsubscribe(): Promise<void>;
  /** The subscribed topics (for a pattern: those it currently matches). */
  subscription(): string[];
  /**
   * Commit offsets and wait, retrying what can be retried up to defaultApiTimeoutMs (commitSync).
   * Without offsets: the positions of every assigned partition, i.e. everything poll returned.
   * Throws CommitFailedError when the member lost its partitions, RebalanceInProgressError while
   * the group rebalances (poll, then commit what is still assigned).
   */
  commit(offsets?: readonly OffsetAndMetadata[]): Promise<void>;
  /** One commit attempt in the background (commitAsync); the callback hears how it went. */
  commitAsync(offsets?: readonly OffsetAndMetadata[] | null, callback?: OffsetCommitCallback): void;
  /** The group's committed offsets for the partitions (null: none), from the coordinator. */
  committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]>;
  /** The member's group, generation and id (for a transactional producer's sendOffsetsToTransaction). */
  groupMetadata(): ConsumerGroupMetadata;
  metrics(): ConsumerMetrics;
  /** Commit (auto-commit), revoke, leave the group (not static members), then close the connections. */
  close(): Promise<void>;
}

/** The headers of every record that has none (frozen: RecordHeaders is read-only). */
const NO_RECORD_HEADERS: RecordHeaders = Object.freeze([]);

type MutableRecord<K, V> = { -readonly [P in keyof ConsumerRecord<K, V>]: ConsumerRecord<K, V>[P] };

/**
 * State lives in Positions; the Fetcher fills the FetchBuffer in the background; poll drains the
 * buffer in fetch order, decoding a batch at a time. With a groupId, the ConsumerCoordinator drives
 * the assignment for `subscribe` from the group's rebalances (inside poll), looks up committed
 * offsets for start positions, and commits positions.
 */
class KafkaConsumer<K, V> implements Consumer<K, V> {
  private readonly o: ResolvedConsumerOptions;
  private readonly clock: Clock;
  private readonly cluster: Cluster;
  private readonly positions: Positions;
  private readonly buffer = new FetchBuffer();
  private readonly fetcher: Fetcher;
  private readonly lookup: OffsetLookup;
  private readonly notifier: Notifier;
  private readonly keyDeserializer: Deserializer<K>;
  private readonly valueDeserializer: Deserializer<V>;
  private readonly group: ConsumerCoordinator | null = null;
  private readonly groupClusters: Cluster[] = [];
  private closed = false;
  /** close() is running the group's last steps: listeners may still commit, seek and ask positions. */
  private closingGroup = false;
  private polling = false;
  /** Partition failures or missing offsets may exist: poll scans for them until a scan finds none. */
  private checkFailures = true;
  private recordsReturned = 0;

  constructor(options: ConsumerOptions<K, V>) {
    this.o = resolveConsumerOptions(options);
    // A fetch may legitimately take fetchMaxWaitMs before the broker answers, on top of the request timeout.
    this.cluster = createCluster({ ...options, requestTimeoutMs: this.o.requestTimeoutMs + this.o.fetchMaxWaitMs }, 'fjord-consumer');
    // The cluster's clock keeps the process alive while a poll or a backoff is pending.
    this.clock = this.cluster.options.clock;
    this.positions = new Positions(this.o.autoOffsetReset === 'none' ? null : this.o.autoOffsetReset);
    this.notifier = new Notifier(this.clock);
    this.fetcher = new Fetcher(this.cluster, this.positions, this.buffer, this.o, this.clock, () => this.notifier.notify());
    this.lookup = new OffsetLookup(this.cluster, this.clock, this.o.isolationLevel, this.o.retryBackoffMs);
    this.keyDeserializer = options.keyDeserializer ?? (deserializers.bytes as unknown as Deserializer<K>);
    this.valueDeserializer = options.valueDeserializer ?? (deserializers.bytes as unknown as Deserializer<V>);
    const g = this.o.group;
    if (g !== null) {
      const coordinatorCluster = createCluster({ ...options, requestTimeoutMs: this.o.requestTimeoutMs }, 'fjord-consumer');
      // The coordinator may park a JoinGroup for the whole rebalance timeout (Kafka's join timeout).
      const joinCluster = createCluster({ ...options, requestTimeoutMs: Math.max(this.o.requestTimeoutMs, g.rebalanceTimeoutMs + JOIN_GROUP_TIMEOUT_LAPSE_MS) }, 'fjord-consumer');
      this.groupClusters.push(coordinatorCluster, joinCluster);
      this.group = new ConsumerCoordinator(g, {
        retryBackoffMs: this.o.retryBackoffMs,
        retryBackoffMaxMs: this.o.retryBackoffMaxMs,
        requestTimeoutMs: this.o.requestTimeoutMs,
        defaultApiTimeoutMs: this.o.defaultApiTimeoutMs,
        requireStable: this.o.isolationLevel === 1,
        metadataMaxAgeMs: this.cluster.options.metadataMaxAgeMs,
      }, this.cluster, coordinatorCluster, joinCluster, this.clock, {
        states: () => this.positions.all(),
        setAssignment: (partitions) => this.replaceAssignment(partitions),
        isCurrent: (s) => this.positions.isCurrent(s),
        resolveCommitted: (s, offset) => {
          if (offset !== null) this.positions.seek(s, offset);
          else s.committedPending = false;
          this.checkFailures = true;
          this.fetcher.schedule();
        },
        wake: () => this.notifier.notify(),
      }, options.rebalanceListener ?? null);
    }
  }

  private ensureOpen(): void {
    if (this.closed && !this.closingGroup) throw new ClientError('CLIENT_CLOSED', 'The consumer is closed');
  }

  assign(partitions: readonly PartitionAssignment[]): void {
    this.ensureOpen();
    if (this.group?.subscribed === true) throw new ClientError('INVALID_ARGUMENT', 'assign() and subscribe() are exclusive: unsubscribe() first');
    this.replaceAssignment(partitions);
  }

  /**
   * The assignment, from assign() or the group. Partitions that stay keep their state; with a
   * groupId, new ones without an offset start from the group's committed offset.
   */
  private replaceAssignment(partitions: readonly PartitionAssignment[]): void {
    const before = new Set([...this.positions.all()].map((s) => s.key));
    const dropped = this.positions.assign(partitions);
    for (const s of dropped) {
      this.buffer.dropPartition(s.key);
      this.fetcher.forget(s.key);
    }
    for (const p of partitions) {
      const s = this.positions.require(p);
      if (p.offset !== undefined) this.dropBuffered(s);
      else if (this.group !== null && !before.has(s.key)) s.committedPending = true;
    }
    this.checkFailures = true;
    this.fetcher.schedule();
    this.notifier.notify();
  }

  assignment(): TopicPartition[] {
    return [...this.positions.all()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  seek(tp: TopicPartition, offset: bigint): void {
    this.ensureOpen();
    const s = this.positions.require(tp);
    this.positions.seek(s, offset);
    this.dropBuffered(s);
  }

  seekToBeginning(partitions?: readonly TopicPartition[]): void {
    this.seekTo('earliest', partitions);
  }

  seekToEnd(partitions?: readonly TopicPartition[]): void {
    this.seekTo('latest', partitions);
  }

  private seekTo(strategy: 'earliest' | 'latest', partitions: readonly TopicPartition[] | undefined): void {
    this.ensureOpen();
    const states = partitions === undefined ? [...this.positions.all()] : partitions.map((tp) => this.positions.require(tp));
    for (const s of states) {
      this.positions.requestReset(s, strategy);
      this.dropBuffered(s);
    }
  }

  /** After a seek: buffered and in-flight data for the old position is dropped (the epoch moved on). */
  private dropBuffered(s: PartitionState): void {
    this.buffer.dropPartition(s.key);
    this.fetcher.forget(s.key);
    this.checkFailures = true;
    this.fetcher.schedule();
  }

  async position(tp: TopicPartition): Promise<bigint> {
    this.ensureOpen();
    const deadline = this.clock.now() + this.o.defaultApiTimeoutMs;
    for (;;) {
      const s = this.positions.require(tp);
      if (s.failure !== null) throw s.failure;
      if (s.position !== null) return s.position;
      if (s.committedPending && this.group !== null) {
        await this.group.awaitCommitted(deadline);
        this.ensureOpen();
        if (this.clock.now() >= deadline) throw new ClientError('REQUEST_TIMED_OUT', `no committed offset for ${tpName(tp)} within ${this.o.defaultApiTimeoutMs} ms`);
        continue;
      }
      if (s.resetTo === null) throw new NoOffsetForPartitionError([tp]);
      const epoch = s.epoch;
      const timestamp = s.resetTo === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP;
      const answers = await this.lookup.lookup([{ topic: s.topic, partition: s.partition, timestamp }], Math.max(0, deadline - this.clock.now()));
      const a = answers.get(s.key);
      // The fetcher may have resolved it meanwhile, or the application sought: then loop and look again.
      if (a !== undefined && a.offset >= 0n && this.positions.isCurrent(s) && s.epoch === epoch && s.position === null) {
        this.positions.resolveReset(s, a.offset);
        this.fetcher.schedule();
      }
      this.ensureOpen();
      if (this.clock.now() >= deadline) throw new ClientError('REQUEST_TIMED_OUT', `no position for ${tpName(tp)} within ${this.o.defaultApiTimeoutMs} ms`);
    }
  }

  async offsetsForTimes(query: ReadonlyArray<TopicPartition & { readonly timestamp: number }>): Promise<OffsetAndTimestamp[]> {
    this.ensureOpen();
    const seen = new Set<string>();
    for (const q of query) {
      validateTopicPartition(q);
      if (!Number.isSafeInteger(q.timestamp) || q.timestamp < 0) throw new ClientError('INVALID_ARGUMENT', `invalid timestamp ${String(q.timestamp)} for ${tpName(q)}: milliseconds >= 0`);
      // One ListOffsets entry per partition (brokers reject duplicates): one timestamp per partition per call.
      const key = tpKey(q.topic, q.partition);
      if (seen.has(key)) throw new ClientError('INVALID_ARGUMENT', `${tpName(q)} appears more than once`);
      seen.add(key);
    }
    const answers = await this.lookup.lookup(query.map((q) => ({ topic: q.topic, partition: q.partition, timestamp: BigInt(q.timestamp) })), this.o.defaultApiTimeoutMs);
    return query.map((q) => {
      const a = answers.get(tpKey(q.topic, q.partition));
      const found = a !== undefined && a.offset >= 0n;
      return { topic: q.topic, partition: q.partition, offset: found ? a.offset : null, timestamp: found ? Number(a.timestamp) : null };
    });
  }

  beginningOffsets(partitions: readonly TopicPartition[]): Promise<TopicPartitionOffset[]> {
    return this.listOffsets(partitions, EARLIEST_TIMESTAMP);
  }

  endOffsets(partitions: readonly TopicPartition[]): Promise<TopicPartitionOffset[]> {
    return this.listOffsets(partitions, LATEST_TIMESTAMP);
  }

  private async listOffsets(partitions: readonly TopicPartition[], timestamp: bigint): Promise<TopicPartitionOffset[]> {
    this.ensureOpen();
    for (const tp of partitions) validateTopicPartition(tp);
    const queries: OffsetQuery[] = partitions.map((tp) => ({ topic: tp.topic, partition: tp.partition, timestamp }));
    const answers = await this.lookup.lookup(queries, this.o.defaultApiTimeoutMs);
    return partitions.map((tp) => {
      const a = answers.get(tpKey(tp.topic, tp.partition));
      if (a === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, tpName(tp));
      return { topic: tp.topic, partition: tp.partition, offset: a.offset };
    });
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.ensureOpen();
    for (const s of partitions.map((tp) => this.positions.require(tp))) s.paused = true;
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.ensureOpen();
    for (const s of partitions.map((tp) => this.positions.require(tp))) s.paused = false;
    this.fetcher.schedule();
    // Records buffered while paused are deliverable now.
    this.notifier.notify();
  }

  paused(): TopicPartition[] {
    return [...this.positions.all()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  async poll(options: PollOptions = {}): Promise<Array<ConsumerRecord<K, V>>> {
    this.ensureOpen();
    const max = options.maxRecords ?? this.o.maxPollRecords;
    const timeoutMs = options.timeoutMs ?? this.o.pollTimeoutMs;
    if (!Number.isInteger(max) || max < 1) throw new ClientError('INVALID_ARGUMENT', `maxRecords must be an integer >= 1, got ${String(max)}`);
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) throw new ClientError('INVALID_ARGUMENT', `timeoutMs must be >= 0, got ${String(timeoutMs)}`);
    // Overlapping polls would race on positions; Kafka's consumer forbids them too.
    if (this.polling) throw new ClientError('INVALID_ARGUMENT', 'poll() is already in progress: await it before polling again');
    this.polling = true;
    this.group?.pollStarted();
    try {
      this.fetcher.start();
      const deadline = this.clock.now() + timeoutMs;
      for (;;) {
        if (this.closed) return [];
        const version = this.notifier.current;
        // Rebalances, commits and committed-offset lookups happen here, between deliveries.
        if (this.group !== null) await this.group.poll();
        if (this.closed) return [];
        this.throwFailures();
        const out = await this.collect(max);
        if (out.length > 0 || this.closed) {
          this.recordsReturned += out.length;
          return out;
        }
        const now = this.clock.now();
        const left = deadline - now;
        if (left <= 0) return [];
        const groupWake = this.group === null ? Number.POSITIVE_INFINITY : this.group.nextWakeAt() - now;
        await this.notifier.wait(version, Math.max(0, Math.min(left, groupWake)));
      }
    } finally {
      this.polling = false;
      this.group?.pollEnded();
    }
  }

  subscribe(topics: readonly string[] | RegExp, listener?: RebalanceListener): void {
    this.ensureOpen();
    const group = this.requireGroup('subscribe()');
    if (!group.subscribed && this.positions.size > 0) throw new ClientError('INVALID_ARGUMENT', 'assign() and subscribe() are exclusive: unsubscribe() first');
    if (!(topics instanceof RegExp)) {
      if (!Array.isArray(topics) || topics.length === 0) throw new ClientError('INVALID_ARGUMENT', 'subscribe() needs at least one topic or a RegExp; unsubscribe() leaves the group');
      for (const t of topics) if (typeof t !== 'string' || t === '') throw new ClientError('INVALID_ARGUMENT', `invalid topic ${JSON.stringify(t)}`);
    }
    group.subscribe(topics, listener ?? null);
  }

  async unsubscribe(): Promise<void> {
    this.ensureOpen();
    if (this.group !== null) await this.group.unsubscribe();
    this.replaceAssignment([]);
  }

  subscription(): string[] {
    return this.group?.subscriptionTopics() ?? [];
  }

  private requireGroup(what: string): ConsumerCoordinator {
    if (this.group === null) throw new ClientError('INVALID_ARGUMENT', `${what} needs a groupId`);
    return this.group;
  }

  async commit(offsets?: readonly OffsetAndMetadata[]): Promise<void> {
    this.ensureOpen();
    const group = this.requireGroup('commit()');
    const list = offsets === undefined ? group.allPositions() : validateCommitOffsets(offsets);
    await group.commitSync(list, this.clock.now() + this.o.defaultApiTimeoutMs);
  }

  commitAsync(offsets?: readonly OffsetAndMetadata[] | null, callback?: OffsetCommitCallback): void {
    this.ensureOpen();
    const group = this.requireGroup('commitAsync()');
    const list = offsets === undefined || offsets === null ? group.allPositions() : validateCommitOffsets(offsets);
    group.commitAsync(list, callback ?? null);
  }

  async committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    this.ensureOpen();
    const group = this.requireGroup('committed()');
    for (const tp of partitions) validateTopicPartition(tp);
    if (partitions.length === 0) return [];
    return group.fetchCommitted(partitions, this.clock.now() + this.o.defaultApiTimeoutMs);
  }

  groupMetadata(): ConsumerGroupMetadata {
    return this.requireGroup('groupMetadata()').groupMetadata();
  }

  private throwFailures(): void {
    const e = this.fetcher.takeError();
    if (e !== null) throw e;
    if (!this.checkFailures) return;
    const outOfRange: TopicPartitionOffset[] = [];
    const noOffset: TopicPartition[] = [];
    for (const s of this.positions.all()) {
      if (s.failure instanceof OffsetOutOfRangeError) outOfRange.push(...s.failure.partitions);
      else if (s.failure !== null) throw s.failure;
      else if (s.position === null && s.resetTo === null && !s.committedPending) noOffset.push({ topic: s.topic, partition: s.partition });
    }
    if (outOfRange.length > 0) throw new OffsetOutOfRangeError(outOfRange);
    if (noOffset.length > 0) throw new NoOffsetForPartitionError(noOffset);
    this.checkFailures = false;
  }

  private readonly deliverable = (e: BufferedFetch): boolean => !e.state.paused;

  /** Take up to `max` records from the buffer, in fetch order, skipping paused partitions. */
  private async collect(max: number): Promise<Array<ConsumerRecord<K, V>>> {
    const out: Array<ConsumerRecord<K, V>> = [];
    while (out.length < max) {
      const e = this.buffer.first(this.deliverable);
      if (e === undefined) break;
      const s = e.state;
      if (!this.positions.isCurrent(s) || e.epoch !== s.epoch) {
        this.release(e);
        continue;
      }
      if (e instanceof FetchFailure) {
        if (out.length > 0) break; // deliver what came before the error first
        this.release(e);
        s.awaitingError = false;
        if (!e.outOfRange) throw e.error;
        if (s.position !== e.fetchOffset) continue; // the position moved on meanwhile
        if (this.o.autoOffsetReset !== 'none') {
          this.positions.requestReset(s, this.o.autoOffsetReset);
          continue;
        }
        s.failure = new OffsetOutOfRangeError([{ topic: s.topic, partition: s.partition, offset: e.fetchOffset }]);
        this.checkFailures = true;
        this.throwFailures();
      } else if (e.hasPending) {
        try {
          e.take(out, max, this.convert);
        } catch (err) {
          if (out.length > 0) break;
          throw err;
        }
      } else if (e.exhausted) {
        // Trailing control batches, aborted or compacted-away records: the position still moves past them.
        if (s.position !== null && s.position < e.nextOffset) s.position = e.nextOffset;
        this.release(e);
      } else {
        try {
          await e.load(s.position ?? 0n);
        } catch (err) {
          if (out.length > 0) break;
          if (err instanceof BatchError) throw new KafkaProtocolError(ErrorCode.CORRUPT_MESSAGE, `${tpName(s)}: ${err.message}`);
          throw err;
        }
      }
    }
    return out;
  }

  private release(e: BufferedFetch): void {
    this.buffer.remove(e);
    this.fetcher.schedule();
  }

  private readonly convert = (s: PartitionState, r: DecodedRecord, offset: bigint, batch: CursorBatch): ConsumerRecord<K, V> => {
    let key: K;
    let value: V;
    try {
      key = this.keyDeserializer(r.key, s.topic);
      value = this.valueDeserializer(r.value, s.topic);
    } catch (err) {
      throw new RecordDeserializationError(s, offset, err);
    }
    const n = r.headers.length;
    let headers: RecordHeaders = NO_RECORD_HEADERS;
    if (n > 0) {
      const list: Array<[string, Buffer | null]> = new Array(n);
      for (let i = 0; i < n; i++) list[i] = [r.headers[i]!.key, r.headers[i]!.value];
      headers = list;
    }
    const rec: MutableRecord<K, V> = {
      topic: s.topic,
      partition: s.partition,
      offset,
      timestamp: r.timestamp,
      timestampType: batch.timestampType === 1 ? 'LogAppendTime' : 'CreateTime',
      key,
      value,
      headers,
    };
    if (batch.leaderEpoch >= 0) rec.leaderEpoch = batch.leaderEpoch;
    return rec;
  };

  metrics(): ConsumerMetrics {
    return {
      bufferedBytes: this.buffer.bytes,
      peakBufferedBytes: this.buffer.peakBytes,
      bufferedFetches: this.buffer.size,
      fetchesInFlight: this.fetcher.fetchesInFlight,
      ...this.fetcher.stats,
      recordsReturned: this.recordsReturned,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fetcher.close();
    this.buffer.clear();
    this.notifier.notify();
    let listenerError: Error | null = null;
    try {
      // Positions survive the fetcher: commit them, revoke and leave the group within the API timeout.
      this.closingGroup = true;
      if (this.group !== null) listenerError = await this.group.close(this.clock.now() + this.o.defaultApiTimeoutMs);
    } finally {
      this.closingGroup = false;
      await this.cluster.close();
      for (const c of this.groupClusters) await c.close();
    }
    if (listenerError !== null) throw listenerError;
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord<K, V>> {
    // One record per step: positions advance only for records handed out, so leaving the loop
    // early (break) loses nothing; the next poll or iteration continues right after.
    return {
      next: async (): Promise<IteratorResult<ConsumerRecord<K, V>>> => {
        while (!this.closed) {
          const [r] = await this.poll({ maxRecords: 1, timeoutMs: Number.POSITIVE_INFINITY });
          if (r !== undefined) return { done: false, value: r };
        }
        return { done: true, value: undefined };
      },
      return: (): Promise<IteratorResult<ConsumerRecord<K, V>>> => Promise.resolve({ done: true, value: undefined }),
    };
  }
}

/** How much longer than the rebalance timeout a JoinGroup may take before the client gives up on it (Kafka's lapse). */
const JOIN_GROUP_TIMEOUT_LAPSE_MS = 5_000;

function validateCommitOffsets(offsets: readonly OffsetAndMetadata[]): OffsetAndMetadata[] {
  const seen = new Set<string>();
  for (const o of offsets) {
    validateTopicPartition(o);
    if (typeof o.offset !== 'bigint' || o.offset < 0n || o.offset > 0x7fffffffffffffffn) throw new ClientError('INVALID_ARGUMENT', `invalid offset ${String(o.offset)} for ${tpName(o)}: a bigint >= 0`);
    if (o.metadata !== undefined && typeof o.metadata !== 'string') throw new ClientError('INVALID_ARGUMENT', `metadata of ${tpName(o)} must be a string`);
    const key = tpKey(o.topic, o.partition);
    if (seen.has(key)) throw new ClientError('INVALID_ARGUMENT', `${tpName(o)} appears more than once`);
    seen.add(key);
  }
  return [...offsets];
}

/**
 * A consumer: manual assignment (assign) or, with a groupId, group membership (subscribe); keys and
 * values are Buffers unless deserializers say otherwise.
 */
export function createConsumer<K = Buffer | null, V = Buffer | null>(options: ConsumerOptions<K, V>): Consumer<K, V> {
  return new KafkaConsumer<K, V>(options);
}
