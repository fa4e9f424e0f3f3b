import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { FrameReader, FrameTooLargeError } from '../protocol/frame-reader.js';
import { encodeRequestHeader } from '../protocol/generated/request-header.js';
import { API_DESCRIPTORS, type ApiDescriptor } from '../protocol/generated/api-table.js';
import type { Encodable } from '../protocol/encodable.js';
import type { ApiVersionsResponse } from '../protocol/generated/api-versions.js';
import type { Clock, TimerHandle } from '../io/clock.js';
import { ErrorCode } from '../protocol/errors.js';
import { ClientError, KafkaProtocolError } from './errors.js';
import type { Connector, ReadInto, Transport } from './transport.js';

const API_VERSIONS = 18;
const DESCRIPTORS = new Map(API_DESCRIPTORS.map((d) => [d.apiKey, d]));

/**
 * The newest version of each API this client's code reads and writes correctly. Negotiation picks
 * min(this, the broker's max); a broker that cannot meet our minimum is an UNSUPPORTED_VERSION error.
 */
export const CLIENT_VERSIONS: ReadonlyMap<number, { min: number; max: number }> = new Map([
  [0, { min: 3, max: 9 }], // Produce: magic 2 batches need v3+
  [1, { min: 4, max: 12 }], // Fetch: topic names (v13+ switch to topic ids)
  [2, { min: 1, max: 7 }], // ListOffsets
  [3, { min: 1, max: 12 }], // Metadata
  [8, { min: 2, max: 8 }], // OffsetCommit
  [9, { min: 1, max: 7 }], // OffsetFetch (v8 batches groups: a different response shape)
  [10, { min: 0, max: 3 }], // FindCoordinator (v4 batches keys)
  [11, { min: 0, max: 9 }], // JoinGroup
  [12, { min: 0, max: 4 }], // Heartbeat
  [13, { min: 0, max: 5 }], // LeaveGroup
  [14, { min: 0, max: 5 }], // SyncGroup
  [15, { min: 0, max: 5 }], // DescribeGroups
  [16, { min: 0, max: 4 }], // ListGroups
  [42, { min: 0, max: 2 }], // DeleteGroups
  [47, { min: 0, max: 0 }], // OffsetDelete
  [18, { min: 0, max: 3 }], // ApiVersions
  [19, { min: 2, max: 7 }], // CreateTopics
  [20, { min: 1, max: 6 }], // DeleteTopics
  [21, { min: 0, max: 2 }], // DeleteRecords
  [32, { min: 1, max: 4 }], // DescribeConfigs
  [33, { min: 0, max: 2 }], // AlterConfigs
  [37, { min: 0, max: 3 }], // CreatePartitions
  [44, { min: 0, max: 1 }], // IncrementalAlterConfigs
  [60, { min: 0, max: 1 }], // DescribeCluster
  [22, { min: 0, max: 4 }], // InitProducerId (v3+ carries the current id/epoch, KIP-360)
  [24, { min: 0, max: 3 }], // AddPartitionsToTxn (v4+ is the brokers' batched form)
  [25, { min: 0, max: 3 }], // AddOffsetsToTxn
  [26, { min: 0, max: 4 }], // EndTxn (v5 bumps the epoch at each end, KIP-890 part 2: not implemented here)
  [28, { min: 0, max: 3 }], // TxnOffsetCommit
]);

/** Responses awaited on one connection before `request` waits its turn (Kafka's max.in.flight). */
export const CONNECTION_INFLIGHT_MAX = 64;
/** Largest response frame we accept from a broker. */
export const RESPONSE_FRAME_MAX_BYTES = 256 * 1024 * 1024;

interface Pending {
  readonly api: ApiDescriptor;
  readonly version: number;
  readonly resolve: (value: object) => void;
  readonly reject: (err: Error) => void;
  readonly timer: TimerHandle;
}

