// Transactional copier torture: librdkafka (confluent-kafka) copies an input topic to an output topic
// with read_committed consumption, a transactional producer and send_offsets_to_transaction, while the
// broker process is SIGKILLed and restarted and the copier is SIGKILLed and restarted, at random points
// of the copy. The output must equal the committed input exactly once, in order per partition, and the
// recorded history must pass the transactional checker (no aborted or later-aborted reads, no
// intermediate reads, no G1c, no duplicates, no lost writes, an unbroken consumer-offset chain, each
// input consumed by one committed transaction).
// CI size: 20,000 records, 3 broker kills, 3 copier kills. `npm run torture`: FJORD_COPIER_RECORDS=100000,
// FJORD_COPIER_BROKER_KILLS=10, FJORD_COPIER_KILLS=10. The seed is FJORD_TORTURE_SEED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCheckResult } from '../../src/testing/history-checker.js';
import { freePort } from '../interop-debian/helpers.js';
import { runTxnCopierWorkload } from './txn-copier-workload.js';

const RECORDS = Number(process.env['FJORD_COPIER_RECORDS'] ?? 20_000);
const BROKER_KILLS = Number(process.env['FJORD_COPIER_BROKER_KILLS'] ?? 3);
const COPIER_KILLS = Number(process.env['FJORD_COPIER_KILLS'] ?? 3);
const SEED = Number(process.env['FJORD_TORTURE_SEED'] ?? 7);
const VERBOSE = process.env['FJORD_COPIER_VERBOSE'] === '1';
/** Control run: FJORD_COPIER_CONTROL=1 commits offsets outside the transactions; the test must then fail. */
const CONTROL = process.env['FJORD_COPIER_CONTROL'] === '1';

test(
  `transactional copier: ${RECORDS} records, ${BROKER_KILLS} broker kills, ${COPIER_KILLS} copier kills, exactly once (seed ${SEED})`,
  { timeout: Math.max(180_000, RECORDS * 12) },
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'fjord-copier-'));
    const dataDir = join(root, 'data');
    try {
      const r = await runTxnCopierWorkload({
        port: await freePort(),
        dataDir,
        records: RECORDS,
        partitions: 4,
        brokerKills: BROKER_KILLS,
        copierKills: COPIER_KILLS,
        seed: SEED,
        batch: 200,
        copyTimeoutMs: Math.max(120_000, RECORDS * 8),
        log: VERBOSE ? (l) => t.diagnostic(l) : () => {},
        offsetsOutsideTxn: CONTROL,
      });
      const summary =
        `seed ${SEED}: ${r.brokerKills} broker kills, ${r.copierKills} copier kills, ${r.copierExits} copier exits; ` +
        `copier txns ok ${r.txns.ok} / aborted ${r.txns.fail} / unknown ${r.txns.info}; ${r.abortedInputRecords} aborted input records; ` +
        `${r.outputRecords} output records; copy ${r.copyMs} ms, total ${r.elapsedMs} ms; ` +
        `${r.check.stats.offsetCommits} offset commits chained, ${r.check.stats.passedRecords} aborted records read past`;
      t.diagnostic(summary);
      assert.equal(r.brokerKills, BROKER_KILLS, summary);
      assert.equal(r.copierKills, COPIER_KILLS, summary);
      assert.ok(r.readComplete, `the final read_committed read did not reach the end offsets\n${summary}`);
      assert.deepEqual(r.diffs, [], `output differs from input\n${summary}\n${JSON.stringify(r.diffs, null, 1).slice(0, 6000)}\n${formatCheckResult(r.check)}`);
      assert.equal(r.outputRecords, RECORDS, summary);
      assert.ok(r.check.valid, `${summary}\n${formatCheckResult(r.check)}`);
      assert.ok(r.check.stats.consumedInputs >= RECORDS, summary);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);
