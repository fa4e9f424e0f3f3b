// A bare TCP client for protocol tests: sends frames built with Fjord's codec or by hand, and reads
// response frames. It is deliberately dumb so tests can send anything, including garbage.
import { connect, type Socket } from 'node:net';
import { Writer } from '../../src/protocol/writer.js';
import { Reader } from '../../src/protocol/reader.js';
import { API_DESCRIPTORS } from '../../src/protocol/generated/api-table.js';
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.js';

export class RawClient {
  private buffered = Buffer.alloc(0);
  private waiting: Array<() => void> = [];
  closed = false;
  private correlation = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Frame and send a request encoded by the generated codec; returns its correlation id. */
  send(apiKey: number, version: number, body: object, clientId: string | null = 'raw-test'): number {
    const api = API_DESCRIPTORS.find((a) => a.apiKey === apiKey)!;
    const flexible = api.requestFlexibleMin >= 0 && version >= api.requestFlexibleMin;
    const w = new Writer();
    const correlationId = ++this.correlation;
    encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId }, flexible ? 2 : 1);
    api.encodeRequest(w, body, version);
    const payload = w.toBuffer();
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    this.socket.write(Buffer.concat([size, payload]));
    return correlationId;
  }

  /** The next response frame (without its size), or null when the connection closed first. */
  async nextFrame(timeoutMs = 5000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length >= 4 + size) {
          const frame = this.buffered.subarray(4, 4 + size);
          this.buffered = this.buffered.subarray(4 + size);
          return frame;
        }
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a response');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiting.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Send a request and decode its response with the generated codec. */
  async request<T = Record<string, unknown>>(apiKey: number, version: number, body: object): Promise<T> {
    const id = this.send(apiKey, version, body);
    const frame = await this.nextFrame();
    if (frame === null) throw new Error('connection closed');
    const api = API_DESCRIPTORS.find((a) => a.apiKey === apiKey)!;
    const r = new Reader(frame);
    const correlationId = r.int32();
    if (correlationId !== id) throw new Error(`correlation id ${correlationId}, expected ${id}`);
    const flexible = apiKey !== 18 && api.responseFlexibleMin >= 0 && version >= api.responseFlexibleMin;
    if (flexible) r.skipTaggedFields();
    const res = api.decodeResponse(r, version);
    if (!r.ok) throw new Error(`bad response: ${r.error}`);
    return res as T;
  }

  /** Resolves true when the broker closes the connection within timeoutMs. */
  async closedWithin(timeoutMs = 3000): Promise<boolean> {
    try {
      for (;;) {
        const f = await this.nextFrame(timeoutMs);
        if (f === null) return true;
      }
    } catch {
      return false;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
