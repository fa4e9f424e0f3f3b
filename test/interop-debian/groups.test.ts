// Consumer groups with Debian's clients: kafka-python (eager, the seed's consumer) and librdkafka
// through confluent-kafka with range, roundrobin and cooperative-sticky assignment, static membership,
// commits and resumption.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { runPyJson, runOk, KCAT, PYTHON, pyScript, run } from './helpers.js';

let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0', 'num.partitions': '4' } });
});
after(async () => {
  await broker.close();
});

async function produceLines(topic: string, lines: string[]): Promise<void> {
  await runOk(KCAT, ['-P', '-b', broker.bootstrapServers, '-t', topic, '-K:', '-X', 'request.required.acks=-1'], { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
}

interface GroupRun { seen: Array<[number, number, string]>; events: Array<[string, number[], number]>; assignment: number[] }

/** A member's partitions at time t (seconds since the epoch), replaying its assign/revoke callbacks. */
function assignmentAt(run: GroupRun, t: number): number[] {
  const owned = new Set<number>();
  for (const [kind, partitions, at] of run.events) {
    if (at > t) break;
    for (const p of partitions) {
      if (kind === 'assign') owned.add(p);
      else owned.delete(p);
    }
  }
  return [...owned].sort();
}

test('the seed consumer (kafka-python, analytics-group, auto-commit) reads everything and commits', async () => {
  // Produce JSON events with kafka-python's own seed producer shape via kcat (keys spread over partitions).
  const lines = Array.from({ length: 100 }, (_, i) => `user${i % 13}:${JSON.stringify({ seq: i, action: 'click' })}`);
  await produceLines('user-events', lines);
  const out = await runPyJson<{ seen: Array<[number, number, number]>; assignment: number[] }>('kafka_python_group.py', [broker.bootstrapServers, 'user-events', 'analytics-group', '100'], { timeoutMs: 60_000 });
  assert.equal(out.seen.length, 100);
  assert.deepEqual(out.seen.map((s) => s[2]).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(out.assignment, [0, 1, 2, 3]);
  // The group's committed offsets reach the end of every partition.
  const desc = await runOk(KCAT, ['-b', broker.bootstrapServers, '-Q', '-t', 'user-events:0:-1'], { timeoutMs: 10_000 }).catch(() => null);
  void desc;
  const g = broker.broker.groups.coordinator.group('analytics-group')!;
  let committed = 0n;
  for (const o of g.offsets.values()) committed += o.offset;
  assert.equal(committed, 100n);
  assert.equal(g.state, 'Empty');
  // A second run of the same group finds nothing new (it resumes from the commits).
  const again = await runPyJson<{ seen: unknown[] }>('kafka_python_group.py', [broker.bootstrapServers, 'user-events', 'analytics-group', '1'], { timeoutMs: 60_000 });
  assert.equal(again.seen.length, 0);
});

for (const strategy of ['range', 'roundrobin', 'cooperative-sticky']) {
  test(`three librdkafka consumers (${strategy}) split the partitions, and all records are consumed once`, async () => {
    const topic = `grp-${strategy}`;
    await produceLines(topic, Array.from({ length: 300 }, (_, i) => `k${i}:v${i}`));
    // Start three members a little apart so the group rebalances as they arrive.
    const runs: Array<Promise<GroupRun>> = [];
    for (let m = 0; m < 3; m++) {
      runs.push(runPyJson<GroupRun>('confluent_group.py', [broker.bootstrapServers, topic, `g-${strategy}`, strategy, '9'], { timeoutMs: 60_000 }));
      await new Promise((r) => setTimeout(r, 800));
    }
    const results = await Promise.all(runs);
    const values = results.flatMap((r) => r.seen.map((s) => s[2]));
    assert.equal(new Set(values).size, 300, 'every record was consumed');
    // Each record is consumed at most once per committed position: duplicates can only come from a
    // partition moving between members before a commit; with synchronous commits there are none.
    assert.equal(values.length, 300, `duplicates: ${values.length - 300}`);
    // While all three ran (they start 0.8 s apart and run 9 s), the partitions were split among them:
    // every partition owned by exactly one member, every member owning at least one.
    const lastJoin = Math.max(...results.map((r) => r.events.find((e) => e[0] === 'assign')?.[2] ?? Infinity));
    assert.ok(Number.isFinite(lastJoin), 'every member got an assignment');
    const t = lastJoin + 3;
    const owned = results.map((r) => assignmentAt(r, t));
    assert.deepEqual(owned.flat().sort(), [0, 1, 2, 3], `assignments at t: ${JSON.stringify(owned)}`);
    for (const o of owned) assert.ok(o.length >= 1, `assignments at t: ${JSON.stringify(owned)}`);
    if (strategy === 'cooperative-sticky') {
      // Incremental protocol: the first member never gives up all it owns at once when others join.
      const revokes = results[0]!.events.filter((e) => e[0] === 'revoke' && e[2] < t);
      assert.ok(revokes.every((e) => e[1].length < 4), `first member revoked everything: ${JSON.stringify(results[0]!.events)}`);
    }
  });
}

test('static membership: a librdkafka member restarting with the same group.instance.id keeps its partitions', async () => {
  const topic = 'static-topic';
  await produceLines(topic, Array.from({ length: 40 }, (_, i) => `k${i}:v${i}`));
  const first = await runPyJson<GroupRun>('confluent_group.py', [broker.bootstrapServers, topic, 'static-group', 'range', '4', 'instance-a'], { timeoutMs: 60_000 });
  assert.equal(first.seen.length, 40);
  const g = broker.broker.groups.coordinator.group('static-group')!;
  const generation = g.generation;
  // librdkafka's close() with a static id does not leave the group: the member stays until its session ends.
  const second = await run(PYTHON, [pyScript('confluent_group.py'), broker.bootstrapServers, topic, 'static-group', 'range', '3', 'instance-a'], { timeoutMs: 60_000 });
  assert.equal(second.code, 0, second.stderr.slice(-2000));
  const out = JSON.parse(second.stdout.trim().split('\n').pop()!) as GroupRun;
  assert.deepEqual(out.assignment, [0, 1, 2, 3]);
  assert.equal(out.seen.length, 0, 'resumed from committed offsets');
  assert.ok(g.generation >= generation);
});
