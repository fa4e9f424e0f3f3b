import { Connection } from '../broker/connection.js';
import { REGISTRY } from '../broker/registry.js';
import type { Broker } from '../broker/broker.js';
import { Writer } from '../protocol/writer.js';
import { encodeRequestHeader } from '../protocol/generated/request-header.js';
import { SeededRandom } from './seeded-random.js';

/**
 * A structure-aware request fuzzer: valid requests of every routed API and version, then mutated (bit
 * flips, truncation, inserted bytes, lengths overwritten with huge or negative values, random bodies),
 * fed to a Connection. Every input must be answered or close the connection, never throw or hang.
 */
export function validRequest(rnd: SeededRandom): Buffer {
  const routes = [...REGISTRY.values()];
  const route = rnd.pick(routes);
  const v = rnd.int(route.minVersion, route.maxVersion);
  const w = new Writer();
  const flexible = route.api.requestFlexibleMin >= 0 && v >= route.api.requestFlexibleMin;
  encodeRequestHeader(w, { requestApiKey: route.api.apiKey, requestApiVersion: v, correlationId: rnd.int(0, 1e6), clientId: 'fuzz' }, flexible ? 2 : 1);
  // Short timeouts so nothing long-polls; the mutations do the rest.
  const body = { ...route.api.defaultRequest(), maxWaitMs: 0, timeoutMs: 0, acks: 1 };
  route.api.encodeRequest(w, body, v);
  return w.toBuffer();
}

export function mutate(buf: Buffer, rnd: SeededRandom): Buffer {
  const b = Buffer.from(buf);
  switch (rnd.int(0, 4)) {
    case 0:
      for (let i = 0; i < rnd.int(1, 4); i++) {
        const at = rnd.int(0, b.length - 1);
        b[at] = b[at]! ^ (1 << rnd.int(0, 7));
      }
      return b;
    case 1:
      return b.subarray(0, rnd.int(0, b.length));
    case 2: {
      const at = rnd.int(0, b.length);
      return Buffer.concat([b.subarray(0, at), rnd.bytes(rnd.int(1, 16)), b.subarray(at)]);
    }
    case 3: {
      if (b.length < 12) return b;
      const at = rnd.int(8, b.length - 4);
      b.writeInt32BE(rnd.pick([0x7fffffff, -2, -1, 0x10000000, rnd.int(0, 0x7fffffff)]), at);
      return b;
    }
    default:
      return Buffer.concat([b.subarray(0, Math.min(8, b.length)), rnd.bytes(rnd.int(0, 64))]);
  }
}

export interface FuzzOutcome {
  readonly answered: number;
  readonly closed: number;
}

/** Run `inputs` fuzzed requests from `seed`; throws (with the seed and input) on a crash or a hang. */
export async function fuzzRequests(broker: Broker, seed: number, inputs: number): Promise<FuzzOutcome> {
  const rnd = new SeededRandom(seed);
  let answered = 0;
  let closed = 0;
  for (let i = 0; i < inputs; i++) {
    const input = mutate(validRequest(rnd), rnd);
    let outcome: 'answered' | 'closed' | null = null;
    const conn = new Connection(broker, { write: () => void (outcome = 'answered'), close: () => void (outcome = 'closed'), drained: () => {} }, 'fuzz');
    try {
      conn.onFrame(input);
      for (let t = 0; t < 20 && outcome === null && conn.inflight > 0; t++) await new Promise((r) => setImmediate(r));
    } catch (err) {
      throw new Error(`seed ${seed} input ${i} threw: ${String(err)} (${input.toString('hex').slice(0, 200)})`);
    }
    if (outcome === 'answered' || (outcome === null && conn.inflight === 0)) answered++;
    else if (outcome === 'closed') closed++;
    else throw new Error(`seed ${seed} input ${i}: neither answered nor closed (${input.toString('hex').slice(0, 200)})`);
  }
  return { answered, closed };
}
