import type { Clock } from '../../io/clock.js';
import { ProducerBatch } from './batch.js';
import { Deque } from './deque.js';
import type { PendingRecord } from './pending-record.js';

/** One topic-partition's batches, oldest first. */
export interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  /** Bounded by bufferMemory: every batch holds buffer memory for each of its records. */
  readonly batches: Deque<ProducerBatch>;
  /** A batch of this partition is in flight; the next one waits for its outcome (see Sender). */
  muted: boolean;
  /** Encoded bytes and records of the partition's last drained batch: where its next batch starts. */
  lastBatchBytes: number;
  lastBatchRecords: number;
}

export interface ReadyOptions {
  readonly now: number;
  readonly lingerMs: number;
  /** Send without lingering: a flush or close is waiting, or a send waits for buffer memory. */
  readonly drainAll: boolean;
  /** Idempotence's per-partition gate (in-flight limit, sequence resets, transaction membership); null: none. */
  readonly gate: ((q: PartitionQueue) => boolean) | null;
}

/** Partitions with something to send, grouped by their leader. */
export interface NodeCandidates {
  /** Some partition's head batch is due (full, lingered long enough, or drainAll). */
  ready: boolean;
  /** Every unmuted partition led by the node whose head batch is not backing off. */
  readonly queues: PartitionQueue[];
}

export interface ReadyResult {
  readonly nodes: Map<number, NodeCandidates>;
  /** Topics with batches whose leader is unknown: their metadata needs a refresh. */
  readonly leaderless: Set<string>;
  /** Earliest clock time at which something not ready now becomes ready or expires. */
  readonly nextCheck: number;
}

/**
 * Kafka's RecordAccumulator: appends records to the open batch of their partition, closes a batch
 * when the next record would take it past batchSize, and tells the sender which partitions are
 * ready. Holds at most bufferMemory bytes of records (BufferMemory admits nothing beyond that).
 */
export class RecordAccumulator {
  /** One entry per partition with queued batches or a batch in flight; emptied ones are dropped. */
  private readonly queues = new Map<string, Map<number, PartitionQueue>>();

