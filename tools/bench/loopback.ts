/**
 * The loopback TCP ceiling: the parent writes one reused buffer as fast as backpressure allows to a
 * sink child that discards the bytes; the sink reports what it received and over how long.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { JsonChild } from './child.js';

export interface LoopbackResult {
  writeBytes: number;
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
}

export class LoopbackSink {
  private constructor(private readonly child: JsonChild, readonly port: number) {}

  static async start(): Promise<LoopbackSink> {
    const child = new JsonChild('./sink-server.js');
    const { port } = await child.next<{ port: number }>();
    return new LoopbackSink(child, port);
  }

  async measure(writeBytes: number, seconds: number): Promise<LoopbackResult> {
    const socket = await open(this.port);
    const buf = Buffer.alloc(writeBytes, 0x5a);
    const deadline = performance.now() + seconds * 1000;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      const pump = (): void => {
        // Write until the socket pushes back; yield to the event loop now and then regardless.
        for (let i = 0; i < 256; i++) {
          if (performance.now() >= deadline) {
            socket.end(resolve);
            return;
          }
          if (!socket.write(buf)) {
            socket.once('drain', pump);
            return;
          }
        }
        setImmediate(pump);
      };
      pump();
    });
    const report = await this.child.next<{ bytes: number; seconds: number }>();
    socket.destroy();
    return { writeBytes, ...report, bytesPerSecond: report.bytes / report.seconds };
  }

  async stop(): Promise<void> {
    await this.child.stop();
  }
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
