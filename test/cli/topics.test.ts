// `fjord topics ...` end to end against a real broker, including error paths and exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';

const BIN = join(process.cwd(), 'bin', 'fjord');
let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ config: { 'num.partitions': '2' } });
});
after(async () => {
  await broker.close();
});

/** Run the CLI asynchronously (the broker lives in this process, so spawnSync would deadlock it). */
function fjord(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

const B = (): string[] => ['--bootstrap-server', broker.bootstrapServers];

test('topics create / list / describe / alter / delete', async () => {
  let r = await fjord(['topics', 'create', 'orders', '--partitions', '3', '--config', 'retention.ms=3600000', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Created topic orders.\n');
  r = await fjord(['topics', 'create', 'defaults', ...B()]);
  assert.equal(r.code, 0, r.stderr);

  r = await fjord(['topics', 'list', ...B()]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'defaults\norders\n');

  r = await fjord(['topics', 'describe', 'orders', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^Topic: orders\tTopicId: [0-9a-f-]{36}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention\.ms=3600000$/);
  assert.equal(lines.length, 4);
  assert.match(lines[2]!, /Partition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\tLogStartOffset: 0\tLogEndOffset: 0$/);
  assert.match((await fjord(['topics', 'describe', 'defaults', ...B()])).stdout, /PartitionCount: 2/);

  r = await fjord(['topics', 'alter', 'orders', '--config', 'cleanup.policy=compact', '--delete-config', 'retention.ms', '--partitions', '5', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['topics', 'describe', 'orders', ...B()]);
  assert.match(r.stdout, /PartitionCount: 5\tReplicationFactor: 1\tConfigs: cleanup\.policy=compact\n/);

  r = await fjord(['topics', 'delete', 'orders', ...B()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await fjord(['topics', 'list', ...B()])).stdout, 'defaults\n');
});

test('topics errors are one line on stderr with a non-zero exit code', async () => {
  await fjord(['topics', 'create', 'dup', ...B()]);
  let r = await fjord(['topics', 'create', 'dup', ...B()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^fjord: .*TOPIC_ALREADY_EXISTS.*\n$/);
  assert.equal((await fjord(['topics', 'create', 'dup', '--if-not-exists', ...B()])).code, 0);

  r = await fjord(['topics', 'describe', 'missing', ...B()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
  assert.equal(r.stderr.trim().split('\n').length, 1);

  r = await fjord(['topics', 'alter', 'dup', '--config', 'retention.ms=soon', ...B()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /INVALID_CONFIG.*Invalid value soon for configuration retention\.ms/);

  r = await fjord(['topics', 'create', 'x', '--partitions', 'many', ...B()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--partitions must be an integer/);

  r = await fjord(['topics', 'create', 'x', '--config', 'novalue', ...B()]);
  assert.equal(r.code, 2);

  r = await fjord(['topics', 'list', '--bootstrap-server', '127.0.0.1:1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^fjord: Cannot connect to 127\.0\.0\.1:1/);

  r = await fjord(['topics', 'frobnicate']);
  assert.notEqual(r.code, 0);
});

test('every command has --help', async () => {
  for (const cmd of [['topics'], ['topics', 'create'], ['topics', 'list'], ['topics', 'describe'], ['topics', 'alter'], ['topics', 'delete'], ['start']]) {
    const r = await fjord([...cmd, '--help']);
    assert.equal(r.code, 0, `${cmd.join(' ')} --help`);
    assert.match(r.stdout, /Usage: fjord/);
  }
});
