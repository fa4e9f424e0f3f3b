// Consumer groups with Debian's clients: kafka-python (eager, the seed's consumer) and librdkafka
// through confluent-kafka with range, roundrobin and cooperative-sticky assignment, static membership,
// commits and resumption.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { runPyJson, runOk, KCAT, PYTHON, pyScript, run, spawnTracked, waitExit } from './helpers.js';

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

interface PyMember { seen: Array<[number, number, string]>; assignments: Array<[number[], number]> }

test('three seed consumers (kafka-python) on a three-partition topic get one partition each; a restart resumes', async () => {
  // Create the topic with three partitions first (auto-creation would use num.partitions=4).
  await runOk(PYTHON, ['-c', `from kafka.admin import KafkaAdminClient, NewTopic\nKafkaAdminClient(bootstrap_servers=['${broker.bootstrapServers}']).create_topics([NewTopic('seed3', 3, 1)])`], { timeoutMs: 20_000 });
  for (let p = 0; p < 3; p++) {
    await runOk(KCAT, ['-P', '-b', broker.bootstrapServers, '-t', 'seed3', '-p', String(p)], { input: Array.from({ length: 50 }, (_, i) => `p${p}-${i}`).join('\n') + '\n', timeoutMs: 20_000 });
  }
  const members: Array<Promise<PyMember>> = [];
  for (let m = 0; m < 3; m++) {
    members.push(runPyJson<PyMember>('kafka_python_member.py', [broker.bootstrapServers, 'seed3', 'seed-group', '10'], { timeoutMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 300));
  }
  const results = await Promise.all(members);
  const values = results.flatMap((r) => r.seen.map((s) => s[2]));
  assert.equal(values.length, 150, 'each record once');
  assert.equal(new Set(values).size, 150);
  // Once all three had joined, each held exactly one partition, and together all three.
  const allJoined = Math.max(...results.map((r) => r.assignments.find((a) => a[0].length > 0)?.[1] ?? Infinity)) + 1.5;
  const at = (r: PyMember): number[] => [...r.assignments].reverse().find((a) => a[1] <= allJoined)?.[0] ?? [];
  const settled = results.map(at);
  assert.deepEqual(settled.map((a) => a.length), [1, 1, 1], JSON.stringify(results.map((r) => r.assignments)));
  assert.deepEqual(settled.flat().sort(), [0, 1, 2]);

  // More records, then a restart of the group: it resumes at the committed offsets.
  for (let p = 0; p < 3; p++) {
    await runOk(KCAT, ['-P', '-b', broker.bootstrapServers, '-t', 'seed3', '-p', String(p)], { input: `late-${p}\n`, timeoutMs: 20_000 });
  }
  const again = await runPyJson<PyMember>('kafka_python_member.py', [broker.bootstrapServers, 'seed3', 'seed-group', '6'], { timeoutMs: 60_000 });
  assert.deepEqual(again.seen.map((s) => s[2]).sort(), ['late-0', 'late-1', 'late-2']);
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

test('librdkafka cooperative-sticky: a leaving member\'s partitions move to the survivor; a crashed member\'s after the session timeout', async () => {
  const topic = 'coop-churn';
  await produceLines(topic, Array.from({ length: 40 }, (_, i) => `k${i}:v${i}`));
  const survivor = runPyJson<GroupRun>('confluent_group.py', [broker.bootstrapServers, topic, 'coop', 'cooperative-sticky', '30'], { timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 1500));
  // B joins, then leaves cleanly (LeaveGroup) after 5 s.
  const leaver = await runPyJson<GroupRun>('confluent_group.py', [broker.bootstrapServers, topic, 'coop', 'cooperative-sticky', '5'], { timeoutMs: 60_000 });
  const leftAt = Date.now() / 1000;
  assert.ok(leaver.events.some((e) => e[0] === 'assign' && e[1].length > 0), 'the second member got partitions');
  await new Promise((r) => setTimeout(r, 2000));
  // C joins and is killed with SIGKILL: no LeaveGroup, only the session timeout (6 s) frees its partitions.
  const crasher = spawnTracked(PYTHON, [pyScript('confluent_group.py'), broker.bootstrapServers, topic, 'coop', 'cooperative-sticky', '60']);
  await new Promise((r) => setTimeout(r, 4000));
  const members = broker.broker.groups.coordinator.group('coop')!.members.size;
  assert.equal(members, 2, 'the crasher joined');
  crasher.kill('SIGKILL');
  await waitExit(crasher, 5000);
  const killedAt = Date.now() / 1000;
  const a = await survivor;
  const owned = (t: number): number[] => {
    const s = new Set<number>();
    for (const [kind, ps, at] of a.events) {
      if (at > t) break;
      for (const p of ps) kind === 'assign' ? s.add(p) : s.delete(p);
    }
    return [...s].sort();
  };
  assert.deepEqual(owned(leftAt + 1.5), [0, 1, 2, 3], `after the clean leave: ${JSON.stringify(a.events)}`);
  assert.ok(owned(killedAt - 0.5).length < 4, 'the crasher held some partitions');
  assert.deepEqual(owned(killedAt + 6 + 4), [0, 1, 2, 3], `after the session timeout: ${JSON.stringify(a.events)}`);
  // Cooperative: while running, the survivor never had everything revoked at once (close revokes all).
  assert.ok(a.events.filter((e) => e[2] < killedAt + 10).every((e) => e[0] !== 'revoke' || e[1].length < 4), JSON.stringify(a.events));
});

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
