import type { Clock, TimerHandle } from '../../io/clock.js';
import { ErrorCode, errorInfo } from '../../protocol/errors.js';
import type { FetchResponse } from '../../protocol/generated/fetch.js';
import type { BrokerConnection } from '../broker-connection.js';
import type { Cluster } from '../cluster.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import { AbortedTransactions } from './aborted-transactions.js';
import { BatchCursor, scanBatches } from './batch-cursor.js';
import { FetchFailure, FetchedRecords } from './buffered-fetch.js';
import type { ResolvedConsumerOptions } from './consumer-options.js';
import { tpKey, tpName } from './consumer-record.js';
import type { FetchBuffer } from './fetch-buffer.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, STALE_METADATA_ERRORS, listOffsets } from './offset-lookup.js';
import type { PartitionState, Positions } from './positions.js';

/**
 * Largest decompressed records section accepted for one batch: a guard against decompression
 * bombs, far above any batch a broker's max.message.bytes lets in.
 */
export const BATCH_DECOMPRESSED_MAX_BYTES = 256 * 1024 * 1024;

/** Fetch v7+ without a session: sessionId 0 with the final epoch asks for a plain full fetch. */
const NO_SESSION_ID = 0;
const FINAL_EPOCH = -1;

export interface FetcherStats {
  fetchRequests: number;
  fetchResponses: number;
  fetchedBytes: number;
}

interface Sent {
  readonly s: PartitionState;
  readonly epoch: number;
  readonly fetchOffset: bigint;
}

interface Backoff {
  until: number;
  delay: number;
}

/**
 * Keeps data flowing into the buffer in the background: at most one Fetch in flight per leader,
 * covering every fetchable partition it leads, and the next one sent as soon as the previous
 * response is in the buffer, so fetching overlaps the application's processing. It also resolves
 * unknown positions (ListOffsets), refreshes metadata when leaders are unknown or moved, and backs
 * off after errors. Everything runs from `pump`, which is idempotent and re-run on every change.
 */
export class Fetcher {
  private started = false;
  private closed = false;
  private scheduled = false;
  /** Leaders with a fetch in flight, and the buffer bytes each reserves. */
  private readonly inFlight = new Map<number, number>();
  private reserved = 0;
  private readonly nodeBackoff = new Map<number, Backoff>();
  /**
   * Leaders that just answered an empty fetch without parking it (fetchMinBytes 0): the next fetch
   * waits a little, or the background loop would spin against an idle broker.
   */
  private readonly idleUntil = new Map<number, number>();
  private metadataStale = true;
  private metadataInFlight = false;
  private metadataRetryAt = 0;
  private metadataDelay = 0;
  private lastMetadata = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private rotation = 0;
  /** One error per partition (or '' for the consumer) for the next poll to throw; bounded by the assignment. */
  private readonly errors = new Map<string, Error>();
  readonly stats: FetcherStats = { fetchRequests: 0, fetchResponses: 0, fetchedBytes: 0 };

  constructor(
    private readonly cluster: Cluster,
    private readonly positions: Positions,
    private readonly buffer: FetchBuffer,
    private readonly options: ResolvedConsumerOptions,
    private readonly clock: Clock,
    /** Something a waiting poll may care about happened. */
    private readonly onChange: () => void,
  ) {}

  get fetchesInFlight(): number {
    return this.inFlight.size;
  }

  /** Fetching begins with the first poll, as in Kafka's consumer. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule();
  }

  /** Re-run `pump` soon; many calls in one tick coalesce into one run. */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** The oldest error waiting for a poll, removed. */
  takeError(): Error | null {
    for (const [k, e] of this.errors) {
      this.errors.delete(k);
      return e;
    }
    return null;
  }

