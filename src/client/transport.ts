/**
 * The client's view of a socket. The TCP implementation lives in src/io/tcp-connector.ts (it reads
 * straight into the frame being received when the receiver offers `readInto`); tests can hand the
 * client anything that moves bytes.
 */
export interface Transport {
  write(chunks: Buffer[]): void;
  close(): void;
}

/**
 * Zero-copy reads, offered by the receiver: a connector that can read into memory the receiver
 * provides (net.Socket's `onread`) asks `target()` where the next read should land, and reports
 * each read with `wrote(n)` instead of calling onData. Connectors that cannot simply call onData.
 */
export interface ReadInto {
  target(): Buffer;
  wrote(n: number): void;
}

export interface TransportHandlers {
  onData(chunk: Buffer): void;
  onClose(error?: Error): void;
  readonly readInto?: ReadInto;
}

export type Connector = (host: string, port: number, handlers: TransportHandlers, timeoutMs: number) => Promise<Transport>;
