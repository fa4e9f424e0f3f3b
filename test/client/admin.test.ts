// The admin client against a real broker: every operation, its results and its per-item errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createAdmin, AdminError, type Admin, type ConfigEntry } from '../../src/client/admin/index.js';
import { ClientError, KafkaProtocolError } from '../../src/client/errors.js';

let broker: RunningBroker;
let admin: Admin;

before(async () => {
  broker = await startBroker({ config: { 'num.partitions': '2', 'log.retention.ms': '7200000' } });
  admin = createAdmin({ bootstrapServers: broker.bootstrapServers, clientId: 'admin-test' });
});
after(async () => {
  await admin.close();
  await broker.close();
});

/** Asserts an AdminError whose only failure has this Kafka code, and returns it. */
async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<AdminError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => ((caught = e), true));
  assert.ok(caught instanceof AdminError, `expected AdminError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  const err = caught.failures[0]!.error;
  assert.ok(err instanceof KafkaProtocolError);
  assert.equal(err.code, code);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

async function produce(topic: string, timestamps: readonly number[]): Promise<void> {
  const kafka = new kafkajs.Kafka({ brokers: [broker.bootstrapServers], logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: timestamps.map((t, i) => ({ value: `v${i}`, timestamp: String(t) })) });
  } finally {
    await producer.disconnect();
  }
}

const find = (entries: readonly ConfigEntry[], name: string): ConfigEntry => {
  const e = entries.find((c) => c.name === name);
  assert.ok(e !== undefined, `no config ${name}`);
  return e;
};

test('createTopics creates, reports and validates; listTopics and describeTopics see it', async () => {
  const [created] = await admin.createTopics([{ name: 'adm-orders', partitions: 3, configs: { 'retention.ms': '3600000' } }]);
  assert.equal(created!.name, 'adm-orders');
  assert.equal(created!.partitions, 3);
  assert.equal(created!.replicationFactor, 1);
  assert.match(created!.topicId!, /^[0-9a-f-]{36}$/);
  assert.equal(created!.configs['retention.ms'], '3600000');

  const [byDefault] = await admin.createTopics([{ name: 'adm-default' }]);
  assert.equal(byDefault!.partitions, 2, 'num.partitions applies when partitions is omitted');

  const [dry] = await admin.createTopics([{ name: 'adm-dry', partitions: 1 }], { validateOnly: true });
  assert.equal(dry!.topicId, null);
  const names = await admin.listTopics();
  assert.deepEqual(names, [...names].sort());
  assert.ok(names.includes('adm-orders') && names.includes('adm-default'));
  assert.ok(!names.includes('adm-dry'), 'validateOnly creates nothing');

  const [d] = await admin.describeTopics(['adm-orders']);
  assert.equal(d!.name, 'adm-orders');
  assert.equal(d!.topicId, created!.topicId);
  assert.equal(d!.isInternal, false);
  assert.deepEqual(
    d!.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr]),
    [0, 1, 2].map((p) => [p, broker.broker.nodeId, [broker.broker.nodeId], [broker.broker.nodeId]]),
  );
});

test('createTopics errors: exists, replication factor, bad config, partial failure', async () => {
  await admin.createTopics([{ name: 'adm-dup', partitions: 1 }]);
  await rejectsWith(admin.createTopics([{ name: 'adm-dup' }]), 'TOPIC_ALREADY_EXISTS', /topic adm-dup: TOPIC_ALREADY_EXISTS: Topic 'adm-dup' already exists/);
  await rejectsWith(admin.createTopics([{ name: 'adm-rf', replicationFactor: 3 }]), 'INVALID_REPLICATION_FACTOR', /Replication factor: 3 larger than available brokers: 1/);
  await rejectsWith(
    admin.createTopics([{ name: 'adm-badcfg', configs: { 'cleanup.policy': 'shred' } }]),
    'INVALID_CONFIG',
    /Invalid value shred for configuration cleanup.policy: String must be one of: delete, compact/,
  );
  await rejectsWith(admin.createTopics([{ name: 'adm-badcfg', configs: { 'no.such.key': '1' } }]), 'INVALID_CONFIG', /Unknown topic config name: no.such.key/);
  await rejectsWith(admin.createTopics([{ name: 'adm-zero', partitions: 0 }]), 'INVALID_PARTITIONS');

  // One bad item does not hide the good ones: the good topic is created and reported in `results`.
  const err = await rejectsWith(admin.createTopics([{ name: 'adm-ok' }, { name: 'adm-dup' }]), 'TOPIC_ALREADY_EXISTS', /1 of 2 failed/);
  assert.deepEqual(err.results.map((r) => (r as { name: string }).name), ['adm-ok']);
  assert.equal(err.failures.length, 1);
  assert.equal(err.failures[0]!.resource, 'topic adm-dup');
  assert.ok((await admin.listTopics()).includes('adm-ok'));

  await assert.rejects(admin.createTopics([{ name: 'x' }, { name: 'x' }]), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
});

test('deleteTopics removes topics; unknown topics fail per item', async () => {
  await admin.createTopics([{ name: 'adm-gone', partitions: 1 }]);
  const [deleted] = await admin.deleteTopics(['adm-gone']);
  assert.equal(deleted!.name, 'adm-gone');
  assert.ok(!(await admin.listTopics()).includes('adm-gone'));
  await rejectsWith(admin.deleteTopics(['adm-gone']), 'UNKNOWN_TOPIC_OR_PARTITION');
  await rejectsWith(admin.describeTopics(['adm-gone']), 'UNKNOWN_TOPIC_OR_PARTITION', /topic adm-gone/);
});

test('createPartitions grows a topic and rejects shrinking or unknown topics', async () => {
  await admin.createTopics([{ name: 'adm-grow', partitions: 1 }]);
  // Warm the metadata cache so the growth must invalidate it for listOffsets below.
  await admin.listOffsets([{ topic: 'adm-grow', partition: 0, spec: 'latest' }]);
  assert.deepEqual(await admin.createPartitions([{ topic: 'adm-grow', count: 3 }]), [{ topic: 'adm-grow', count: 3 }]);
  const [d] = await admin.describeTopics(['adm-grow']);
  assert.equal(d!.partitions.length, 3);
  const [latest] = await admin.listOffsets([{ topic: 'adm-grow', partition: 2, spec: 'latest' }]);
  assert.equal(latest!.offset, 0n);

  await admin.createPartitions([{ topic: 'adm-grow', count: 5 }], { validateOnly: true });
  assert.equal((await admin.describeTopics(['adm-grow']))[0]!.partitions.length, 3);

  await rejectsWith(admin.createPartitions([{ topic: 'adm-grow', count: 2 }]), 'INVALID_PARTITIONS', /Topic currently has 3 partitions, which is higher than the requested 2/);
  await rejectsWith(admin.createPartitions([{ topic: 'adm-nope', count: 2 }]), 'UNKNOWN_TOPIC_OR_PARTITION');
});

test('describeConfigs sources before and after incrementalAlterConfigs (set, append, delete)', async () => {
  await admin.createTopics([{ name: 'adm-cfg', partitions: 1 }]);
  const before = (await admin.describeConfigs([{ type: 'topic', name: 'adm-cfg' }]))[0]!;
  assert.equal(before.type, 'topic');
  assert.equal(before.name, 'adm-cfg');
  const policy = find(before.configs, 'cleanup.policy');
  assert.deepEqual(
    { value: policy.value, source: policy.source, isDefault: policy.isDefault, readOnly: policy.readOnly, sensitive: policy.sensitive, type: policy.type },
    { value: 'delete', source: 'DEFAULT_CONFIG', isDefault: true, readOnly: false, sensitive: false, type: 'LIST' },
  );
  // retention.ms inherits the broker's log.retention.ms from the broker's static config.
  const retention = find(before.configs, 'retention.ms');
  assert.equal(retention.value, '7200000');
  assert.equal(retention.source, 'STATIC_BROKER_CONFIG');
  assert.equal(retention.isDefault, false);
  assert.deepEqual(retention.synonyms.map((s) => [s.name, s.source]), [['log.retention.ms', 'STATIC_BROKER_CONFIG'], ['log.retention.ms', 'DEFAULT_CONFIG']]);

  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-cfg', ops: [{ key: 'retention.ms', op: 'set', value: '60000' }, { key: 'cleanup.policy', op: 'append', value: 'compact' }] }]);
  const mid = (await admin.describeConfigs([{ type: 'topic', name: 'adm-cfg', keys: ['cleanup.policy', 'retention.ms'] }]))[0]!;
  assert.deepEqual(mid.configs.map((c) => c.name).sort(), ['cleanup.policy', 'retention.ms']);
  assert.equal(find(mid.configs, 'cleanup.policy').value, 'delete,compact');
  assert.equal(find(mid.configs, 'cleanup.policy').source, 'DYNAMIC_TOPIC_CONFIG');
  assert.equal(find(mid.configs, 'retention.ms').value, '60000');
  assert.equal(find(mid.configs, 'retention.ms').source, 'DYNAMIC_TOPIC_CONFIG');
  assert.equal(find(mid.configs, 'retention.ms').synonyms[0]!.source, 'DYNAMIC_TOPIC_CONFIG');

  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-cfg', ops: [{ key: 'cleanup.policy', op: 'subtract', value: 'delete' }] }]);
  assert.equal(find((await admin.describeConfigs([{ type: 'topic', name: 'adm-cfg', keys: ['cleanup.policy'] }]))[0]!.configs, 'cleanup.policy').value, 'compact');

  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-cfg', ops: [{ key: 'cleanup.policy', op: 'delete' }, { key: 'retention.ms', op: 'delete' }] }]);
  const after = (await admin.describeConfigs([{ type: 'topic', name: 'adm-cfg' }], { includeSynonyms: false }))[0]!;
  assert.equal(find(after.configs, 'cleanup.policy').source, 'DEFAULT_CONFIG');
  assert.equal(find(after.configs, 'cleanup.policy').value, 'delete');
  assert.equal(find(after.configs, 'retention.ms').source, 'STATIC_BROKER_CONFIG');
  assert.deepEqual(find(after.configs, 'retention.ms').synonyms, []);

  // validateOnly checks without applying.
  await admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-cfg', ops: [{ key: 'retention.ms', op: 'set', value: '1000' }] }], { validateOnly: true });
  assert.equal(find((await admin.describeConfigs([{ type: 'topic', name: 'adm-cfg', keys: ['retention.ms'] }]))[0]!.configs, 'retention.ms').value, '7200000');
});

test('config errors carry the broker message', async () => {
  await admin.createTopics([{ name: 'adm-cfgerr', partitions: 1 }]);
  await rejectsWith(
    admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-cfgerr', ops: [{ key: 'retention.ms', op: 'set', value: 'soon' }] }]),
    'INVALID_CONFIG',
    /Invalid value soon for configuration retention.ms: Not a number of type LONG/,
  );
  await rejectsWith(
    admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-cfgerr', ops: [{ key: 'retention.ms', op: 'append', value: '5' }] }]),
    'INVALID_CONFIG',
    /Config retention.ms is not a list/,
  );
  await rejectsWith(admin.describeConfigs([{ type: 'topic', name: 'adm-missing' }]), 'UNKNOWN_TOPIC_OR_PARTITION', /topic adm-missing/);
  await rejectsWith(admin.alterConfigs([{ type: 'topic', name: 'adm-missing', configs: {} }]), 'UNKNOWN_TOPIC_OR_PARTITION');
  await assert.rejects(
    admin.incrementalAlterConfigs([{ type: 'topic', name: 'adm-cfgerr', ops: [{ key: 'retention.ms', op: 'set' }] }]),
    (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT',
  );
});

test('alterConfigs replaces the whole set of overrides', async () => {
  await admin.createTopics([{ name: 'adm-legacy', partitions: 1, configs: { 'retention.ms': '3600000' } }]);
  const [altered] = await admin.alterConfigs([{ type: 'topic', name: 'adm-legacy', configs: { 'cleanup.policy': 'compact' } }]);
  assert.deepEqual(altered, { type: 'topic', name: 'adm-legacy' });
  const [d] = await admin.describeConfigs([{ type: 'topic', name: 'adm-legacy', keys: ['cleanup.policy', 'retention.ms'] }]);
  assert.equal(find(d!.configs, 'cleanup.policy').value, 'compact');
  assert.equal(find(d!.configs, 'retention.ms').value, '7200000');
  assert.equal(find(d!.configs, 'retention.ms').source, 'STATIC_BROKER_CONFIG');
  await rejectsWith(admin.alterConfigs([{ type: 'topic', name: 'adm-legacy', configs: { 'retention.ms': '-5' } }]), 'INVALID_CONFIG', /Value must be at least -1/);
});

test('broker configs: described on the broker itself; static in Fjord', async () => {
  const id = String(broker.broker.nodeId);
  const [b] = await admin.describeConfigs([{ type: 'broker', name: id, keys: ['num.partitions', 'log.retention.ms', 'delete.topic.enable'] }]);
  assert.equal(b!.type, 'broker');
  assert.equal(find(b!.configs, 'num.partitions').value, '2');
  assert.equal(find(b!.configs, 'num.partitions').source, 'STATIC_BROKER_CONFIG');
  assert.equal(find(b!.configs, 'delete.topic.enable').source, 'DEFAULT_CONFIG');
  await rejectsWith(admin.incrementalAlterConfigs([{ type: 'broker', name: id, ops: [{ key: 'num.partitions', op: 'set', value: '4' }] }]), 'INVALID_CONFIG', /Broker configs are static in Fjord/);
  await rejectsWith(admin.describeConfigs([{ type: 'broker', name: 'not-a-node' }]), 'INVALID_REQUEST', /Unexpected broker id/);
});

test('listOffsets by spec and timestamp; deleteRecords moves the earliest offset', async () => {
  await admin.createTopics([{ name: 'adm-times', partitions: 1 }]);
  const t0 = 1_700_000_000_000;
  await produce('adm-times', [t0, t0 + 1000, t0 + 2000]);
  await produce('adm-times', [t0 + 5000, t0 + 3000]);

  const q = (spec: Parameters<Admin['listOffsets']>[0][number]['spec']) => ({ topic: 'adm-times', partition: 0, spec });
  const [earliest] = await admin.listOffsets([q('earliest')]);
  assert.deepEqual(earliest, { topic: 'adm-times', partition: 0, offset: 0n, timestamp: -1, leaderEpoch: 0 });
  // One query per partition and call (Kafka's rule), so each spec is its own call.
  assert.equal((await admin.listOffsets([q('latest')]))[0]!.offset, 5n);
  const [m] = await admin.listOffsets([q('max-timestamp')]);
  assert.deepEqual([m!.offset, m!.timestamp], [3n, t0 + 5000]);
  const [at] = await admin.listOffsets([q({ timestamp: t0 + 1500 })]);
  assert.deepEqual([at!.topic, at!.partition, at!.offset, at!.timestamp], ['adm-times', 0, 2n, t0 + 2000]);
  assert.equal(at!.leaderEpoch, 0);
  const [exact] = await admin.listOffsets([q({ timestamp: t0 })]);
  assert.deepEqual([exact!.offset, exact!.timestamp], [0n, t0]);
  const [beyond] = await admin.listOffsets([q({ timestamp: t0 + 60_000 })]);
  assert.deepEqual([beyond!.offset, beyond!.timestamp], [-1n, -1]);

  const [deleted] = await admin.deleteRecords([{ topic: 'adm-times', partition: 0, offset: 2n }]);
  assert.deepEqual(deleted, { topic: 'adm-times', partition: 0, lowWatermark: 2n });
  assert.equal((await admin.listOffsets([q('earliest')]))[0]!.offset, 2n);
  const [all] = await admin.deleteRecords([{ topic: 'adm-times', partition: 0, offset: -1n }]);
  assert.equal(all!.lowWatermark, 5n);
  assert.equal((await admin.listOffsets([q('earliest')]))[0]!.offset, 5n);

  await rejectsWith(admin.deleteRecords([{ topic: 'adm-times', partition: 0, offset: 99n }]), 'OFFSET_OUT_OF_RANGE');
  await rejectsWith(admin.listOffsets([{ topic: 'adm-times', partition: 7, spec: 'latest' }]), 'UNKNOWN_TOPIC_OR_PARTITION', /adm-times-7/);
  await rejectsWith(admin.deleteRecords([{ topic: 'adm-none', partition: 0, offset: 0n }]), 'UNKNOWN_TOPIC_OR_PARTITION');
  await assert.rejects(admin.listOffsets([q('latest'), q('earliest')]), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
});

test('listOffsets and deleteRecords batch several partitions and topics per leader', async () => {
  await admin.createTopics([{ name: 'adm-multi-a', partitions: 2 }, { name: 'adm-multi-b', partitions: 1 }]);
  await produce('adm-multi-b', [1, 2, 3]);
  const res = await admin.listOffsets([
    { topic: 'adm-multi-b', partition: 0, spec: 'latest' },
    { topic: 'adm-multi-a', partition: 1, spec: 'latest' },
    { topic: 'adm-multi-a', partition: 0, spec: 'earliest' },
  ]);
  assert.deepEqual(res.map((r) => [r.topic, r.partition, r.offset]), [['adm-multi-b', 0, 3n], ['adm-multi-a', 1, 0n], ['adm-multi-a', 0, 0n]]);
  const err = await rejectsWith(
    admin.deleteRecords([{ topic: 'adm-multi-b', partition: 0, offset: 1n }, { topic: 'adm-multi-a', partition: 5, offset: 0n }]),
    'UNKNOWN_TOPIC_OR_PARTITION',
  );
  assert.deepEqual(err.results, [{ topic: 'adm-multi-b', partition: 0, lowWatermark: 1n }]);
});

test('describeCluster names the cluster, controller and brokers', async () => {
  const c = await admin.describeCluster();
  assert.equal(c.clusterId, broker.broker.clusterId);
  assert.equal(c.controllerId, broker.broker.nodeId);
  assert.deepEqual(c.brokers, [{ nodeId: broker.broker.nodeId, host: broker.host, port: broker.port, rack: null }]);
});

test('a closed admin client refuses calls', async () => {
  const a = createAdmin({ bootstrapServers: broker.bootstrapServers });
  assert.ok((await a.listTopics()).length > 0);
  await a.close();
  await a.close();
  await assert.rejects(a.listTopics(), (e: unknown) => e instanceof ClientError && e.code === 'CLIENT_CLOSED');
});
