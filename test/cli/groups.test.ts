// `fjord groups ...`: the lag report with Kafka's columns, members and state, offset resets, deletion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';

const { Kafka, logLevel } = kafkajs;
const BIN = join(process.cwd(), 'bin', 'fjord');
let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } });
});
after(async () => {
  await broker.close();
});

function fjord(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--bootstrap-server', broker.bootstrapServers], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const rows = (out: string): string[][] => out.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));

test('describe shows lag per partition; members and state; reset-offsets; delete', async () => {
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'lag', numPartitions: 2 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'lag', messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })) });

  // A consumer reads 3 records of partition 0 and commits; then the group has a member.
  const consumer = kafka.consumer({ groupId: 'g1', maxWaitTimeInMs: 50 });
  // A failed assertion must not leave kafkajs's heartbeats keeping this test process alive.
  after(() => Promise.all([consumer.disconnect(), producer.disconnect()]));
  await consumer.connect();
  await consumer.subscribe({ topic: 'lag', fromBeginning: true });
  let seen = 0;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      seen++;
      if (partition === 0 && message.offset === '2') await consumer.commitOffsets([{ topic: 'lag', partition: 0, offset: '3' }]);
    },
  });
  for (let i = 0; seen < 10; i++) {
    if (i > 500) throw new Error(`consumer saw only ${seen} records`);
    await new Promise((r) => setTimeout(r, 20));
  }

  let r = await fjord(['groups', 'list']);
  assert.equal(r.stdout, 'g1\n');
  r = await fjord(['groups', 'describe', 'g1']);
  assert.equal(r.code, 0, r.stderr);
  const table = rows(r.stdout);
  assert.deepEqual(table[0], ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID']);
  assert.deepEqual(table[1]!.slice(0, 6), ['g1', 'lag', '0', '3', '5', '2']);
  assert.deepEqual(table[2]!.slice(0, 6), ['g1', 'lag', '1', '-', '5', '-']);
  assert.match(table[1]![6]!, /^kafkajs-/);
  r = await fjord(['groups', 'describe', 'g1', '--members']);
  assert.deepEqual(rows(r.stdout)[0], ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS']);
  assert.equal(rows(r.stdout)[1]![4], '2');
  r = await fjord(['groups', 'describe', 'g1', '--state']);
  assert.deepEqual(rows(r.stdout)[1]!.slice(2), ['RoundRobinAssigner', 'Stable', '1']);

  // An active group cannot be reset or deleted.
  r = await fjord(['groups', 'reset-offsets', 'g1', '--topic', 'lag', '--to-earliest', '--execute']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /can only be reset if the group 'g1' is inactive, but the current state is Stable/);
  r = await fjord(['groups', 'delete', 'g1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /NON_EMPTY_GROUP/);

  await consumer.disconnect();
  await producer.disconnect();

  r = await fjord(['groups', 'describe', 'g1']);
  assert.match(r.stderr, /Consumer group 'g1' has no active members\./);
  assert.deepEqual(rows(r.stdout)[1]!.slice(6), ['-', '-', '-']);

  // Dry run by default: nothing changes.
  r = await fjord(['groups', 'reset-offsets', 'g1', '--topic', 'lag', '--shift-by', '-2']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rows(r.stdout).slice(1), [['g1', 'lag', '0', '1'], ['g1', 'lag', '1', '0']]);
  assert.deepEqual(rows((await fjord(['groups', 'describe', 'g1'])).stdout)[1]!.slice(3, 4), ['3']);
  r = await fjord(['groups', 'reset-offsets', 'g1', '--topic', 'lag:1', '--to-offset', '4', '--execute']);
  assert.deepEqual(rows(r.stdout).slice(1), [['g1', 'lag', '1', '4']]);
  r = await fjord(['groups', 'reset-offsets', 'g1', '--topic', 'lag:0', '--to-latest', '--execute']);
  assert.deepEqual(rows((await fjord(['groups', 'describe', 'g1'])).stdout).slice(1).map((x) => x.slice(2, 6)), [['0', '5', '5', '0'], ['1', '4', '5', '1']]);
  r = await fjord(['groups', 'reset-offsets', 'g1', '--topic', 'lag', '--to-datetime', '2000-01-01T00:00:00Z']);
  assert.deepEqual(rows(r.stdout).slice(1).map((x) => x[3]), ['0', '0']);

  r = await fjord(['groups', 'reset-offsets', 'g1', '--topic', 'lag']);
  assert.equal(r.code, 2);
  r = await fjord(['groups', 'delete', 'g1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await fjord(['groups', 'list'])).stdout, '');
  r = await fjord(['groups', 'describe', 'g1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not exist/);
});

test('consume --group joins the group, commits what it printed, and the next run resumes there', async () => {
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'grouped', messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, partition: 0 })) });
  await producer.disconnect();
  let r = await fjord(['consume', 'grouped', '--group', 'cli-group', '--from-beginning', '--max-messages', '6']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  r = await fjord(['groups', 'describe', 'cli-group']);
  assert.deepEqual(rows(r.stdout)[1]!.slice(1, 6), ['grouped', '0', '6', '10', '4']);
  r = await fjord(['consume', 'grouped', '--group', 'cli-group', '--timeout-ms', '3000']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['m6', 'm7', 'm8', 'm9']);
  r = await fjord(['groups', 'describe', 'cli-group']);
  assert.deepEqual(rows(r.stdout)[1]!.slice(3, 6), ['10', '10', '0']);
  r = await fjord(['consume', 'grouped', '--group', 'cli-group', '--partition', '0']);
  assert.equal(r.code, 2);
});
