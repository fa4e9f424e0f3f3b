import { crc32c } from './crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  CONTROL_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  TRANSACTIONAL_MASK,
} from './batch-header.js';
import { VarintCursor, writeVarint } from './varint.js';

/**
 * Transaction markers: a control batch (transactional + control attributes) holding one record whose
 * key is (int16 version 0, int16 type) and whose value is (int16 version 0, int32 coordinator epoch),
 * Kafka's EndTransactionMarker. Type 0 is ABORT, 1 is COMMIT.
 */

export const ControlType = { ABORT: 0, COMMIT: 1 } as const;

const KEY_BYTES = 4;
const VALUE_BYTES = 6;
/** attributes, timestamp delta 0, offset delta 0, key length, key, value length, value, header count. */
const RECORD_BODY_BYTES = 1 + 1 + 1 + 1 + KEY_BYTES + 1 + VALUE_BYTES + 1;
const MARKER_BATCH_BYTES = RECORD_BATCH_HEADER_SIZE + 1 + RECORD_BODY_BYTES;

export interface MarkerOptions {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
  readonly timestamp: number;
}

/** One marker batch with base offset 0 (the log assigns it) and its CRC filled in. Synchronous. */
export function buildMarkerBatch(m: MarkerOptions): Buffer {
  const b = Buffer.alloc(MARKER_BATCH_BYTES);
  b.writeInt32BE(MARKER_BATCH_BYTES - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  b.writeInt32BE(-1, PARTITION_LEADER_EPOCH_OFFSET);
  b.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  b.writeInt16BE(TRANSACTIONAL_MASK | CONTROL_MASK, ATTRIBUTES_OFFSET);
  b.writeInt32BE(0, LAST_OFFSET_DELTA_OFFSET);
  b.writeBigInt64BE(BigInt(m.timestamp), BASE_TIMESTAMP_OFFSET);
  b.writeBigInt64BE(BigInt(m.timestamp), MAX_TIMESTAMP_OFFSET);
  b.writeBigInt64BE(BigInt(m.producerId), PRODUCER_ID_OFFSET);
  b.writeInt16BE(m.producerEpoch, PRODUCER_EPOCH_OFFSET);
  b.writeInt32BE(-1, BASE_SEQUENCE_OFFSET);
  b.writeInt32BE(1, RECORDS_COUNT_OFFSET);
  let pos = writeVarint(b, RECORD_BATCH_HEADER_SIZE, RECORD_BODY_BYTES);
  b[pos++] = 0; // record attributes
  pos = writeVarint(b, pos, 0); // timestamp delta
  pos = writeVarint(b, pos, 0); // offset delta
  pos = writeVarint(b, pos, KEY_BYTES);
  b.writeInt16BE(0, pos);
  b.writeInt16BE(m.commit ? ControlType.COMMIT : ControlType.ABORT, pos + 2);
  pos += KEY_BYTES;
  pos = writeVarint(b, pos, VALUE_BYTES);
  b.writeInt16BE(0, pos);
  b.writeInt32BE(m.coordinatorEpoch, pos + 2);
  pos += VALUE_BYTES;
  pos = writeVarint(b, pos, 0); // headers
  if (pos !== MARKER_BATCH_BYTES) throw new Error(`marker batch layout: wrote ${pos} of ${MARKER_BATCH_BYTES} bytes`);
  b.writeUInt32BE(crc32c(b.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return b;
}

/**
 * The control type of an uncompressed control batch at `at` (its first record's key), or null when
 * the bytes do not hold one. Control batches are written by brokers, never compressed.
 */
export function controlTypeOf(buf: Buffer, at: number, end: number): number | null {
  try {
    const c = new VarintCursor(buf, at + RECORD_BATCH_HEADER_SIZE, end);
    const length = c.readVarint();
    if (length <= 0 || c.pos + length > end) return null;
    c.pos += 1; // attributes
    c.readVarlong(); // timestamp delta
    c.readVarint(); // offset delta
    const keyLength = c.readVarint();
    if (keyLength < 4 || c.pos + keyLength > end) return null;
    return buf.readInt16BE(c.pos + 2);
  } catch {
    return null;
  }
}
