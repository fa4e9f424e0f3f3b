// Pipelined produce requests on one connection land in request order, even when the first one has
// to be decompressed for validation and the second could be appended at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../../src/index.js';
import { buildRecordBatch, CompressionCodec } from '../../src/protocol/records/index.js';
import { Reader } from '../../src/protocol/reader.js';
import { decodeProduceResponse } from '../../src/protocol/generated/produce.js';
import { RawClient } from './raw-client.js';

test('appends follow request order on a connection', async () => {
  const broker = await startBroker();
  try {
    const c = await RawClient.connect(broker.port);
    const big = await buildRecordBatch({
      compression: CompressionCodec.ZSTD,
      records: Array.from({ length: 2000 }, (_, i) => ({ key: null, value: Buffer.from(`compressible value ${i} `.repeat(20)), timestamp: 1 })),
    });
    const small = await buildRecordBatch({ records: [{ key: null, value: Buffer.from('x'), timestamp: 1 }] });
    const body = (records: Buffer): object => ({ acks: 1, timeoutMs: 1000, topicData: [{ name: 'ordered', partitionData: [{ index: 0, records }] }] });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(c.send(0, 8, body(big)));
      ids.push(c.send(0, 8, body(small)));
    }
    let expected = 0;
    for (let i = 0; i < ids.length; i++) {
      const frame = await c.nextFrame();
      assert.ok(frame !== null);
      const r = new Reader(frame);
      assert.equal(r.int32(), ids[i]);
      const res = decodeProduceResponse(r, 8);
      const p = res.responses[0]!.partitionResponses[0]!;
      assert.equal(p.errorCode, 0);
      assert.equal(p.baseOffset, BigInt(expected));
      expected += i % 2 === 0 ? 2000 : 1;
    }
    c.close();
  } finally {
    await broker.close();
  }
});
