// Committed offsets are fsync'ed before OffsetCommit is answered: after kill -9 of the broker, the
// group's offset is at least the last acknowledged commit (never backwards) and at most the last sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawClient } from './raw-client.js';

const BIN = join(process.cwd(), 'bin', 'fjord');

async function startChild(dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on [^\s]+:(\d+)/.exec(err);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { child, port };
}

interface CommitRes { topics: Array<{ partitions: Array<{ errorCode: number }> }> }
interface FetchRes { errorCode: number; topics: Array<{ partitions: Array<{ committedOffset: bigint }> }> }

test('committed offsets survive kill -9 and never move backwards', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-offsets-'));
  let { child, port } = await startChild(dataDir);
  const setup = await RawClient.connect(port);
  await setup.request(19, 5, { topics: [{ name: 'tracked', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
  setup.close();
  let lastAcked = -1n;
  for (let round = 0; round < 5; round++) {
    const c = await RawClient.connect(port);
    let sent = lastAcked;
    const killAfter = 20 + round * 7;
    let commits = 0;
    // Pipeline commits: several in flight when the broker dies.
    const inflight: Array<Promise<void>> = [];
    for (let i = 0; i < killAfter + 20; i++) {
      const offset = ++sent;
      inflight.push(
        c.request<CommitRes>(8, 8, { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'tracked', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }] })
          .then((r) => {
            assert.equal(r.topics[0]!.partitions[0]!.errorCode, 0);
            if (offset > lastAcked) lastAcked = offset;
          })
          .catch(() => {}),
      );
      if (++commits === killAfter) child.kill('SIGKILL');
      if (commits < killAfter) await inflight[inflight.length - 1];
    }
    await Promise.all(inflight);
    c.close();
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    ({ child, port } = await startChild(dataDir));
    const f = await RawClient.connect(port);
    const res = await f.request<FetchRes>(9, 7, { groupId: 'g', topics: [{ name: 'tracked', partitionIndexes: [0] }], requireStable: false });
    const committed = res.topics[0]!.partitions[0]!.committedOffset;
    f.close();
    assert.ok(committed >= lastAcked, `round ${round}: committed ${committed} < last acknowledged ${lastAcked}`);
    assert.ok(committed <= sent, `round ${round}: committed ${committed} > last sent ${sent}`);
    lastAcked = committed;
  }
  child.kill('SIGTERM');
  await new Promise<void>((r) => child.once('exit', () => r()));
});
