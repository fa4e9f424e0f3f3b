import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  TIMESTAMP_TYPE_MASK,
} from './batch-header.js';
import { crc32c } from './crc32c.js';
import { writeInt64FromNumber } from './int64.js';

/**
 * Rewrites a batch in place for a LogAppendTime topic, as Kafka does: set the
 * timestamp-type attribute, put the append time in maxTimestamp (readers then
 * use it for every record) and recompute the CRC over the changed bytes.
 * `batchLength` is the batch's total size in bytes (ValidatedBatch.length),
 * i.e. the batchLength field plus LOG_OVERHEAD; it is cross-checked against
 * the header so a mix-up cannot corrupt neighbouring batches.
 */
export function setLogAppendTime(buf: Buffer, batchStart: number, batchLength: number, now: number): void {
  if (!Number.isSafeInteger(now)) throw new RangeError(`append time ${now} is not an integer millisecond timestamp`);
  const declared = buf.readInt32BE(batchStart + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  if (declared !== batchLength || batchStart + batchLength > buf.length) {
    throw new RangeError(`batch at ${batchStart} is ${declared} bytes, not ${batchLength}, or overruns the buffer`);
  }
  const attributes = buf.readInt16BE(batchStart + ATTRIBUTES_OFFSET);
  buf.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, batchStart + ATTRIBUTES_OFFSET);
  writeInt64FromNumber(buf, batchStart + MAX_TIMESTAMP_OFFSET, now);
  const crc = crc32c(buf.subarray(batchStart + ATTRIBUTES_OFFSET, batchStart + batchLength));
  buf.writeUInt32BE(crc, batchStart + CRC_OFFSET);
}
