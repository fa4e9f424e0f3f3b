import { createServer, type Server, type Socket } from 'node:net';
import { FrameReader, FrameTooLargeError } from '../protocol/frame-reader.js';
import { Connection } from '../broker/connection.js';
import type { Broker } from '../broker/broker.js';

/** Requests read but not yet answered on one connection before we stop reading from it. */
export const INFLIGHT_REQUESTS_PER_CONNECTION_MAX = 64;
/** Bytes queued in a socket's write buffer before we stop reading new requests from it. */
export const SOCKET_WRITE_BUFFER_MAX_BYTES = 64 * 1024 * 1024;

export interface TcpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly frameMaxBytes: number;
  readonly idleTimeoutMs: number;
}

/** The network edge: sockets in, frames to Connection, response chunks out with writev. */
export class TcpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly connections = new Set<Connection>();

  constructor(private readonly broker: Broker, private readonly options: TcpServerOptions) {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('no address'));
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Stop accepting, wait for in-flight responses (bounded by waitMs), then close every socket. */
  async close(waitMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.broker.waiters.wakeAll();
      const deadline = Date.now() + waitMs;
      const check = (): void => {
        const busy = [...this.connections].some((c) => c.inflight > 0);
        if (!busy || Date.now() >= deadline) {
          for (const s of this.sockets) s.destroy();
          return;
        }
        this.broker.waiters.wakeAll();
        setTimeout(check, 5);
      };
      check();
    });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    if (this.options.idleTimeoutMs > 0) {
      socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy());
    }
    const reader = new FrameReader(this.options.frameMaxBytes);
    let paused = false;
    let corked = false;
    const maybeResume = (): void => {
      if (paused && connection.inflight < INFLIGHT_REQUESTS_PER_CONNECTION_MAX && socket.writableLength < SOCKET_WRITE_BUFFER_MAX_BYTES) {
        paused = false;
        socket.resume();
      }
    };
    const connection = new Connection(
      this.broker,
      {
        write: (chunks, sent) => {
          if (socket.destroyed) return sent?.();
          // Responses that become ready in the same event-loop turn leave in one writev: a syscall
          // per small Produce response was a third of the broker's time in the benchmark profile.
          // setImmediate (the check phase, right after this poll phase) rather than nextTick: libuv
          // delivers up to 32 reads of a busy socket in one poll phase, and nextTick would flush
          // after each of them.
          if (!corked) {
            corked = true;
            socket.cork();
            setImmediate(() => {
              corked = false;
              socket.uncork();
            });
          }
          const last = chunks.length - 1;
          for (let i = 0; i < last; i++) socket.write(chunks[i]!);
          // Node calls a write's callback once libuv is done with the bytes, or with an error when
          // the socket is destroyed first: either way the chunks are no longer referenced.
          if (last >= 0) socket.write(chunks[last]!, sent === undefined ? undefined : () => sent());
          else sent?.();
        },
        close: (reason) => {
          this.broker.log.warn(`closing connection from ${socket.remoteAddress ?? '?'}: ${reason}`);
          socket.destroy();
        },
        drained: () => maybeResume(),
      },
      socket.remoteAddress ?? 'unknown',
    );
    this.connections.add(connection);
    socket.on('drain', maybeResume);
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (frame) => connection.onFrame(frame));
      } catch (err) {
        if (err instanceof FrameTooLargeError) {
          this.broker.log.warn(`closing connection from ${socket.remoteAddress ?? '?'}: ${err.message}`);
          socket.destroy();
          return;
        }
        throw err;
      }
      if (connection.inflight >= INFLIGHT_REQUESTS_PER_CONNECTION_MAX || socket.writableLength >= SOCKET_WRITE_BUFFER_MAX_BYTES) {
        paused = true;
        socket.pause();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      connection.close();
      this.connections.delete(connection);
      this.sockets.delete(socket);
    });
  }
}
