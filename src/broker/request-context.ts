import type { Broker } from './broker.js';
import type { SerialQueue } from './serial-queue.js';

/** What a handler knows about the request it is answering. */
export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly broker: Broker;
  /** Remote address, for DescribeGroups and logs. */
  readonly clientHost: string;
  /** Per connection: keeps Produce appends in request order. */
  readonly appendOrder: SerialQueue;
  /**
   * Run `fn` once the response has left (the socket took all its bytes) or will never leave (the
   * connection closed): the Fetch handler gives its pooled read buffers back here, because until then
   * the response's chunks are views of them.
   */
  afterResponse(fn: () => void): void;
}

/**
 * A handler turns a decoded request into a response body (any subset of the response's fields: the
 * rest are written as their defaults), or null when no response is sent (Produce with acks=0).
 */
export type Handler = (request: never, ctx: RequestContext) => object | null | Promise<object | null>;