  constructor(
    private readonly batchSize: number,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** Would a record of `size` bytes open a new batch in this partition? (KIP-480's moment to move on.) */
  startsNewBatch(topic: string, partition: number, size: number): boolean {
    const last = this.queues.get(topic)?.get(partition)?.batches.last();
    return last === undefined || !last.fits(size, this.batchSize);
  }

  /** Append to the partition's open batch; true when a batch was opened or filled (the sender should look). */
  append(record: PendingRecord, partition: number): boolean {
    const q = this.queue(record.topic, partition);
    const last = q.batches.last();
    if (last !== undefined && last.fits(record.size, this.batchSize)) {
      last.append(record);
      if (last.sizeBytes >= this.batchSize) last.closed = true;
      return last.closed;
    }
    if (last !== undefined) last.closed = true;
    // Start the buffer a little above the partition's last batch (never above batchSize), so a
    // steady partition writes each batch into one buffer, without regrowing it.
    const previous = last?.encodedBytes ?? q.lastBatchBytes;
    const hint = Math.min(this.batchSize, Math.ceil(previous * 1.25));
    const batch = new ProducerBatch(record.topic, partition, this.clock.now(), this.batchSize, hint, Math.ceil((last?.count ?? q.lastBatchRecords) * 1.25));
    batch.append(record);
    if (batch.sizeBytes >= this.batchSize) batch.closed = true;
    q.batches.push(batch);
    return true;
  }

  /**
   * Expire batches past their deadline (`expire` settles them), then find what can be sent. Only a
   * partition's head batch is ever sent, so batches leave each partition in the order they were made.
   */
  ready(opts: ReadyOptions, leaderOf: (topic: string, partition: number) => number, expire: (batch: ProducerBatch) => void): ReadyResult {
    const { now } = opts;
    const nodes = new Map<number, NodeCandidates>();
    const leaderless = new Set<string>();
    let nextCheck = Number.POSITIVE_INFINITY;
    for (const q of this.all()) {
      for (let b = q.batches.first(); b !== undefined && b.deadline <= now; b = q.batches.first()) {
        q.batches.shift();
        expire(b);
      }
      const head = q.batches.first();
      if (head === undefined) {
        this.dropIfIdle(q);
        continue;
      }
      nextCheck = Math.min(nextCheck, head.deadline);
      if (q.muted) continue;
      if (opts.gate !== null && !opts.gate(q)) continue;
      if (head.retryAt > now) {
        nextCheck = Math.min(nextCheck, head.retryAt);
        continue;
      }
      const leader = leaderOf(q.topic, q.partition);
      if (leader < 0) {
        leaderless.add(q.topic);
        continue;
      }
      const due = opts.drainAll || head.closed || q.batches.length > 1 || head.attempts > 0 || now >= head.createdAt + opts.lingerMs;
      if (!due) nextCheck = Math.min(nextCheck, head.createdAt + opts.lingerMs);
      let node = nodes.get(leader);
      if (node === undefined) nodes.set(leader, (node = { ready: false, queues: [] }));
      node.ready ||= due;
      node.queues.push(q);
    }
    return { nodes, leaderless, nextCheck };
  }

  /** Take the head batch of a partition for sending: it is closed to further appends from now on. */
  take(q: PartitionQueue): ProducerBatch | undefined {
    const b = q.batches.shift();
    if (b !== undefined) {
      b.closed = true;
      q.lastBatchBytes = b.encodedBytes;
      q.lastBatchRecords = b.count;
    }
    return b;
  }

  /**
   * Put a failed batch back at the head of its partition, ahead of everything made after it. With
   * several batches of a partition in flight, their failures may come back in any order: each goes
   * behind the retries that were drained before it, so the queue stays in sequence order.
   */
  requeue(batch: ProducerBatch): void {
    const batches = this.queue(batch.topic, batch.partition).batches;
    const ahead: ProducerBatch[] = [];
    for (let b = batches.first(); b !== undefined && b.drainOrder >= 0 && b.drainOrder < batch.drainOrder; b = batches.first()) ahead.push(batches.shift()!);
    batches.unshift(batch);
    for (let i = ahead.length - 1; i >= 0; i--) batches.unshift(ahead[i]!);
  }

  /** The partition's queue, if it has batches waiting (for idempotence's sequence resets). */
  peek(topic: string, partition: number): PartitionQueue | undefined {
    return this.queues.get(topic)?.get(partition);
  }

  /** Remove every batch not yet sent (a transaction abort, a fatal error); the caller settles them. */
  takeAll(): ProducerBatch[] {
    const out: ProducerBatch[] = [];
    for (const q of this.all()) {
      for (let b = q.batches.shift(); b !== undefined; b = q.batches.shift()) out.push(b);
      this.dropIfIdle(q);
    }
    return out;
  }

  setMuted(topic: string, partition: number, muted: boolean): void {
    const q = this.queue(topic, partition);
    q.muted = muted;
    this.dropIfIdle(q);
  }

  private *all(): Generator<PartitionQueue> {
    for (const byPartition of [...this.queues.values()]) yield* [...byPartition.values()];
  }

  private queue(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queues.get(topic);
    if (byPartition === undefined) this.queues.set(topic, (byPartition = new Map()));
    let q = byPartition.get(partition);
    if (q === undefined) byPartition.set(partition, (q = { topic, partition, batches: new Deque(), muted: false, lastBatchBytes: 0, lastBatchRecords: 0 }));
    return q;
  }

  private dropIfIdle(q: PartitionQueue): void {
    if (q.muted || q.batches.length > 0) return;
    const byPartition = this.queues.get(q.topic);
    byPartition?.delete(q.partition);
    if (byPartition?.size === 0) this.queues.delete(q.topic);
  }
}
