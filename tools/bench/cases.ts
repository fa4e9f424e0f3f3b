/**
 * The suite's cases, in the order they run (`--only` keeps this order). `latency` reads the `produce`
 * result of the same run, so it comes after it. To add a case: one import and one entry line.
 */
import type { BenchCase } from './suite.js';
import { produceCase } from './produce-case.js';
import { durableCase } from './durable-case.js';
import { fetchCase } from './fetch-case.js';
import { latencyCase } from './latency-case.js';
import { startupCase } from './startup-case.js';
import { scaleCase } from './scale-case.js';
import { clientsCase } from './clients-case.js';

export const CASES: readonly BenchCase[] = [
  produceCase,
  durableCase,
  fetchCase,
  latencyCase,
  startupCase,
  scaleCase,
  clientsCase,
];
