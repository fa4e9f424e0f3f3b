import { memoryEngine } from './engines.js';
import { runLogContract } from './log-contract.js';

runLogContract(memoryEngine);