export interface BrokerConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly connector: Connector;
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/**
 * One connection to one broker: framing, correlation ids, ApiVersions negotiation and request
 * timeouts. Responses arrive in request order (Kafka's guarantee); a timeout closes the connection,
 * as the Java client does, because later responses can no longer be trusted to line up.
 */
export class BrokerConnection {
  private transport: Transport | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly order: number[] = [];
  private correlation = 0;
  private versions = new Map<number, { min: number; max: number }>();
  private closedError: Error | null = null;
  private readonly frames = new FrameReader(RESPONSE_FRAME_MAX_BYTES);
  private readonly slotWaiters: Array<() => void> = [];

  constructor(readonly options: BrokerConnectionOptions) {}

  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  get isOpen(): boolean {
    return this.transport !== null && this.closedError === null;
  }

  get inflight(): number {
    return this.pending.size;
  }

  async connect(): Promise<void> {
    try {
      this.transport = await this.options.connector(this.options.host, this.options.port, {
        onData: (chunk) => this.onData(chunk),
        readInto: this.readInto,
        onClose: (err) => this.fail(new ClientError('CONNECTION_CLOSED', err?.message ?? `Connection to ${this.address} closed`)),
      }, this.options.connectTimeoutMs);
    } catch (err) {
      throw new ClientError('CONNECTION_FAILED', `Cannot connect to ${this.address}: ${(err as Error).message}`);
    }
    await this.negotiate();
  }

