import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDiskLogManager } from '../../src/storage/index.js';
import { CREATE_TOPIC_STEP_PARTITIONS } from '../../src/storage/disk/disk-log-manager.js';
import { readCheckpoint, topicPartitionKey } from '../../src/storage/disk/checkpoint-file.js';
import { MemoryFileSystem } from '../../src/testing/memory-file-system.js';
import { makeBatch, makeSizedBatch } from './make-batch.js';
import { ManualClock } from './manual-clock.js';

const ID_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const ID_B = 'bbbbbbbb-0000-4000-8000-000000000002';

function manager(fs: MemoryFileSystem, clock = new ManualClock()) {
  return createDiskLogManager({ logDir: '/logs', fs, clock, checkpointIntervalMs: 1000 });
}

describe('log directory files', () => {
  it('writes Kafka-format checkpoints, partition.metadata, the topics file and the clean marker', async () => {
    const fs = new MemoryFileSystem();
    const m = manager(fs);
    await m.open();
    m.createTopic('orders', 2, { 'cleanup.policy': 'delete' }, ID_A);
    const p0 = m.partition('orders', 0);
    assert.ok(p0);
    for (let i = 0; i < 3; i++) p0.append(makeBatch(['a', 'b']));
    p0.advanceLogStartOffset(2);
    await m.close();

    assert.equal(fs.readFile('/logs/recovery-point-offset-checkpoint').toString(), '0\n2\norders 0 6\norders 1 0\n');
    assert.equal(fs.readFile('/logs/log-start-offset-checkpoint').toString(), '0\n2\norders 0 2\norders 1 0\n');
    assert.equal(fs.readFile('/logs/orders-1/partition.metadata').toString(), `version: 0\ntopic_id: ${ID_A}\n`);
    assert.deepEqual(JSON.parse(fs.readFile('/logs/fjord-topics.json').toString()), {
      version: 1,
      topics: [{ name: 'orders', topicId: ID_A, partitions: 2, configs: { 'cleanup.policy': 'delete' } }],
    });
    assert.equal(fs.exists('/logs/.kafka_cleanshutdown'), true);
    assert.deepEqual(fs.readdir('/logs/orders-0'), [
      '00000000000000000000.index',
      '00000000000000000000.log',
      '00000000000000000000.timeindex',
      // Kafka's producer-state snapshot at the log end, written at shutdown.
      '00000000000000000006.snapshot',
      'partition.metadata',
    ]);
  });

  it('checkpoints the recovery point on a timer and the log start after a flush', async () => {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock();
    const m = manager(fs, clock);
    await m.open();
    m.createTopic('t', 1, {}, ID_A);
    const p = m.partition('t', 0);
    assert.ok(p);
    p.append(makeBatch(['a', 'b', 'c']));
    await p.flush();
    // A new partition has no entry until the timer (recovery from 0, the same as an entry of 0).
    assert.equal(readCheckpoint(fs, '/logs/recovery-point-offset-checkpoint').get(topicPartitionKey('t', 0)), undefined);
    clock.advance(1000);
    assert.equal(readCheckpoint(fs, '/logs/recovery-point-offset-checkpoint').get(topicPartitionKey('t', 0)), 3);
    p.advanceLogStartOffset(2);
    assert.equal(readCheckpoint(fs, '/logs/log-start-offset-checkpoint').get(topicPartitionKey('t', 0)) ?? 0, 0);
    await p.flush();
    assert.equal(readCheckpoint(fs, '/logs/log-start-offset-checkpoint').get(topicPartitionKey('t', 0)), 2);
    await m.close();
  });

  it('deleteTopic removes the partition directories; a recreated topic starts empty after a crash', async () => {
    const fs = new MemoryFileSystem();
    const m = manager(fs);
    await m.open();
    m.createTopic('t', 2, {}, ID_A);
    const p = m.partition('t', 0);
    assert.ok(p);
    for (let i = 0; i < 5; i++) p.append(makeSizedBatch(2, 100, `x${i}`));
    await p.flush();
    m.deleteTopic('t');
    assert.equal(fs.exists('/logs/t-0'), false);
    assert.equal(fs.exists('/logs/t-1'), false);
    m.createTopic('t', 1, {}, ID_B);
    fs.crash();
    const m2 = manager(fs);
    await m2.open();
    assert.equal(m2.getTopic('t')?.topicId, ID_B);
    assert.equal(m2.partition('t', 0)?.logEndOffset(), 0);
    assert.equal(m2.partition('t', 0)?.logStartOffset(), 0);
    await m2.close();
  });

  it('creating topics leaves the checkpoint files alone (new partitions recover from 0 without an entry)', async () => {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock();
    const m = manager(fs, clock);
    await m.open();
    m.createTopic('a', 1, {}, ID_A);
    m.partition('a', 0)!.append(makeBatch(['x', 'y']));
    await m.partition('a', 0)!.flush();
    clock.advance(1000);
    const before = fs.readFile('/logs/recovery-point-offset-checkpoint').toString();
    assert.equal(before, '0\n1\na 0 2\n');
    m.createTopic('b', 3, {}, ID_B);
    m.addPartitions('b', 5);
    assert.equal(fs.readFile('/logs/recovery-point-offset-checkpoint').toString(), before, 'not rewritten per creation');
    m.partition('b', 4)!.append(makeBatch(['z']));
    await m.partition('b', 4)!.flush();
    fs.crash();
    const m2 = manager(fs, clock);
    await m2.open();
    assert.equal(m2.partition('a', 0)!.logEndOffset(), 2);
    assert.equal(m2.partition('b', 4)!.logEndOffset(), 1, 'a partition without an entry recovers from offset 0');
    assert.equal(m2.partition('b', 0)!.logEndOffset(), 0);
    await m2.close();
  });

  it('a topic recreated after its deletion failed to rewrite the checkpoints rewrites them itself', async () => {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock();
    const m = manager(fs, clock);
    await m.open();
    m.createTopic('t', 1, {}, ID_A);
    for (let i = 0; i < 4; i++) m.partition('t', 0)!.append(makeBatch(['a', 'b']));
    await m.partition('t', 0)!.flush();
    clock.advance(1000);
    assert.equal(readCheckpoint(fs, '/logs/recovery-point-offset-checkpoint').get(topicPartitionKey('t', 0)), 8);
    fs.injectFault({ code: 'EIO', operations: ['write'], path: 'recovery-point-offset-checkpoint', count: 1 });
    assert.throws(() => m.deleteTopic('t'));
    assert.equal(readCheckpoint(fs, '/logs/recovery-point-offset-checkpoint').get(topicPartitionKey('t', 0)), 8, 'still names the old log');
    m.createTopic('t', 1, {}, ID_B);
    assert.equal(readCheckpoint(fs, '/logs/recovery-point-offset-checkpoint').get(topicPartitionKey('t', 0)), 0, 'no longer vouches for the old offsets');
    assert.equal(readCheckpoint(fs, '/logs/log-start-offset-checkpoint').get(topicPartitionKey('t', 0)), 0);
    await m.close();
  });

  it('removes orphan partition directories left by a crash mid-delete', async () => {
    const fs = new MemoryFileSystem();
    const m = manager(fs);
    await m.open();
    m.createTopic('keep', 1, {}, ID_A);
    await m.close();
    // A directory of a topic the topics file no longer lists, and one of a stale id.
    fs.mkdirp('/logs/gone-0');
    fs.writeFileAtomic('/logs/gone-0/partition.metadata', Buffer.from(`version: 0\ntopic_id: ${ID_B}\n`));
    fs.mkdirp('/logs/keep-3');
    fs.writeFileAtomic('/logs/keep-3/partition.metadata', Buffer.from(`version: 0\ntopic_id: ${ID_A}\n`));
    fs.mkdirp('/logs/not-ours');
    const m2 = manager(fs);
    await m2.open();
    assert.equal(fs.exists('/logs/gone-0'), false);
    assert.equal(fs.exists('/logs/keep-3'), false);
    assert.equal(fs.exists('/logs/keep-0'), true);
    assert.equal(fs.exists('/logs/not-ours'), true, 'directories without partition.metadata are left alone');
    await m2.close();
  });
});