  forget(key: string): void {
    this.errors.delete(key);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private pump(): void {
    if (this.closed || !this.started) return;
    const now = this.clock.now();
    const o = this.options;
    let wake = Number.POSITIVE_INFINITY;
    let leaderUnknown = false;
    const resets = new Map<number, PartitionState[]>();
    const fetches = new Map<number, PartitionState[]>();
    for (const s of this.positions.all()) {
      if (s.failure !== null || s.resetting || s.inFlight || s.committedPending) continue;
      const wantsReset = s.position === null && s.resetTo !== null;
      const wantsFetch = s.position !== null && s.fetchPosition !== null && !s.paused && !s.awaitingError;
      if (!wantsReset && !wantsFetch) continue;
      if (s.retryAt > now) {
        wake = Math.min(wake, s.retryAt);
        continue;
      }
      const leader = this.leaderOf(s);
      if (leader === null) {
        leaderUnknown = true;
        continue;
      }
      const nb = this.nodeBackoff.get(leader);
      if (nb !== undefined && nb.until > now) {
        wake = Math.min(wake, nb.until);
        continue;
      }
      const idle = this.idleUntil.get(leader);
      if (!wantsReset && idle !== undefined) {
        if (idle > now) {
          wake = Math.min(wake, idle);
          continue;
        }
        this.idleUntil.delete(leader);
      }
      const into = wantsReset ? resets : fetches;
      let list = into.get(leader);
      if (list === undefined) into.set(leader, (list = []));
      list.push(s);
    }

    const maxAge = this.cluster.options.metadataMaxAgeMs;
    if ((leaderUnknown || this.metadataStale || now - this.lastMetadata > maxAge) && this.positions.size > 0) {
      if (now < this.metadataRetryAt) wake = Math.min(wake, this.metadataRetryAt);
      else this.refreshMetadata();
    }

    for (const [node, list] of resets) void this.reset(node, list);

    // Leaders share what is left of the buffer bound. Below the floor nothing is sent: a fetch for a
    // few bytes still brings a whole batch (KIP-74), so tiny fetches would only overshoot the bound.
    let budget = o.maxBufferedBytes - this.buffer.bytes - this.reserved;
    const floor = Math.max(1, Math.min(o.maxPartitionFetchBytes, Math.ceil(o.maxBufferedBytes / 4)));
    const ready = [...fetches].filter(([node]) => !this.inFlight.has(node));
    for (let i = 0; i < ready.length && budget >= floor; i++) {
      const [node, list] = ready[i]!;
      const share = Math.max(floor, Math.floor(budget / (ready.length - i)));
      const maxBytes = Math.min(o.fetchMaxBytes, share, budget, list.length * o.maxPartitionFetchBytes);
      budget -= maxBytes;
      void this.fetch(node, this.rotate(list), maxBytes);
    }

    if (wake < Number.POSITIVE_INFINITY) this.wakeAt(wake);
  }

  private wakeAt(at: number): void {
    if (this.timer !== null && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.schedule();
    });
  }

  /** Which partition goes first (and gets the whole-first-batch guarantee) rotates between fetches. */
  private rotate(list: PartitionState[]): PartitionState[] {
    if (list.length < 2) return list;
    const start = this.rotation++ % list.length;
    return [...list.slice(start), ...list.slice(0, start)];
  }

  private leaderOf(s: PartitionState): number | null {
    const p = this.cluster.topics.get(s.topic)?.partitions[s.partition];
    if (p === undefined || p.partition !== s.partition || p.leader < 0) return null;
    return p.leader;
  }

  private refreshMetadata(): void {
    if (this.metadataInFlight) return;
    this.metadataInFlight = true;
    const topics = [...new Set([...this.positions.all()].map((s) => s.topic))];
    this.cluster.refreshMetadata(topics).then(
      () => {
        this.lastMetadata = this.clock.now();
        this.metadataStale = false;
        // Topics that still have no leader are asked for again, less and less often.
        const complete = [...this.positions.all()].every((s) => this.leaderOf(s) !== null);
        this.metadataDelay = complete ? 0 : this.nextDelay(this.metadataDelay);
      },
      () => {
        this.metadataDelay = this.nextDelay(this.metadataDelay);
      },
    ).finally(() => {
      this.metadataInFlight = false;
      this.metadataRetryAt = this.clock.now() + this.metadataDelay;
      this.schedule();
    });
  }

  private nextDelay(prev: number): number {
    return Math.min(Math.max(this.options.retryBackoffMs, prev * 2), this.options.retryBackoffMaxMs);
  }

