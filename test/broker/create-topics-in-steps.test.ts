// A CreateTopics of thousands of partitions takes seconds of synchronous directory and file creation.
// It is created in steps, and the broker keeps answering other connections meanwhile; the topic's
// name is taken (TOPIC_ALREADY_EXISTS) but the topic is not visible until it is complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/reader.js';
import { API_DESCRIPTORS } from '../../src/protocol/generated/api-table.js';
import { RawClient } from './raw-client.js';

const PARTITIONS = 700;

interface CreateRes { topics: Array<{ name: string; errorCode: number; numPartitions: number }> }
interface MetadataRes { topics: Array<{ name: string; errorCode: number; partitions: unknown[] }> }

function decode<T>(apiKey: number, version: number, frame: Buffer | null): T {
  assert.ok(frame !== null, 'connection closed');
  const api = API_DESCRIPTORS.find((a) => a.apiKey === apiKey)!;
  const r = new Reader(frame);
  r.int32();
  if (api.responseFlexibleMin >= 0 && version >= api.responseFlexibleMin) r.skipTaggedFields();
  const res = api.decodeResponse(r, version);
  assert.ok(r.ok, r.error ?? '');
  return res as T;
}

test('other connections are served while a large topic is created; the topic appears whole', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-create-steps-'));
  const broker = await startBroker({ dataDir });
  const a = await RawClient.connect(broker.port);
  const b = await RawClient.connect(broker.port);
  try {
    a.send(19, 5, { topics: [{ name: 'big', numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 60_000, validateOnly: false });
    let created = false;
    const answer = a.nextFrame(110_000).then((f) => {
      created = true;
      return decode<CreateRes>(19, 5, f);
    });

    // While it is being created: others are answered, the name is taken, the topic is not visible yet.
    const versions = await b.request<{ errorCode: number }>(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.equal(versions.errorCode, 0);
    const again = await b.request<CreateRes>(19, 5, { topics: [{ name: 'big', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    assert.equal(again.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    const during = await b.request<MetadataRes>(3, 12, { topics: [{ name: 'big', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    assert.equal(created, false, 'the other connection was answered while the topic was still being created');
    assert.notEqual(during.topics[0]!.errorCode, 0, 'not visible (and not auto-created) while being created');

    const res = await answer;
    assert.equal(res.topics[0]!.errorCode, 0);
    assert.equal(res.topics[0]!.numPartitions, PARTITIONS);
    const after = await b.request<MetadataRes>(3, 12, { topics: [{ name: 'big', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(after.topics[0]!.errorCode, 0);
    assert.equal(after.topics[0]!.partitions.length, PARTITIONS);
  } finally {
    a.close();
    b.close();
    await broker.close();
  }
  // It was persisted like any topic.
  const again = await startBroker({ dataDir });
  try {
    const c = await RawClient.connect(again.port);
    const md = await c.request<MetadataRes>(3, 12, { topics: [{ name: 'big', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.topics[0]!.partitions.length, PARTITIONS);
    c.close();
  } finally {
    await again.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
