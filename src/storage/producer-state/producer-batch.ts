import {
  ATTRIBUTES_AT,
  BASE_SEQUENCE_AT,
  LAST_OFFSET_DELTA_AT,
  MAX_TIMESTAMP_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  readInt64,
} from '../batch-header.js';
import type { BatchInfo } from '../batch-header.js';
import type { ProducerBatch } from './producer-state.js';

const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

/** The producer fields of the magic-2 batch header at `at`. */
export function producerBatchOf(buf: Buffer, at = 0): ProducerBatch {
  return {
    producerId: readInt64(buf, at + PRODUCER_ID_AT),
    producerEpoch: buf.readInt16BE(at + PRODUCER_EPOCH_AT),
    baseSequence: buf.readInt32BE(at + BASE_SEQUENCE_AT),
    lastOffsetDelta: buf.readInt32BE(at + LAST_OFFSET_DELTA_AT),
    isTransactional: (buf.readInt16BE(at + ATTRIBUTES_AT) & TRANSACTIONAL_BIT) !== 0,
    maxTimestamp: readInt64(buf, at + MAX_TIMESTAMP_AT),
  };
}

export function isControlBatchAt(buf: Buffer, at = 0): boolean {
  return (buf.readInt16BE(at + ATTRIBUTES_AT) & CONTROL_BIT) !== 0;
}

/** The same fields from a header already parsed by the log (recovery scans). */
export function producerBatchOfInfo(info: BatchInfo): ProducerBatch {
  return {
    producerId: info.producerId,
    producerEpoch: info.producerEpoch,
    baseSequence: info.baseSequence,
    lastOffsetDelta: info.lastOffset - info.baseOffset,
    isTransactional: (info.attributes & TRANSACTIONAL_BIT) !== 0,
    maxTimestamp: info.maxTimestamp,
  };
}

export function isControlInfo(info: BatchInfo): boolean {
  return (info.attributes & CONTROL_BIT) !== 0;
}