  /** Resolve unknown positions with ListOffsets (earliest or latest). */
  private async reset(node: number, list: PartitionState[]): Promise<void> {
    const sent = list.map((s) => ({ s, epoch: s.epoch, strategy: s.resetTo }));
    for (const s of list) s.resetting = true;
    let conn: BrokerConnection | null = null;
    try {
      conn = await this.cluster.connectionTo(node);
      const answers = await listOffsets(conn, sent.map(({ s, strategy }) => ({ topic: s.topic, partition: s.partition, timestamp: strategy === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP })), this.options.isolationLevel);
      if (this.closed) return;
      this.nodeBackoff.delete(node);
      for (const { s, epoch } of sent) {
        if (!this.positions.isCurrent(s) || s.epoch !== epoch || s.position !== null) continue;
        const a = answers.get(s.key);
        if (a === undefined || (a.errorCode === 0 && a.offset < 0n)) s.retryAt = this.clock.now() + this.options.retryBackoffMs;
        else if (a.errorCode === 0) this.positions.resolveReset(s, a.offset);
        else this.partitionError(s, a.errorCode);
      }
    } catch (err) {
      this.requestFailed(node, conn, err, list);
    } finally {
      for (const s of list) s.resetting = false;
      this.schedule();
      this.onChange();
    }
  }

  private async fetch(node: number, list: PartitionState[], maxBytes: number): Promise<void> {
    const o = this.options;
    const partitionMaxBytes = Math.min(o.maxPartitionFetchBytes, maxBytes);
    const sent: Sent[] = list.map((s) => ({ s, epoch: s.epoch, fetchOffset: s.fetchPosition! }));
    const topics = new Map<string, Array<{ partition: number; currentLeaderEpoch: number; fetchOffset: bigint; lastFetchedEpoch: number; logStartOffset: bigint; partitionMaxBytes: number }>>();
    for (const { s, fetchOffset } of sent) {
      s.inFlight = true;
      let parts = topics.get(s.topic);
      if (parts === undefined) topics.set(s.topic, (parts = []));
      parts.push({ partition: s.partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes });
    }
    this.inFlight.set(node, maxBytes);
    this.reserved += maxBytes;
    this.stats.fetchRequests++;
    let conn: BrokerConnection | null = null;
    const sentAt = this.clock.now();
    try {
      // An open connection is taken synchronously: called from the previous response's handler, the
      // next fetch is then written before poll starts checking and decoding that response.
      conn = this.cluster.openConnectionTo(node) ?? (await this.cluster.connectionTo(node));
      const res = await conn.request<FetchResponse>(1, {
        replicaId: -1,
        maxWaitMs: o.fetchMaxWaitMs,
        minBytes: o.fetchMinBytes,
        maxBytes,
        isolationLevel: o.isolationLevel,
        sessionId: NO_SESSION_ID,
        sessionEpoch: FINAL_EPOCH,
        topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
        forgottenTopicsData: [],
        rackId: '',
      });
      if (this.closed) return;
      this.stats.fetchResponses++;
      this.nodeBackoff.delete(node);
      if (!this.handleResponse(res, sent)) {
        const early = o.fetchMaxWaitMs - (this.clock.now() - sentAt);
        if (early > 0) this.idleUntil.set(node, this.clock.now() + Math.min(early, o.retryBackoffMs));
      }
    } catch (err) {
      this.requestFailed(node, conn, err, list);
    } finally {
      this.inFlight.delete(node);
      this.reserved -= maxBytes;
      for (const s of list) s.inFlight = false;
      // Now, not in a microtask: handleResponse has just woken poll, whose continuation is queued.
      this.pump();
    }
  }

