import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryFsDiskEngine } from './engines.js';
import { makeBatch } from './make-batch.js';

const TOPIC_ID = '4a0c7a8e-8d6c-4f0e-9b7b-1c2d3e4f5a6b';
const TOPIC_ID_B = '5b1d8b9f-9e7d-4a1f-8c8c-2d3e4f5a6b7c';

describe('a compacted log rolls at max.compaction.lag.ms (Kafka LogConfig.maxSegmentMs)', () => {
  it('rolls the active segment of a compacted topic once it is older than the lag, and only then', async () => {
    const e = await memoryFsDiskEngine.start();
    try {
      e.manager.createTopic('c', 1, { 'cleanup.policy': 'compact', 'max.compaction.lag.ms': '1000' }, TOPIC_ID);
      e.manager.createTopic('d', 1, { 'cleanup.policy': 'delete', 'max.compaction.lag.ms': '1000' }, TOPIC_ID_B);
      for (const t of ['c', 'd']) e.manager.partition(t, 0)!.append(makeBatch(['a']));
      e.clock.advance(1000);
      for (const t of ['c', 'd']) e.manager.partition(t, 0)!.append(makeBatch(['b']));
      assert.equal(e.segmentFiles!('c', 0).length, 1, 'not yet older than the lag');
      e.clock.advance(1);
      for (const t of ['c', 'd']) e.manager.partition(t, 0)!.append(makeBatch(['c']));
      assert.equal(e.segmentFiles!('c', 0).length, 2, 'the compacted topic rolled');
      assert.equal(e.segmentFiles!('d', 0).length, 1, 'a delete-policy topic ignores max.compaction.lag.ms');
      // Altering the config takes effect at once: without the lag the compacted log stops rolling early.
      e.manager.setTopicConfigs('c', { 'cleanup.policy': 'compact' });
      e.clock.advance(5000);
      e.manager.partition('c', 0)!.append(makeBatch(['d']));
      assert.equal(e.segmentFiles!('c', 0).length, 2);
    } finally {
      await e.cleanup();
    }
  });
});
