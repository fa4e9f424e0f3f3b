// ListOffsets answers with the record, not just its batch: earliest, latest, by timestamp inside a
// batch, and max timestamp, on both storage engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';
import { buildRecordBatch, CompressionCodec } from '../../src/protocol/records/index.js';
import { RawClient } from './raw-client.js';

interface LoRes { topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint; timestamp: bigint }> }> }

for (const storage of ['memory', 'disk'] as const) {
  test(`ListOffsets finds records by time inside batches (${storage})`, async () => {
    const broker = await startBroker(storage === 'disk' ? { dataDir: mkdtempSync(join(tmpdir(), 'fjord-lo-')) } : {});
    const c = await RawClient.connect(broker.port);
    try {
      // Two batches: timestamps 1000..1009 (one out of order: 1003 is 5000), then 2000..2004 compressed.
      const first = Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.from(`a${i}`), timestamp: i === 3 ? 5000 : 1000 + i }));
      const second = Array.from({ length: 5 }, (_, i) => ({ key: null, value: Buffer.from(`b${i}`.repeat(50)), timestamp: 2000 + i }));
      for (const [records, compression] of [[first, CompressionCodec.NONE], [second, CompressionCodec.GZIP]] as const) {
        await c.request(0, 8, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'lo', partitionData: [{ index: 0, records: await buildRecordBatch({ records, compression }) }] }] });
      }
      const ask = async (timestamp: bigint): Promise<[bigint, bigint]> => {
        const r = await c.request<LoRes>(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
        const p = r.topics[0]!.partitions[0]!;
        assert.equal(p.errorCode, 0);
        return [p.offset, p.timestamp];
      };
      assert.deepEqual((await ask(-2n))[0], 0n);
      assert.deepEqual((await ask(-1n))[0], 15n);
      assert.deepEqual(await ask(1005n), [3n, 5000n]);
      assert.deepEqual(await ask(1001n), [1n, 1001n]);
      assert.deepEqual(await ask(2002n), [3n, 5000n]);
      assert.deepEqual(await ask(-3n), [3n, 5000n]);
      assert.deepEqual(await ask(6000n), [-1n, -1n]);
    } finally {
      c.close();
      await broker.close();
    }
  });
}
