// Admin retries: a stale controller (NOT_CONTROLLER) or a dropped connection is retried after a
// metadata refresh and a backoff on the injected clock, a bounded number of times.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createAdmin, AdminError } from '../../src/client/admin/index.js';
import { ClientError, KafkaProtocolError } from '../../src/client/errors.js';
import { tcpConnector } from '../../src/io/tcp-connector.js';
import { Writer } from '../../src/protocol/writer.js';
import { API_DESCRIPTORS } from '../../src/protocol/generated/api-table.js';
import { ManualClock } from '../../src/testing/test-broker.js';
import type { Connector } from '../../src/client/transport.js';

const CREATE_TOPICS = 19;
const METADATA = 3;
const LIST_OFFSETS = 2;
const API_VERSIONS = 18;
const NOT_CONTROLLER = 41;

/** What the interceptor does with one request: pass it on, answer it itself, or drop the connection. */
type Action = 'forward' | 'drop' | { readonly answer: object };

interface Seen {
  readonly apiKey: number;
  readonly version: number;
}

/**
 * A TCP connector that shows every request frame to `decide` first. Answers are framed with the
 * generated codec; the tests keep one request in flight per connection, so order is preserved.
 */
function intercepting(decide: (req: Seen) => Action): { connector: Connector; seen: Seen[]; connects: () => number } {
  const seen: Seen[] = [];
  let connects = 0;
  const connector: Connector = async (host, port, handlers, timeoutMs) => {
    const inner = await tcpConnector(host, port, handlers, timeoutMs);
    connects++;
    return {
      write(chunks) {
        const frame = Buffer.concat(chunks);
        const req = { apiKey: frame.readInt16BE(4), version: frame.readInt16BE(6) };
        const correlationId = frame.readInt32BE(8);
        seen.push(req);
        const action = decide(req);
        if (action === 'forward') inner.write(chunks);
        else if (action === 'drop') inner.close();
        else {
          const api = API_DESCRIPTORS.find((a) => a.apiKey === req.apiKey)!;
          const w = new Writer();
          w.int32(0);
          w.int32(correlationId);
          // ApiVersions answers always use header v0, whatever the version.
          if (req.apiKey !== API_VERSIONS && api.responseFlexibleMin >= 0 && req.version >= api.responseFlexibleMin) w.uvarint(0);
          api.encodeResponse(w, action.answer, req.version);
          const out = Buffer.concat(w.finish());
          out.writeInt32BE(out.length - 4, 0);
          setImmediate(() => handlers.onData(out));
        }
      },
      close: () => inner.close(),
    };
  };
  return { connector, seen, connects: () => connects };
}

const notController = (name: string): Action => ({ answer: { throttleTimeMs: 0, topics: [{ name, errorCode: NOT_CONTROLLER, errorMessage: 'Not the controller' }] } });
const count = (seen: readonly Seen[], apiKey: number): number => seen.filter((s) => s.apiKey === apiKey).length;

let broker: RunningBroker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.close();
});

test('NOT_CONTROLLER refreshes metadata and retries on the injected clock', async () => {
  const clock = new ManualClock();
  let refused = false;
  const { connector, seen } = intercepting((req) => {
    if (req.apiKey === CREATE_TOPICS && !refused) {
      refused = true;
      return notController('retry-me');
    }
    return 'forward';
  });
  const admin = createAdmin({ bootstrapServers: broker.bootstrapServers, connector, clock, retryBackoffMs: 1_000 });
  try {
    let done = false;
    const result = admin.createTopics([{ name: 'retry-me', partitions: 1 }]).finally(() => (done = true));
    while (count(seen, CREATE_TOPICS) === 0) await tick();
    const metadataBefore = count(seen, METADATA);
    // The backoff timer is on the manual clock: with no time passing, nothing is resent.
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(count(seen, CREATE_TOPICS), 1);
    assert.equal(done, false);
    for (let i = 0; i < 100 && !done; i++) {
      clock.advance(1_000);
      await new Promise((r) => setTimeout(r, 5));
    }
    const [created] = await result;
    assert.equal(created!.name, 'retry-me');
    assert.equal(count(seen, CREATE_TOPICS), 2);
    assert.ok(count(seen, METADATA) > metadataBefore, 'metadata was refreshed before the retry');
  } finally {
    await admin.close();
  }
});

test('retries are bounded: the last NOT_CONTROLLER is reported', async () => {
  const { connector, seen } = intercepting((req) => (req.apiKey === CREATE_TOPICS ? notController('never') : 'forward'));
  const admin = createAdmin({ bootstrapServers: broker.bootstrapServers, connector, retries: 2, retryBackoffMs: 1 });
  try {
    await assert.rejects(admin.createTopics([{ name: 'never' }]), (e: unknown) => {
      assert.ok(e instanceof AdminError);
      assert.equal(e.code, 'NOT_CONTROLLER');
      assert.ok(e.failures[0]!.error instanceof KafkaProtocolError);
      return true;
    });
    assert.equal(count(seen, CREATE_TOPICS), 3, 'one attempt and two retries');
  } finally {
    await admin.close();
  }
});

test('a dropped connection is retried on a new connection', async () => {
  const setup = createAdmin({ bootstrapServers: broker.bootstrapServers });
  await setup.createTopics([{ name: 'drop-me', partitions: 1 }]);
  await setup.close();

  let dropped = 0;
  const { connector, connects } = intercepting((req) => {
    if (req.apiKey === LIST_OFFSETS && dropped === 0) {
      dropped++;
      return 'drop';
    }
    return 'forward';
  });
  const admin = createAdmin({ bootstrapServers: broker.bootstrapServers, connector, retryBackoffMs: 1 });
  try {
    const [latest] = await admin.listOffsets([{ topic: 'drop-me', partition: 0, spec: 'latest' }]);
    assert.equal(latest!.offset, 0n);
    assert.equal(dropped, 1);
    assert.ok(connects() >= 2, 'reconnected after the drop');
  } finally {
    await admin.close();
  }
});

test('with retries exhausted, a dropped connection surfaces as CONNECTION_CLOSED', async () => {
  const { connector } = intercepting((req) => (req.apiKey === METADATA ? 'drop' : 'forward'));
  const admin = createAdmin({ bootstrapServers: broker.bootstrapServers, connector, retries: 1, retryBackoffMs: 1 });
  try {
    await assert.rejects(admin.listTopics(), (e: unknown) => e instanceof ClientError && e.code === 'CONNECTION_CLOSED');
  } finally {
    await admin.close();
  }
});

test('describeCluster falls back to Metadata when the broker lacks DescribeCluster', async () => {
  // The interceptor plays a broker that only knows Metadata and ApiVersions.
  const { connector, seen } = intercepting((req) =>
    req.apiKey === API_VERSIONS
      ? { answer: { errorCode: 0, apiKeys: [{ apiKey: METADATA, minVersion: 0, maxVersion: 12 }, { apiKey: API_VERSIONS, minVersion: 0, maxVersion: 3 }], throttleTimeMs: 0 } }
      : 'forward',
  );
  const admin = createAdmin({ bootstrapServers: broker.bootstrapServers, connector });
  try {
    const c = await admin.describeCluster();
    assert.equal(c.clusterId, broker.broker.clusterId);
    assert.equal(c.controllerId, broker.broker.nodeId);
    assert.deepEqual(c.brokers, [{ nodeId: broker.broker.nodeId, host: broker.host, port: broker.port, rack: null }]);
    assert.equal(count(seen, 60), 0);
    assert.ok(count(seen, METADATA) > 0);
  } finally {
    await admin.close();
  }
});
