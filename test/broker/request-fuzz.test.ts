// A seeded fuzz test of request decoding and handling: valid requests of every routed API and version
// are mutated (bit flips, truncation, inserted bytes, overwritten lengths) and fed to a Connection.
// Each must be answered or close the connection; nothing may throw or hang. FJORD_FUZZ_INPUTS and
// FJORD_FUZZ_SEED (printed on failure) control the run: `npm run fuzz` runs a long one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../src/broker/connection.js';
import { REGISTRY } from '../../src/broker/registry.js';
import { Writer } from '../../src/protocol/writer.js';
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';
import { createTestBroker } from '../../src/testing/test-broker.js';

const INPUTS = Number(process.env['FJORD_FUZZ_INPUTS'] ?? 3000);
const SEED = Number(process.env['FJORD_FUZZ_SEED'] ?? 20261125);

function validRequest(rnd: SeededRandom): Buffer {
  const routes = [...REGISTRY.values()];
  const route = rnd.pick(routes);
  const v = rnd.int(route.minVersion, route.maxVersion);
  const w = new Writer();
  const flexible = route.api.requestFlexibleMin >= 0 && v >= route.api.requestFlexibleMin;
  encodeRequestHeader(w, { requestApiKey: route.api.apiKey, requestApiVersion: v, correlationId: rnd.int(0, 1e6), clientId: 'fuzz' }, flexible ? 2 : 1);
  // A default body with short timeouts so nothing long-polls; some fields randomised below by mutation.
  const body = { ...route.api.defaultRequest(), maxWaitMs: 0, timeoutMs: 0, acks: 1 };
  route.api.encodeRequest(w, body, v);
  return w.toBuffer();
}

function mutate(buf: Buffer, rnd: SeededRandom): Buffer {
  const b = Buffer.from(buf);
  switch (rnd.int(0, 4)) {
    case 0: // flip bits
      for (let i = 0; i < rnd.int(1, 4); i++) {
        const at = rnd.int(0, b.length - 1);
        b[at] = b[at]! ^ (1 << rnd.int(0, 7));
      }
      return b;
    case 1: // truncate
      return b.subarray(0, rnd.int(0, b.length));
    case 2: // insert random bytes
    {
      const at = rnd.int(0, b.length);
      return Buffer.concat([b.subarray(0, at), rnd.bytes(rnd.int(1, 16)), b.subarray(at)]);
    }
    case 3: // overwrite 4 bytes after the header with a huge or negative length/count
    {
      if (b.length < 12) return b;
      const at = rnd.int(8, b.length - 4);
      b.writeInt32BE(rnd.pick([0x7fffffff, -2, -1, 0x10000000, rnd.int(0, 0x7fffffff)]), at);
      return b;
    }
    default: // fully random body after a valid header prefix
      return Buffer.concat([b.subarray(0, Math.min(8, b.length)), rnd.bytes(rnd.int(0, 64))]);
  }
}

test(`fuzzed requests never crash or hang the broker (seed ${SEED}, ${INPUTS} inputs)`, async () => {
  const broker = await createTestBroker();
  const rnd = new SeededRandom(SEED);
  let answered = 0;
  let closed = 0;
  for (let i = 0; i < INPUTS; i++) {
    const input = mutate(validRequest(rnd), rnd);
    let outcome: 'answered' | 'closed' | null = null;
    const conn = new Connection(
      broker,
      { write: () => void (outcome = 'answered'), close: () => void (outcome = 'closed'), drained: () => {} },
      'fuzz',
    );
    try {
      conn.onFrame(input);
      // Handlers are async; give them a few turns (the test broker's clock never advances, so
      // nothing waits on timers: every request has max wait 0 or fails fast).
      for (let t = 0; t < 20 && outcome === null && conn.inflight > 0; t++) await new Promise((r) => setImmediate(r));
    } catch (err) {
      assert.fail(`seed ${SEED} input ${i} threw: ${String(err)} (${input.toString('hex').slice(0, 200)})`);
    }
    if (outcome === 'answered') answered++;
    else if (outcome === 'closed') closed++;
    else if (conn.inflight === 0) answered++; // acks=0 produce: no response by design
    else assert.fail(`seed ${SEED} input ${i}: neither answered nor closed (${input.toString('hex').slice(0, 200)})`);
  }
  assert.equal(answered + closed, INPUTS);
  assert.ok(closed > 0 && answered > 0, `answered ${answered}, closed ${closed}`);
});
