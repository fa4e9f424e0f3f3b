import { memoryFsDiskEngine } from './engines.js';
import { runLogContract } from './log-contract.js';

runLogContract(memoryFsDiskEngine);
