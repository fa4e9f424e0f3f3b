// SerialQueue: a task runs at once (synchronously) only when nothing is pending; otherwise it waits
// for every earlier task, whether that one finished or failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialQueue } from '../../src/broker/serial-queue.js';

test('an idle queue runs a task synchronously and returns its plain result', () => {
  const q = new SerialQueue();
  let ran = false;
  const r = q.run(() => {
    ran = true;
    return 7;
  });
  assert.equal(ran, true);
  assert.equal(r, 7);
});

test('tasks submitted behind a pending one run after it, in order, even after a failure', async () => {
  const q = new SerialQueue();
  const order: string[] = [];
  let release!: () => void;
  const slow = q.run(() => new Promise<string>((resolve) => (release = () => resolve('slow'))).then((v) => (order.push(v), v)));
  const next = q.run(() => (order.push('sync-but-queued'), 1));
  assert.ok(next instanceof Promise, 'queued behind a pending task, so it cannot run now');
  const failing = q.run(() => Promise.reject(new Error('boom')));
  const last = q.run(() => (order.push('last'), 2));
  assert.deepEqual(order, []);
  release();
  assert.equal(await slow, 'slow');
  assert.equal(await next, 1);
  await assert.rejects(failing, /boom/);
  assert.equal(await last, 2);
  assert.deepEqual(order, ['slow', 'sync-but-queued', 'last']);
  // Everything settled: idle again, synchronous again.
  await new Promise((r) => setImmediate(r));
  assert.equal(q.run(() => 3), 3);
});
