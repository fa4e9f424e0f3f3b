/**
 * What the client benchmark runs, shared by the orchestrator (tools/bench-clients.ts) and the load
 * child (load.ts). Every client gets the same records, the same topic layout and the same fetch
 * limits; each is driven in its own idiomatic batched way.
 */

/**
 * 'fjord' is Fjord driven like KafkaJS and platformatic (sendBatch() arrays); 'fjord-send' is Fjord
 * driven with one send() promise per record (produce only: its consumer is 'fjord's). 'librdkafka'
 * is confluent-kafka for Python over librdkafka, a reference, not a target.
 */
export const CLIENTS = ['fjord', 'fjord-send', 'platformatic', 'kafkajs', 'librdkafka'] as const;
export type ClientName = (typeof CLIENTS)[number];

/** Clients measured for produce only. */
export const PRODUCE_ONLY: ReadonlySet<ClientName> = new Set<ClientName>(['fjord-send']);

export const CLIENT_LABELS: Record<ClientName, string> = {
  fjord: 'Fjord',
  'fjord-send': 'Fjord, one send() per record',
  platformatic: '@platformatic/kafka 1.35.0',
  kafkajs: 'KafkaJS 2.2.4',
  librdkafka: 'librdkafka 2.0.2 (confluent-kafka 1.7.0, Python)',
};

/** The produce table's label: Fjord's headline row says how it is driven. */
export function produceLabel(client: ClientName): string {
  return client === 'fjord' ? 'Fjord, sendBatch() arrays' : CLIENT_LABELS[client];
}

/** Value sizes under test; keys are null, no headers, no compression, partition 0 of a 1-partition topic. */
export const VALUE_SIZES = [100, 1024] as const;

/**
 * Fjord producer driven per record (send(), and the pre-fill): linger and batch size (the issue's
 * "lingerMs ~5, batchSize 64 KiB or 1 MiB"); librdkafka, also fed per record, gets the same linger.
 */
export const FJORD_LINGER_MS = 5;
export const FJORD_BATCH_SIZE = 1024 * 1024;
/**
 * Fjord driven with sendBatch() arrays, like KafkaJS and platformatic: those two send each call's
 * array as soon as it is made (they have no linger), so Fjord gets lingerMs 0 here: each array goes
 * out as soon as the partition may send, and arrays that meet a batch in flight are batched together.
 */
export const FJORD_BATCH_LINGER_MS = 0;
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
 * librdkafka's settings, as close to the others' as the library allows. Produce: acks 1, linger.ms as
 * Fjord's per-record row, batch.size 1,000,000 (librdkafka's default and the closest to 1 MiB that a
 * broker's message.max.bytes of 1 MiB surely admits with librdkafka's framing), batch.num.messages at
 * its maximum so that batch.size is the limit, no compression, no idempotence, 32 MiB of queue (Fjord's
 * bufferMemory); the driver keeps FJORD_OUTSTANDING_BYTES of records outstanding, as for Fjord's send().
 * Consume: a new group from the earliest offset, auto-commit off, the same fetch limits as everyone,
 * queued.min.messages at its maximum (see below); check.crcs stays at librdkafka's default (false),
 * like KafkaJS and platformatic.
 */
export function librdkafkaConfig(mode: 'produce' | 'consume', port: number, partitionFetchBytes = PARTITION_FETCH_MAX_BYTES): Record<string, string | number | boolean> {
  const common = { 'bootstrap.servers': `127.0.0.1:${port}`, 'client.id': 'bench-clients' };
  if (mode === 'produce') {
    return {
      ...common,
      acks: 1,
      'linger.ms': FJORD_LINGER_MS,
      'batch.size': 1_000_000,
      'batch.num.messages': 1_000_000,
      'compression.type': 'none',
      'enable.idempotence': false,
      'queue.buffering.max.kbytes': 32 * 1024,
      'queue.buffering.max.messages': 10_000_000,
    };
  }
  return {
    ...common,
    'group.id': `bench-librdkafka-${process.pid}-${Date.now()}`,
    'auto.offset.reset': 'earliest',
    'enable.auto.commit': false,
    'fetch.max.bytes': FETCH_MAX_BYTES,
    'max.partition.fetch.bytes': partitionFetchBytes,
    'fetch.wait.max.ms': FETCH_MAX_WAIT_MS,
    'enable.partition.eof': false,
    // Its maximum: librdkafka's byte bound on prefetched data (queued.max.messages.kbytes, 64 MiB by
    // default, as Fjord's maxBufferedBytes) is then the only one. At the default of 100,000 messages,
    // librdkafka 2.0.2 pauses fetching for long stretches at 100 B (about 250k records/s at 0.2 cores).
    'queued.min.messages': 10_000_000,
  };
}

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
