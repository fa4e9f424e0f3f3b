import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { decodeRequestHeader } from '../protocol/generated/request-header.js';
import { encodeApiVersionsResponse } from '../protocol/generated/api-versions.js';
import { ErrorCode } from '../protocol/errors.js';
import { REGISTRY, descriptorFor } from './registry.js';
import { supportedApiVersions } from './handlers/18-api-versions.js';
import type { Broker } from './broker.js';
import type { RequestContext } from './request-context.js';
import { SerialQueue } from './serial-queue.js';

/** Where a connection's output goes; implemented by the socket edge in src/io and by tests. */
export interface ConnectionSink {
  /** Send the chunks in order; call `sent` (when given) once they are no longer referenced. */
  write(chunks: Buffer[], sent?: () => void): void;
  close(reason: string): void;
  /** Called after responses left, with the number still pending: the edge resumes reading here. */
  drained?(pending: number): void;
}

const API_VERSIONS_KEY = 18;

/**
 * One client connection, without the socket: frames in, ordered response frames out. Requests are
 * handled concurrently (a long-polling Fetch does not block a Metadata behind it), but responses leave
 * in request order, as Kafka clients require: kafka-python pipelines ApiVersions and Metadata.
 */
export class Connection {
  /** Responses waiting for earlier ones; its length is what the socket edge bounds. */
  private readonly slots: Slot[] = [];
  private closed = false;
  private readonly appendOrder = new SerialQueue();

  constructor(
    private readonly broker: Broker,
    private readonly sink: ConnectionSink,
    readonly clientHost: string,
  ) {}

  /** Requests received whose responses have not been written yet. */
  get inflight(): number {
    return this.slots.length;
  }

  close(): void {
    this.closed = true;
  }

  /** Handle one request frame (the bytes after the 4-byte size). */
  onFrame(frame: Buffer): void {
    if (this.closed) return;
    if (frame.length < 8) return this.fail('frame shorter than a request header');
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const api = descriptorFor(apiKey);
    if (api === undefined) return this.fail(`unknown api key ${apiKey}`);
    const route = REGISTRY.get(apiKey);
    const supported = route !== undefined && apiVersion >= route.minVersion && apiVersion <= route.maxVersion;
    // An unknown (newer) version is parsed with the newest header layout the API has.
    const flexible = api.requestFlexibleMin >= 0 && apiVersion >= api.requestFlexibleMin;
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader, flexible ? 2 : 1);
    if (!reader.ok) return this.fail(`bad request header: ${reader.error}`);

    if (!supported) {
      if (apiKey === API_VERSIONS_KEY) {
        // KIP-511: answer in v0 with the error and our ranges, so the client can pick a version.
        return this.enqueue(Promise.resolve(
          frameResponse(header.correlationId, false, (w) =>
            encodeApiVersionsResponse(w, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: supportedApiVersions() }, 0),
          ),
        ));
      }
      return this.fail(`unsupported version ${apiVersion} of api ${api.name}`);
    }

    const body = api.decodeRequest(reader, apiVersion);
    if (!reader.ok) return this.fail(`malformed ${api.name} v${apiVersion} request: ${reader.error}`);
    const after: Array<() => void> = [];
    const ctx: RequestContext = {
      afterResponse: (fn) => after.push(fn),
      apiKey,
      apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      broker: this.broker,
      clientHost: this.clientHost,
      appendOrder: this.appendOrder,
    };
    const responseFlexible = apiKey !== API_VERSIONS_KEY && api.responseFlexibleMin >= 0 && apiVersion >= api.responseFlexibleMin;
    const work = (async () => {
      const response = await (route.handle as (r: object, c: RequestContext) => object | null | Promise<object | null>)(body, ctx);
      if (response === null) return null;
      return frameResponse(header.correlationId, responseFlexible, (w) => api.encodeResponse(w, response, apiVersion));
    })();
    this.enqueue(work, after);
  }

  private enqueue(work: Promise<Buffer[] | null>, after: Array<() => void> = NO_AFTER): void {
    const slot: Slot = { ready: false, out: null, after };
    this.slots.push(slot);
    work.then(
      (out) => {
        slot.ready = true;
        slot.out = out;
        // Closed meanwhile: the chunks will never be handed to the socket, so nothing refers to them.
        if (this.closed) return runAll(after);
        this.drain();
      },
      (err: unknown) => {
        // A handler that throws is a bug in Fjord, not in the client; the connection cannot be
        // answered in order any more, so it is closed and the broker keeps serving others.
        this.broker.log.error(`handler failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        this.fail('internal error');
      },
    );
  }

  private drain(): void {
    while (this.slots.length > 0 && this.slots[0]!.ready) {
      const slot = this.slots.shift()!;
      if (slot.out !== null && !this.closed) this.sink.write(slot.out, slot.after.length === 0 ? undefined : () => runAll(slot.after));
      else runAll(slot.after);
    }
    this.sink.drained?.(this.slots.length);
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    // Ready responses that will never be written; the others run theirs when their handler finishes.
    for (const slot of this.slots) if (slot.ready) runAll(slot.after);
    this.slots.length = 0;
    this.sink.close(reason);
  }
}

/** A request's place in the response order. */
interface Slot {
  ready: boolean;
  out: Buffer[] | null;
  /** RequestContext.afterResponse callbacks. */
  readonly after: Array<() => void>;
}

const NO_AFTER: Array<() => void> = [];

function runAll(fns: ReadonlyArray<() => void>): void {
  for (const fn of fns) fn();
}

/** Size prefix + response header (v0, or v1 with tagged fields) + body, as chunks for writev. */
function frameResponse(correlationId: number, flexibleHeader: boolean, body: (w: Writer) => void): Buffer[] {
  const w = new Writer(512);
  w.int32(0); // size, patched below
  w.int32(correlationId);
  if (flexibleHeader) w.uvarint(0);
  body(w);
  const chunks = w.finish();
  chunks[0]!.writeInt32BE(w.length - 4, 0);
  return chunks;
}
