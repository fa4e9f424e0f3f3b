import { nodeDiskEngine } from './engines.js';
import { runLogContract } from './log-contract.js';

runLogContract(nodeDiskEngine);
