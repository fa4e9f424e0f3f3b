/**
 * Child process for the loopback ceiling: accepts connections on 127.0.0.1, discards every byte and,
 * when a connection ends, prints {"bytes", "seconds"} measured from its first to its last byte.
 * Prints {"port"} once listening; exits on "close" or when stdin ends.
 */
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

const server = createServer((socket) => {
  let bytes = 0;
  let first = 0;
  let last = 0;
  socket.on('data', (chunk: Buffer) => {
    const now = performance.now();
    if (bytes === 0) first = now;
    last = now;
    bytes += chunk.length;
  });
  socket.on('end', () => {
    process.stdout.write(`${JSON.stringify({ bytes, seconds: (last - first) / 1000 })}\n`);
    socket.end();
  });
  socket.on('error', () => socket.destroy());
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
});

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line.trim() === 'close') process.exit(0);
});
input.on('close', () => process.exit(0));
