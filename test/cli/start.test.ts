// `fjord start` as a user runs it: a child process, Kafka config keys, clean shutdown on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawClient } from '../broker/raw-client.js';

const BIN = join(process.cwd(), 'bin', 'fjord');

function run(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** Start the broker in a child process and wait for its "listening on host:port" line. */
async function startChild(args: string[]): Promise<{ port: number; stderr: () => string; exit: Promise<number | null>; kill(sig: NodeJS.Signals): void }> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 15_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on [^\s]+:(\d+)/.exec(err);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', () => reject(new Error(`exited early: ${err}`)));
  });
  return { port, stderr: () => err, exit, kill: (sig) => child.kill(sig) };
}

test('--help describes the start command', () => {
  const r = run(['start', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--data-dir/);
  assert.match(r.stdout, /--override/);
});

test('an invalid config value is a one-line error and exit code 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-cli-'));
  const r = run(['start', '--data-dir', dir, '--override', 'num.partitions=many']);
  assert.equal(r.status, 2);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /Invalid value many for configuration num\.partitions/);
  assert.equal(existsSync(join(dir, 'meta.properties')), false);
});

test('a bad properties file line is an error too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-cli-'));
  const props = join(dir, 'server.properties');
  writeFileSync(props, '# comment\nlog.segment.bytes=10\n');
  const r = run(['start', '--config', props, '--data-dir', dir]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /log\.segment\.bytes: Value must be at least 14/);
});

test('starts with a server.properties, warns on unknown keys, serves, and stops cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-cli-'));
  const props = join(dir, 'server.properties');
  writeFileSync(props, 'num.partitions=3\nsome.unknown.key=1\n');
  const b = await startChild(['--config', props, '--data-dir', join(dir, 'data')]);
  assert.match(b.stderr(), /WARN Unknown configuration key some\.unknown\.key/);
  const c = await RawClient.connect(b.port);
  const meta = await c.request<{ topics: Array<{ partitions: unknown[] }> }>(3, 4, { topics: [{ name: 'auto' }], allowAutoTopicCreation: true });
  assert.equal(meta.topics[0]!.partitions.length, 3);
  c.close();
  b.kill('SIGTERM');
  assert.equal(await b.exit, 0);
  assert.ok(existsSync(join(dir, 'data', '.kafka_cleanshutdown')));
  assert.match(readFileSync(join(dir, 'data', 'meta.properties'), 'utf8'), /cluster\.id=/);
});