describe('createTopicInSteps', () => {
  it('takes the name at once, shows the topic only when complete, and persists it', async () => {
    const fs = new MemoryFileSystem();
    const m = manager(fs);
    await m.open();
    let release!: () => void;
    let pauses = 0;
    const pause = (): Promise<void> => {
      pauses++;
      return new Promise((r) => (release = r));
    };
    const creating = m.createTopicInSteps('big', 150, {}, ID_A, pause);
    assert.equal(pauses, 1, 'paused after the first step');
    assert.equal(m.getTopic('big'), undefined, 'not visible while being created');
    assert.throws(() => m.createTopic('big', 1, {}, ID_B), /already exists/);
    assert.throws(() => m.createTopic('other', 1, {}, ID_A), /already in use/);
    m.createTopic('other', 1, {}, ID_B); // the manager keeps working meanwhile
    let done = false;
    void creating.then(() => (done = true), () => (done = true));
    while (!done) {
      release();
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(pauses, Math.ceil(150 / CREATE_TOPIC_STEP_PARTITIONS) - 1, 'one pause between steps');
    const meta = await creating;
    assert.equal(meta.partitions, 150);
    assert.equal(m.getTopic('big')?.partitions, 150);
    m.partition('big', 149)!.append(makeBatch(['x']));
    await m.close();
    const m2 = manager(fs);
    await m2.open();
    assert.equal(m2.getTopic('big')?.partitions, 150);
    assert.equal(m2.partition('big', 149)!.logEndOffset(), 1);
    await m2.close();
  });

  it('a close during creation abandons the topic and removes what it had created', async () => {
    const fs = new MemoryFileSystem();
    const m = manager(fs);
    await m.open();
    let release!: () => void;
    const creating = m.createTopicInSteps('big', 150, {}, ID_A, () => new Promise((r) => (release = r)));
    assert.equal(fs.exists('/logs/big-0'), true);
    const closed = m.close();
    release();
    await assert.rejects(creating, /closed while creating/);
    await closed;
    assert.equal(fs.exists('/logs/big-0'), false);
    const m2 = manager(fs);
    await m2.open();
    assert.equal(m2.getTopic('big'), undefined);
    await m2.close();
  });
});
