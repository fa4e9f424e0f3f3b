/**
 * What the client benchmark runs, shared by the orchestrator (tools/bench-clients.ts) and the load
 * child (load.ts). Every client gets the same records, the same topic layout and the same fetch
 * limits; each is driven in its own idiomatic batched way.
 */

export const CLIENTS = ['fjord', 'platformatic', 'kafkajs'] as const;
export type ClientName = (typeof CLIENTS)[number];

export const CLIENT_LABELS: Record<ClientName, string> = {
  fjord: 'Fjord',
  platformatic: '@platformatic/kafka 1.35.0',
  kafkajs: 'KafkaJS 2.2.4',
};

/** Value sizes under test; keys are null, no headers, no compression, partition 0 of a 1-partition topic. */
export const VALUE_SIZES = [100, 1024] as const;

/** Fjord producer: linger and batch size (the "lingerMs ~5, batchSize 64 KiB or 1 MiB"). */
export const FJORD_LINGER_MS = 5;
export const FJORD_BATCH_SIZE = 1024 * 1024;
/** Fjord producer: records awaiting their send() promise at once, as a byte budget (below bufferMemory, 32 MiB). */
export const FJORD_OUTSTANDING_BYTES = 8 * 1024 * 1024;

/** KafkaJS and platformatic: records per send() call and send() calls in flight at once. */
export function arrayRecordsPerSend(valueBytes: number): number {
  // 1,000 records per call; 1 KiB values get 500 so that one call's batch stays under the broker's
  // message.max.bytes (1 MiB) for every client's framing.
  return valueBytes >= 1024 ? 500 : 1000;
}
export const ARRAY_SENDS_IN_FLIGHT = 4;

/**
 * Consumers: identical fetch limits for every client. Per partition, the default is Kafka's own
 * max.partition.fetch.bytes (1 MiB), which is also KafkaJS's and Fjord's default; --partition-fetch-bytes
 * changes it for everyone (KafkaJS slows down sharply with larger fetch responses).
 */
export const FETCH_MAX_BYTES = 16 * 1024 * 1024;
export const PARTITION_FETCH_MAX_BYTES = 1024 * 1024;
export const FETCH_MAX_WAIT_MS = 100;
/** Fjord's poll() size (records handed over per call). */
export const FJORD_POLL_MAX_RECORDS = 10_000;

/**
 * Records pre-filled (by Fjord's producer) per value size for the consume measurement. The memory
 * engine caps a partition at 256 MiB (older batches are dropped past it), so a topic stays below
 * that: about 216 MB for 2,000,000 x 100 B and 207 MB for 200,000 x 1 KiB, record framing included.
 */
export function prefillRecords(valueBytes: number, quick: boolean): number {
  if (valueBytes >= 1024) return 200_000;
  return quick ? 500_000 : 2_000_000;
}

/** The one value every record carries (printable bytes, so no client can special-case zeros). */
export function makeValue(valueBytes: number): Buffer {
  const value = Buffer.alloc(valueBytes);
  for (let i = 0; i < valueBytes; i++) value[i] = 0x20 + ((i * 31) % 95);
  return value;
}

/** What the orchestrator passes the load child (as one JSON argument). */
export type LoadSpec =
  | { mode: 'produce'; client: ClientName; port: number; topic: string; valueBytes: number; warmupSeconds: number; seconds: number; fjordOptions?: Record<string, unknown> }
  | {
      mode: 'consume';
      client: ClientName;
      port: number;
      topic: string;
      valueBytes: number;
      records: number;
      timeoutSeconds: number;
      partitionFetchBytes: number;
      fjordOptions?: Record<string, unknown>;
    }
  | { mode: 'prefill'; port: number; topic: string; valueBytes: number; records: number };

/** The load child's last line. */
export interface LoadResult {
  client: ClientName | 'prefill';
  mode: LoadSpec['mode'];
  /** Records counted inside the window (produce: acknowledged; consume: delivered to the application). */
  records: number;
  /** Value bytes of those records. */
  bytes: number;
  /** The window's length. */
  seconds: number;
  recordsPerSecond: number;
  bytesPerSecond: number;
  /** The load child's CPU use inside the window, in cores. */
  clientCpu: number;
  /** Consume only: from creating the consumer to the first record (connect, group join, first fetch). */
  firstRecordMs?: number;
  /** Consume only: records delivered in the whole run (must equal the topic's records). */
  totalRecords?: number;
  /** The window's edges on the clock V8's CPU profiles use (process.hrtime, microseconds). */
  windowUs: [number, number];
}