  /** ApiVersions v3 first; a broker that does not know v3 answers v0 with its ranges (KIP-511). */
  private async negotiate(): Promise<void> {
    let res = await this.send<ApiVersionsResponse>(API_VERSIONS, 3, { clientSoftwareName: 'fjord', clientSoftwareVersion: '0.1.0' });
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      const v0 = res.apiKeys.find((k) => k.apiKey === API_VERSIONS);
      res = await this.send<ApiVersionsResponse>(API_VERSIONS, Math.min(v0?.maxVersion ?? 0, 2), {});
    }
    if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, 'ApiVersions failed');
    this.versions = new Map(res.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
  }

  /** The highest version both sides support, or an UNSUPPORTED_VERSION ClientError. */
  versionFor(apiKey: number): number {
    const ours = CLIENT_VERSIONS.get(apiKey);
    const theirs = this.versions.get(apiKey);
    const name = DESCRIPTORS.get(apiKey)?.name ?? String(apiKey);
    if (ours === undefined) throw new ClientError('UNSUPPORTED_VERSION', `The client does not implement ${name}`);
    if (theirs === undefined) throw new ClientError('UNSUPPORTED_VERSION', `Broker ${this.address} does not support ${name}`);
    const v = Math.min(ours.max, theirs.max);
    if (v < Math.max(ours.min, theirs.min)) throw new ClientError('UNSUPPORTED_VERSION', `No common version of ${name} with ${this.address}`);
    return v;
  }

  supports(apiKey: number): boolean {
    return this.versions.has(apiKey);
  }

  /** Send a request at the negotiated version and resolve with the decoded response body. */
  async request<Res extends object>(apiKey: number, body: object, version?: number): Promise<Res & { readonly _version: number }> {
    const v = version ?? this.versionFor(apiKey);
    while (this.pending.size >= CONNECTION_INFLIGHT_MAX) await new Promise<void>((r) => this.slotWaiters.push(r));
    const res = await this.send<Res>(apiKey, v, body);
    return Object.assign(res, { _version: v });
  }

  /** A request with no response (Produce with acks=0). */
  sendOneWay(apiKey: number, body: object, version?: number): number {
    const v = version ?? this.versionFor(apiKey);
    return this.write(apiKey, v, body);
  }

  private write(apiKey: number, version: number, body: object): number {
    if (this.closedError !== null) throw this.closedError;
    if (this.transport === null) throw new ClientError('CONNECTION_CLOSED', `Not connected to ${this.address}`);
    const api = DESCRIPTORS.get(apiKey);
    if (api === undefined) throw new ClientError('UNSUPPORTED_VERSION', `Unknown api key ${apiKey}`);
    const correlationId = (this.correlation = (this.correlation + 1) & 0x7fffffff);
    const flexible = api.requestFlexibleMin >= 0 && version >= api.requestFlexibleMin;
    const w = new Writer(256);
    w.int32(0);
    encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: this.options.clientId }, flexible ? 2 : 1);
    api.encodeRequest(w, body as Encodable<object>, version);
    const chunks = w.finish();
    chunks[0]!.writeInt32BE(w.length - 4, 0);
    this.transport.write(chunks);
    return correlationId;
  }

  private send<Res>(apiKey: number, version: number, body: object): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      let correlationId: number;
      try {
        correlationId = this.write(apiKey, version, body);
      } catch (err) {
        reject(err as Error);
        return;
      }
      const api = DESCRIPTORS.get(apiKey)!;
      const timer = this.options.clock.setTimer(this.options.requestTimeoutMs, () => {
        this.fail(new ClientError('REQUEST_TIMED_OUT', `${api.name} to ${this.address} timed out after ${this.options.requestTimeoutMs} ms`));
      });
      this.pending.set(correlationId, { api, version, resolve: resolve as (v: object) => void, reject, timer });
      this.order.push(correlationId);
    });
  }

  private readonly frameHandler = (frame: Buffer): void => this.onFrame(frame);

  private onData(chunk: Buffer): void {
    try {
      this.frames.push(chunk, this.frameHandler);
    } catch (err) {
      this.frameError(err);
    }
  }

  /** For connectors that read into our memory: responses land in their own frame buffers, uncopied. */
  private readonly readInto: ReadInto = {
    target: () => this.frames.readTarget(),
    wrote: (n) => {
      try {
        this.frames.wrote(n, this.frameHandler);
      } catch (err) {
        this.frameError(err);
      }
    },
  };

  private frameError(err: unknown): void {
    if (err instanceof FrameTooLargeError) this.fail(new ClientError('PROTOCOL_ERROR', `${this.address}: ${err.message}`));
    else throw err;
  }

  private onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    const correlationId = r.int32();
    const expected = this.order.shift();
    const p = this.pending.get(correlationId);
    if (p === undefined || expected !== correlationId) {
      this.fail(new ClientError('PROTOCOL_ERROR', `${this.address} answered correlation id ${correlationId}, expected ${expected ?? 'none'}`));
      return;
    }
    this.pending.delete(correlationId);
    p.timer.cancel();
    // ApiVersions responses always use header v0 so that any client can read them.
    const flexibleHeader = p.api.apiKey !== API_VERSIONS && p.api.responseFlexibleMin >= 0 && p.version >= p.api.responseFlexibleMin;
    if (flexibleHeader) r.skipTaggedFields();
    const body = p.api.decodeResponse(r, p.version);
    if (!r.ok) {
      // An ApiVersions v3 answer from an older broker comes back as v0 with an error code.
      if (p.api.apiKey === API_VERSIONS && p.version > 0) {
        const r0 = new Reader(frame, 4);
        const v0 = p.api.decodeResponse(r0, 0);
        if (r0.ok) {
          p.resolve(v0);
          this.wakeSlot();
          return;
        }
      }
      p.reject(new ClientError('PROTOCOL_ERROR', `Malformed ${p.api.name} v${p.version} response from ${this.address}: ${r.error}`));
    } else p.resolve(body);
    this.wakeSlot();
  }

  private wakeSlot(): void {
    const w = this.slotWaiters.shift();
    if (w !== undefined) w();
  }

  private fail(err: Error): void {
    if (this.closedError !== null) return;
    this.closedError = err;
    this.transport?.close();
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.reject(err);
    }
    this.pending.clear();
    this.order.length = 0;
    for (const w of this.slotWaiters.splice(0)) w();
  }

  close(): void {
    this.fail(new ClientError('CLIENT_CLOSED', `Connection to ${this.address} closed by the client`));
  }
}
