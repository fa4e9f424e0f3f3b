import { RECORD_BATCH_HEADER_SIZE, RECORDS_COUNT_OFFSET, compressionOf, ATTRIBUTES_OFFSET } from './batch-header.js';
import { decompress } from './compression.js';
import { DecompressionLimitError } from './decompression-limit-error.js';
import { RecordErrorCode } from './record-error-codes.js';
import { checkUncompressedRecords, type Problem } from './validate.js';

/**
 * The second half of produce validation, for compressed batches: inflate the records (never beyond
 * `maxDecompressedBytes`, so a decompression bomb costs at most that much memory) and walk their
 * length prefixes, as Kafka's LogValidator does. The inflated copy is dropped: the stored batch stays
 * the producer's compressed bytes. Async because the zstd binding is.
 */
export async function validateCompressedRecords(batch: Buffer, maxDecompressedBytes: number): Promise<Problem | undefined> {
  const codec = compressionOf(batch.readInt16BE(ATTRIBUTES_OFFSET));
  if (codec === 0) return undefined;
  let inflated: Buffer;
  try {
    inflated = await decompress(codec, batch.subarray(RECORD_BATCH_HEADER_SIZE), maxDecompressedBytes);
  } catch (err) {
    if (err instanceof DecompressionLimitError) {
      // Not retriable: a resend cannot shrink it.
      return { errorCode: RecordErrorCode.INVALID_RECORD, message: `compressed records inflate beyond ${maxDecompressedBytes} bytes` };
    }
    return { errorCode: RecordErrorCode.CORRUPT_MESSAGE, message: `compressed records cannot be decompressed: ${(err as Error).message}` };
  }
  return checkUncompressedRecords(inflated, 0, inflated.length, batch.readInt32BE(RECORDS_COUNT_OFFSET));
}
