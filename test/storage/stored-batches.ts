// Reading a partition log back batch by batch, for the compaction tests. Not a test file.
import assert from 'node:assert/strict';
import { decodeRecordBatches } from '../../src/protocol/records/record-batch-reader.js';
import type { PartitionLog } from '../../src/storage/types.js';

type DecodedBatch = Awaited<ReturnType<typeof decodeRecordBatches>>[number];

/**
 * Decodes every batch of `log` (CRC checked) from its start, in offset order, calling `visit` with
 * each batch and the offset its read started at (a read may return batches before that offset).
 * Asserts that each read advances (with `advanceMessage`).
 */
export async function forEachStoredBatch(log: PartitionLog, visit: (b: DecodedBatch, readFrom: number) => void, advanceMessage?: string): Promise<void> {
  let offset = log.logStartOffset();
  while (offset < log.logEndOffset()) {
    const r = log.read(offset, 1 << 20, true);
    if (r.chunks.length === 0) break;
    let next = offset;
    for (const b of await decodeRecordBatches(Buffer.concat(r.chunks), { verifyCrc: true, maxDecompressedBytes: 1 << 24 })) {
      visit(b, offset);
      next = b.header.baseOffset + b.header.lastOffsetDelta + 1;
    }
    assert.ok(next > offset, advanceMessage);
    offset = next;
  }
}