  /** Hand a response's data and errors on; false when it brought nothing at all. */
  private handleResponse(res: FetchResponse, sent: readonly Sent[]): boolean {
    const now = this.clock.now();
    if (res.errorCode !== 0) {
      // A whole-request error (session errors; we use none): retry every partition after a pause.
      for (const { s } of sent) s.retryAt = now + this.options.retryBackoffMs;
      if (!errorInfo(res.errorCode).retriable) this.errors.set('', new KafkaProtocolError(res.errorCode, 'Fetch failed'));
      this.onChange();
      return true;
    }
    const byKey = new Map(sent.map((x) => [x.s.key, x]));
    let changed = false;
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const x = byKey.get(tpKey(t.topic, p.partitionIndex));
        if (x === undefined) continue;
        const s = x.s;
        // Stale: unassigned, sought, or reset while the fetch was in flight.
        if (!this.positions.isCurrent(s) || s.epoch !== x.epoch || s.fetchPosition !== x.fetchOffset) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          // Queued behind the partition's buffered records: poll resets (or throws) once it gets there.
          this.buffer.add(new FetchFailure(s, x.epoch, x.fetchOffset, new KafkaProtocolError(p.errorCode, `${tpName(s)} at offset ${x.fetchOffset}`), true));
          s.awaitingError = true;
          changed = true;
          continue;
        }
        if (p.errorCode !== 0) {
          this.partitionError(s, p.errorCode);
          changed = true;
          continue;
        }
        s.highWatermark = p.highWatermark;
        s.lastStableOffset = p.lastStableOffset;
        s.logStartOffset = p.logStartOffset;
        const records = p.records;
        if (records === null || records.length === 0) continue;
        const scan = scanBatches(records);
        if (scan.nextOffset !== null && scan.nextOffset > x.fetchOffset) {
          const aborted = this.options.isolationLevel === 1 ? new AbortedTransactions(p.abortedTransactions ?? []) : null;
          const cursor = new BatchCursor(records, scan.limit, { verifyCrc: this.options.checkCrcs, maxDecompressedBytes: BATCH_DECOMPRESSED_MAX_BYTES, aborted });
          this.buffer.add(new FetchedRecords(s, x.epoch, x.fetchOffset, records.length, cursor, scan.nextOffset));
          this.stats.fetchedBytes += records.length;
          s.fetchPosition = scan.nextOffset;
          changed = true;
        } else if (scan.error !== null) {
          this.buffer.add(new FetchFailure(s, x.epoch, x.fetchOffset, new KafkaProtocolError(ErrorCode.CORRUPT_MESSAGE, `${tpName(s)} at offset ${x.fetchOffset}: ${scan.error}`), false));
          s.awaitingError = true;
          changed = true;
        } else if (scan.nextOffset !== null) {
          // Only batches wholly before the fetch offset: a broker bug; do not spin on it.
          s.retryAt = now + this.options.retryBackoffMs;
        }
        // Otherwise only a cut-off batch (partition_max_bytes smaller than it, and another partition
        // went first): rotation puts this partition first soon, and then it comes whole.
      }
    }
    if (changed) this.onChange();
    return changed;
  }

  /** A partition-level error from Fetch or ListOffsets. */
  private partitionError(s: PartitionState, code: number): void {
    const now = this.clock.now();
    if (STALE_METADATA_ERRORS.has(code)) {
      this.metadataStale = true;
      s.retryAt = now + this.options.retryBackoffMs;
    } else if (errorInfo(code).retriable) {
      s.retryAt = now + this.options.retryBackoffMs;
    } else {
      // Not retriable (authorization, ...): the next poll throws it; retried after the longest pause.
      this.errors.set(s.key, new KafkaProtocolError(code, tpName(s)));
      s.retryAt = now + this.options.retryBackoffMaxMs;
    }
  }

  /** The request itself failed: connection trouble, a timeout, or no connection at all. */
  private requestFailed(node: number, conn: BrokerConnection | null, err: unknown, list: readonly PartitionState[]): void {
    if (this.closed) return;
    if (conn !== null && err instanceof ClientError) this.cluster.invalidate(conn);
    this.metadataStale = true;
    const prev = this.nodeBackoff.get(node);
    const delay = this.nextDelay(prev?.delay ?? 0);
    this.nodeBackoff.set(node, { until: this.clock.now() + delay, delay });
    const retriable = err instanceof KafkaProtocolError || (err instanceof ClientError && err.retriable);
    if (!retriable) {
      for (const s of list) s.retryAt = this.clock.now() + this.options.retryBackoffMaxMs;
      this.errors.set('', err instanceof Error ? err : new Error(String(err)));
      this.onChange();
    }
  }
}
