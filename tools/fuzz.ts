/**
 * `npm run fuzz -- --seconds N`: the request fuzzer on fresh random seeds until the time is up; prints
 * the seed of any failure (replay it with FJORD_FUZZ_SEED=<seed> npm test).
 */
import { randomInt } from 'node:crypto';
import { createTestBroker } from '../src/testing/test-broker.js';
import { fuzzRequests } from '../src/testing/request-fuzzer.js';

const i = process.argv.indexOf('--seconds');
const seconds = i >= 0 ? Number(process.argv[i + 1]) : 60;
const deadline = Date.now() + seconds * 1000;
let total = 0;
let seeds = 0;
while (Date.now() < deadline) {
  const seed = randomInt(0x7fffffff);
  try {
    const broker = await createTestBroker();
    const r = await fuzzRequests(broker, seed, 20_000);
    total += r.answered + r.closed;
    seeds++;
  } catch (err) {
    console.error(`FAILED with seed ${seed}: ${(err as Error).message}`);
    process.exit(1);
  }
}
console.log(`${total} fuzzed requests over ${seeds} seeds in ${seconds} s: no crash, no hang`);
