// kafkajs 2.2.4 admin operations beyond create/list: configs, partitions, offsets, deletion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
type Kafka = InstanceType<typeof Kafka>;
import { startBroker, type RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
let kafka: Kafka;

before(async () => {
  broker = await startBroker();
  kafka = new Kafka({ clientId: 'fjord-admin-test', brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
});
after(async () => {
  await broker.close();
});

test('describeConfigs reports overrides, defaults and sources; alterConfigs changes them', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'cfg', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg' }], includeSynonyms: true });
    const entries = described.resources[0]!.configEntries;
    const retention = entries.find((e) => e.configName === 'retention.ms')!;
    assert.equal(retention.configValue, '3600000');
    assert.equal(retention.isDefault, false);
    const segment = entries.find((e) => e.configName === 'segment.bytes')!;
    assert.equal(segment.configValue, '1073741824');
    assert.equal(segment.isDefault, true);

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    const after = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configNames: ['cleanup.policy', 'retention.ms'] }], includeSynonyms: false });
    const byName = new Map(after.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    assert.equal(byName.get('cleanup.policy'), 'compact');
    // The legacy AlterConfigs replaces the whole set: retention.ms is back to its default.
    assert.equal(byName.get('retention.ms'), '604800000');

    await assert.rejects(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
      /INVALID_CONFIG|Configuration is invalid|Invalid value/i,
    );
    const broker0 = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }], includeSynonyms: false });
    assert.ok(broker0.resources[0]!.configEntries.some((e) => e.configName === 'num.partitions' && e.configValue === '1'));
  } finally {
    await admin.disconnect();
  }
});

test('createPartitions grows a topic; deleteTopics removes it', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'grow', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 4 }] });
    const meta = await admin.fetchTopicMetadata({ topics: ['grow'] });
    assert.equal(meta.topics[0]!.partitions.length, 4);
    await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 2 }] }), /partitions/i);
    await admin.deleteTopics({ topics: ['grow'] });
    assert.ok(!(await admin.listTopics()).includes('grow'));
  } finally {
    await admin.disconnect();
  }
});

test('fetchTopicOffsetsByTimestamp and deleteTopicRecords move through the log', async () => {
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'times', numPartitions: 1 }] });
    const base = 1_700_000_000_000;
    for (let i = 0; i < 10; i++) {
      await producer.send({ topic: 'times', messages: [{ value: `v${i}`, timestamp: String(base + i * 1000) }] });
    }
    const at = await admin.fetchTopicOffsetsByTimestamp('times', base + 4500);
    assert.equal(at[0]!.offset, '5');
    const beyond = await admin.fetchTopicOffsetsByTimestamp('times', base + 60_000);
    // Past the last timestamp Kafka answers -1 and kafkajs maps it to the latest offset.
    assert.ok(beyond[0]!.offset === '10' || beyond[0]!.offset === '-1');
    await admin.deleteTopicRecords({ topic: 'times', partitions: [{ partition: 0, offset: '3' }] });
    const offsets = await admin.fetchTopicOffsets('times');
    assert.equal(offsets[0]!.low, '3');
    assert.equal(offsets[0]!.high, '10');
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});
