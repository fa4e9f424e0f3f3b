// The client's connection layer against a real broker: negotiation, metadata, reconnects, timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startBroker } from '../../src/index.js';
import { createCluster } from '../../src/client/client-options.js';
import { parseHostPort } from '../../src/client/cluster.js';
import { ClientError } from '../../src/client/errors.js';

test('parses broker addresses like Kafka clients do', () => {
  assert.deepEqual(parseHostPort('localhost'), { host: 'localhost', port: 9092 });
  assert.deepEqual(parseHostPort('PLAINTEXT://10.0.0.1:19092'), { host: '10.0.0.1', port: 19092 });
  assert.deepEqual(parseHostPort('[::1]:9093'), { host: '::1', port: 9093 });
  assert.throws(() => parseHostPort('host:99999'), /Invalid port/);
});

test('negotiates versions and reads metadata; auto-creates when asked', async () => {
  const broker = await startBroker({ config: { 'num.partitions': '2' } });
  const cluster = createCluster({ bootstrapServers: broker.bootstrapServers }, 'test');
  try {
    const conn = await cluster.anyConnection();
    assert.equal(conn.versionFor(3), 12);
    assert.equal(conn.versionFor(0), 9);
    await cluster.refreshMetadata(['auto-made'], true);
    const t = await cluster.topic('auto-made');
    assert.equal(t.partitions.length, 2);
    assert.equal(t.partitions[1]!.leader, broker.broker.nodeId);
    assert.equal(cluster.clusterId, broker.broker.clusterId);
    await assert.rejects(cluster.topic('missing'), /UNKNOWN_TOPIC_OR_PARTITION/);
    const leader = await cluster.leaderFor('auto-made', 0);
    assert.equal(leader.address, broker.bootstrapServers);
  } finally {
    await cluster.close();
    await broker.close();
  }
});

test('a refused connection fails fast with CONNECTION_FAILED, then backs off', async () => {
  const cluster = createCluster({ bootstrapServers: '127.0.0.1:1', reconnectBackoffMs: 50 }, 'test');
  await assert.rejects(cluster.anyConnection(), (e: unknown) => e instanceof ClientError && e.code === 'CONNECTION_FAILED');
  await cluster.close();
});

test('a silent broker times the request out and the connection is dropped', async () => {
  const server = createServer(() => {}).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  const cluster = createCluster({ bootstrapServers: `127.0.0.1:${port}`, requestTimeoutMs: 200 }, 'test');
  try {
    await assert.rejects(cluster.anyConnection(), (e: unknown) => e instanceof ClientError && e.code === 'REQUEST_TIMED_OUT');
  } finally {
    await cluster.close();
    server.close();
  }
});
