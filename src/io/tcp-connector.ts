import { connect } from 'node:net';
import type { Connector } from '../client/transport.js';

/** Outgoing TCP for the client: connect with a timeout, no Nagle, writev through cork/uncork. */
export const tcpConnector: Connector = (host, port, handlers, timeoutMs) =>
  new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`Connection to ${host}:${port} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      resolve({
        write: (chunks) => {
          socket.cork();
          for (const c of chunks) socket.write(c);
          socket.uncork();
        },
        close: () => socket.destroy(),
      });
    });
    socket.on('data', (d: Buffer) => handlers.onData(d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (!connected) reject(err);
    });
    socket.on('close', () => {
      if (connected) handlers.onClose(new Error(`Connection to ${host}:${port} closed`));
    });
  });
