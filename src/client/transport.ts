/**
 * The client's view of a socket. The TCP implementation lives in src/io; tests can hand the client
 * anything that moves bytes.
 */
export interface Transport {
  write(chunks: Buffer[]): void;
  close(): void;
}

export interface TransportHandlers {
  onData(chunk: Buffer): void;
  onClose(error?: Error): void;
}

export type Connector = (host: string, port: number, handlers: TransportHandlers, timeoutMs: number) => Promise<Transport>;
