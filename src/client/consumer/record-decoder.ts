import { TimestampType } from '../../protocol/records/batch-header.js';
import type { RecordHeader } from '../../protocol/records/record-batch-builder.js';
import type { DecodedRecord } from '../../protocol/records/record-batch-reader.js';
import { VarintCursor } from '../../protocol/records/varint.js';

/**
 * The consumer's record decoder: the records section of one magic-2 batch (already decompressed) to
 * DecodedRecords, with the same checks and messages as decodeRecordBatches in src/protocol/records,
 * but written for the fetch path's volume: one VarintCursor per batch, narrowed to each record in
 * turn, and one shared (frozen) header list for the common record without
 * headers. Keys and values are views of `data`, not copies.
 */

/** The headers of every record that has none; frozen, so no caller can add to it by mistake. */
export const NO_HEADERS: RecordHeader[] = Object.freeze([] as RecordHeader[]) as RecordHeader[];

export interface RecordsSection {
  readonly baseOffset: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly timestampType: TimestampType;
  readonly recordsCount: number;
}

/** Throws an Error naming the record (as decodeRecordBatches does) when the section is malformed. */
export function decodeRecords(data: Buffer, h: RecordsSection): DecodedRecord[] {
  const w = new VarintCursor(data, 0, data.length);
  const count = h.recordsCount;
  const records: DecodedRecord[] = [];
  const logAppend = h.timestampType === TimestampType.LOG_APPEND_TIME;
  const sectionEnd = data.length;
  let i = 0;
  try {
    for (; i < count; i++) {
      w.end = sectionEnd;
      const length = w.readVarint();
      const start = w.pos;
      if (length < 0 || length > sectionEnd - start) throw new RangeError(`invalid record length ${length}`);
      const end = start + length;
      w.end = end;
      w.pos = start + 1; // record attributes: unused by Kafka
      const timestampDelta = w.readVarlong();
      const offsetDelta = w.readVarint();
      const key = w.readNullableBytes();
      const value = w.readNullableBytes();
      const headerCount = w.readVarint();
      let headers = NO_HEADERS;
      if (headerCount !== 0) {
        if (headerCount < 0) throw new RangeError(`invalid header count ${headerCount}`);
        headers = [];
        for (let j = 0; j < headerCount; j++) {
          const headerKey = w.readNullableBytes();
          if (headerKey === null) throw new RangeError('null header key');
          headers.push({ key: headerKey.toString('utf8'), value: w.readNullableBytes() });
        }
      }
      if (w.pos !== end) throw new RangeError(`record length ${length} disagrees with its contents`);
      records.push({
        offset: h.baseOffset + offsetDelta,
        // Under LogAppendTime the broker's time in maxTimestamp replaces every record's own.
        timestamp: logAppend ? h.maxTimestamp : h.baseTimestamp + timestampDelta,
        key,
        value,
        headers,
      });
    }
  } catch (err) {
    throw new Error(`batch at byte 0: record ${i}: ${(err as Error).message}`);
  }
  if (w.pos !== sectionEnd) throw new Error(`batch at byte 0: ${sectionEnd - w.pos} bytes left after ${count} records`);
  return records;
}
