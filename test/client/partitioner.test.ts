// The default partitioner against the Java client: Kafka's own murmur2 test vectors, and parity with
// KafkaJS's Java-compatible DefaultPartitioner on a fixed table of keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import { murmur2, toPositive } from '../../src/client/murmur2.js';
import { partitionForKey, StickyPartitioner } from '../../src/client/partitioner.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';

const require = createRequire(import.meta.url);
/** KafkaJS's port of Java's Utils.murmur2 (Long arithmetic): an independent implementation. */
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

/** A fixed table: every tail length, non-ASCII UTF-8, and seeded random bytes up to 64 long. */
function keyTable(): Buffer[] {
  const keys: Buffer[] = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'foo', 'key-0', 'key-17', 'user:42', 'ørsted-fjord', '日本語キー', '🙂🙃', 'x'.repeat(1000)].map((s): Buffer => Buffer.from(s, 'utf8'));
  const rnd = new SeededRandom(480);
  for (let len = 0; len < 64; len++) keys.push(rnd.bytes(len));
  for (let i = 0; i < 200; i++) keys.push(Buffer.from(`order-${i}`));
  keys.push(Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0x80, 0, 0, 0x80, 0x7f]));
  return keys;
}

test("murmur2 reproduces Kafka's UtilsTest.testMurmur2 vectors", () => {
  // clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, expected] of cases) assert.equal(murmur2(Buffer.from(key)), expected, key);
  assert.equal(toPositive(-973932308), -973932308 & 0x7fffffff);
  assert.equal(toPositive(-2147483648), 0, 'toPositive is not Math.abs');
});

test('murmur2 equals KafkaJS’s Java-compatible murmur2 on every key of the table', () => {
  for (const key of keyTable()) assert.equal(murmur2(key), kafkajsMurmur2(key), key.toString('hex'));
  assert.equal(murmur2(Buffer.from('foo')), kafkajsMurmur2(Buffer.from('foo')));
});

test('keyed partitions equal KafkaJS DefaultPartitioner for 1..32 partitions', () => {
  const kafkajs = Partitioners.DefaultPartitioner();
  for (const count of [1, 2, 3, 5, 7, 10, 12, 16, 31, 32]) {
    const partitionMetadata = Array.from({ length: count }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 0, replicas: [0], isr: [0] }));
    for (const key of keyTable()) {
      const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
      assert.equal(partitionForKey(key, count), expected, `${key.toString('hex')} over ${count}`);
    }
  }
});

/** A random source that plays back a script, so a test knows every choice in advance. */
function scripted(values: number[]): { int(max: number): number; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    int(max) {
      calls.push(max);
      const v = values.shift() ?? 0;
      return v % max;
    },
  };
}

test('the sticky partitioner keeps one partition until a new batch would start there', () => {
  const random = scripted([1, 0, 1]);
  const sticky = new StickyPartitioner(random);
  let full = false;
  const startsNewBatch = (): boolean => full;
  // First choice: index 1 of [0, 1, 2].
  assert.equal(sticky.partition('t', 3, [0, 1, 2], startsNewBatch), 1);
  assert.equal(sticky.partition('t', 3, [0, 1, 2], startsNewBatch), 1);
  full = true;
  // Moving on picks among the others ([0, 2]): index 0 -> partition 0.
  assert.equal(sticky.partition('t', 3, [0, 1, 2], startsNewBatch), 0);
  // The new choice is used once before it can move again, even if it too would start a batch.
  assert.equal(sticky.partition('t', 3, [0, 1, 2], startsNewBatch), 2);
  full = false;
  assert.equal(sticky.partition('t', 3, [0, 1, 2], startsNewBatch), 2);
  assert.deepEqual(random.calls, [3, 2, 2]);
});

test('the sticky partitioner prefers partitions with a leader and tracks topics separately', () => {
  const sticky = new StickyPartitioner(scripted([0, 0, 0, 0]));
  assert.equal(sticky.partition('a', 4, [3], () => true), 3);
  assert.equal(sticky.partition('a', 4, [3], () => true), 3, 'the only available partition is kept');
  assert.equal(sticky.partition('b', 4, [], () => false), 0, 'no leader anywhere: any partition');
  assert.equal(sticky.partition('a', 4, [3], () => false), 3);
  // The topic shrank below the sticky partition (recreated): choose again.
  assert.equal(sticky.partition('a', 2, [0, 1], () => false), 0);
});
