// The seeded request fuzzer (src/testing/request-fuzzer.ts) on a fixed seed and a bounded number of
// inputs: every mutated request is answered or closes the connection; nothing throws or hangs, and the
// heap stays bounded. FJORD_FUZZ_INPUTS / FJORD_FUZZ_SEED override; `npm run fuzz -- --seconds N`
// runs random seeds for longer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestBroker } from '../../src/testing/test-broker.js';
import { fuzzRequests } from '../../src/testing/request-fuzzer.js';

const INPUTS = Number(process.env['FJORD_FUZZ_INPUTS'] ?? 100_000);
const SEED = Number(process.env['FJORD_FUZZ_SEED'] ?? 20261125);

test(`fuzzed requests never crash or hang the broker (seed ${SEED}, ${INPUTS} inputs)`, { timeout: 300_000 }, async () => {
  const broker = await createTestBroker();
  const heapBefore = process.memoryUsage().heapUsed;
  const { answered, closed } = await fuzzRequests(broker, SEED, INPUTS);
  assert.equal(answered + closed, INPUTS);
  assert.ok(closed > 0 && answered > 0, `answered ${answered}, closed ${closed}`);
  // Bounded by what the broker legitimately keeps (topics the fuzzer created), not by the inputs.
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 512 * 1024 * 1024);
});
