/** Formatting and bookkeeping of `fjord perf`, after Kafka's ProducerPerformance and ConsumerPerformance. */

const MB = 1024 * 1024;
/** ProducerPerformance keeps at most this many latency samples for the percentiles. */
const MAX_SAMPLES = 500_000;

/**
 * ProducerPerformance.Stats: totals, a ~5 s reporting window, and a sample of latencies (every
 * `sampling`-th record, so memory stays bounded however many records are sent).
 */
export class ProducerStats {
  private readonly start: number;
  private windowStart: number;
  private readonly sampling: number;
  private readonly latencies: Float64Array;
  private samples = 0;
  private iteration = 0;
  count = 0;
  private bytes = 0;
  private maxLatency = 0;
  private totalLatency = 0;
  private windowCount = 0;
  private windowMaxLatency = 0;
  private windowTotalLatency = 0;
  private windowBytes = 0;

  constructor(
    numRecords: number,
    private readonly reportingIntervalMs: number,
    private readonly print: (line: string) => void,
    now: number,
  ) {
    this.start = now;
    this.windowStart = now;
    this.sampling = Math.max(1, Math.floor(numRecords / Math.min(numRecords, MAX_SAMPLES)));
    this.latencies = new Float64Array(Math.ceil(numRecords / this.sampling));
  }

  /** One acknowledged record: its send-to-ack latency (ms), its size, and the time it was acknowledged. */
  record(latencyMs: number, bytes: number, now: number): void {
    this.count++;
    this.bytes += bytes;
    this.totalLatency += latencyMs;
    this.maxLatency = Math.max(this.maxLatency, latencyMs);
    this.windowCount++;
    this.windowBytes += bytes;
    this.windowTotalLatency += latencyMs;
    this.windowMaxLatency = Math.max(this.windowMaxLatency, latencyMs);
    if (this.iteration % this.sampling === 0 && this.samples < this.latencies.length) this.latencies[this.samples++] = latencyMs;
    this.iteration++;
    if (now - this.windowStart >= this.reportingIntervalMs) {
      this.printWindow(now);
      this.windowStart = now;
      this.windowCount = 0;
      this.windowBytes = 0;
      this.windowTotalLatency = 0;
      this.windowMaxLatency = 0;
    }
  }

  private printWindow(now: number): void {
    const elapsed = Math.max(1, now - this.windowStart);
    this.print(
      `${this.windowCount} records sent, ${((1000 * this.windowCount) / elapsed).toFixed(1)} records/sec (${((1000 * this.windowBytes) / elapsed / MB).toFixed(2)} MB/sec), ` +
        `${(this.windowTotalLatency / Math.max(1, this.windowCount)).toFixed(1)} ms avg latency, ${this.windowMaxLatency.toFixed(1)} ms max latency.`,
    );
  }

  /** The closing line; Kafka prints the rate with Java's %f (six decimals) and percentiles as whole ms. */
  total(now: number): string {
    const elapsed = Math.max(1, now - this.start);
    const sorted = this.latencies.subarray(0, this.samples).sort();
    const pct = (p: number): number => Math.floor(sorted[Math.floor(p * sorted.length)] ?? 0);
    return (
      `${this.count} records sent, ${((1000 * this.count) / elapsed).toFixed(6)} records/sec (${((1000 * this.bytes) / elapsed / MB).toFixed(2)} MB/sec), ` +
      `${(this.totalLatency / Math.max(1, this.count)).toFixed(2)} ms avg latency, ${this.maxLatency.toFixed(2)} ms max latency, ` +
      `${pct(0.5)} ms 50th, ${pct(0.95)} ms 95th, ${pct(0.99)} ms 99th, ${pct(0.999)} ms 99.9th.`
    );
  }
}

/**
 * Kafka's ThroughputThrottler, as a schedule: record n is due at start + n / rate seconds. A sender
 * ahead of schedule sleeps until it is due, so bursts and pauses average out to the target rate.
 */
export class Throttler {
  constructor(
    /** Records per second; negative means unlimited. */
    private readonly target: number,
    private readonly startMs: number,
  ) {}

  /** Milliseconds to wait before sending more, after `sent` records, at time `now`; 0 when on schedule. */
  delayMs(sent: number, now: number): number {
    if (this.target < 0) return 0;
    const due = this.startMs + (sent * 1000) / this.target;
    return Math.max(0, due - now);
  }
}

export const CONSUMER_PERF_HEADER = 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';

/** ConsumerPerformance's date format, yyyy-MM-dd HH:mm:ss:SSS in local time. */
export function perfDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`;
}

/**
 * ConsumerPerformance's summary row. Without a consumer group there is no rebalance, so the fetch
 * columns equal the totals; they are kept so scripts written for Kafka's tool parse this one.
 */
export function consumerPerfRow(startMs: number, endMs: number, bytes: number, messages: number, rebalanceMs = 0): string {
  const secs = Math.max(1, endMs - startMs) / 1000;
  const fetchMs = Math.max(0, endMs - startMs - rebalanceMs);
  const fetchSecs = Math.max(1, fetchMs) / 1000;
  const mb = bytes / MB;
  return [
    perfDate(startMs),
    perfDate(endMs),
    mb.toFixed(4),
    (mb / secs).toFixed(4),
    String(messages),
    (messages / secs).toFixed(4),
    String(rebalanceMs),
    String(fetchMs),
    (mb / fetchSecs).toFixed(4),
    (messages / fetchSecs).toFixed(4),
  ].join(', ');
}
