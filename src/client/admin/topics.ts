import type { Encodable } from '../../protocol/encodable.js';
import type { CreateTopicsRequest, CreateTopicsResponse } from '../../protocol/generated/create-topics.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../protocol/generated/delete-topics.js';
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../protocol/generated/create-partitions.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { ClientError } from '../errors.js';
import type { AdminContext, Outcome } from './context.js';
import { assertUnique, fromErrorCode, noAnswer, settle, withRetries } from './retry.js';
import { scatter } from './routing.js';
import type { CreatedPartitions, CreatedTopic, CreatePartitionsOptions, CreateTopicsOptions, DeletedTopic, NewPartitions, NewTopic } from './types.js';

const CREATE_TOPICS = 19;
const DELETE_TOPICS = 20;
const CREATE_PARTITIONS = 37;
const BROKER_DEFAULTS_MIN_VERSION = 4;

const topicLabel = (name: string): string => `topic ${name}`;

/** Kafka's "no id" is the zero UUID; callers get null instead of a value that looks real. */
export const topicIdOrNull = (id: string): string | null => (id === ZERO_UUID ? null : id);

/** Match answers to the items sent, by name: Kafka does not promise to answer in request order. */
function byName<T extends { readonly name: string | null }>(answers: readonly T[]): Map<string, T> {
  return new Map(answers.filter((a) => a.name !== null).map((a) => [a.name!, a]));
}

/** Topics created, deleted or resized are re-read on next use rather than served stale from the cache. */
function forget(ctx: AdminContext, names: Iterable<string>): void {
  for (const n of names) ctx.cluster.topics.delete(n);
}

export async function createTopics(ctx: AdminContext, topics: readonly NewTopic[], options: CreateTopicsOptions): Promise<CreatedTopic[]> {
  assertUnique(topics, (t) => t.name, (t) => topicLabel(t.name));
  const validateOnly = options.validateOnly ?? false;
  const outcomes = await withRetries(ctx, topics, (pending) =>
    scatter(ctx, pending, () => 'controller', async (conn, items): Promise<Outcome<CreatedTopic>[]> => {
      // -1 ("the broker's default") for partitions and replication factor arrived in v4 (KIP-464).
      if (conn.versionFor(CREATE_TOPICS) < BROKER_DEFAULTS_MIN_VERSION && items.some((t) => t.partitions === undefined || t.replicationFactor === undefined)) {
        throw new ClientError('UNSUPPORTED_VERSION', `Broker ${conn.address} needs partitions and replicationFactor on every new topic`);
      }
      const body: Encodable<CreateTopicsRequest> = {
        topics: items.map((t) => ({
          name: t.name,
          numPartitions: t.partitions ?? -1,
          replicationFactor: t.replicationFactor ?? -1,
          assignments: [],
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs: ctx.operationTimeoutMs,
        validateOnly,
      };
      const answers = byName((await conn.request<CreateTopicsResponse>(CREATE_TOPICS, body)).topics);
      return items.map((t) => {
        const a = answers.get(t.name);
        if (a === undefined) return { ok: false, error: noAnswer() };
        return fromErrorCode(a.errorCode, a.errorMessage, () => ({
          name: a.name,
          topicId: topicIdOrNull(a.topicId),
          partitions: a.numPartitions,
          replicationFactor: a.replicationFactor,
          configs: Object.fromEntries((a.configs ?? []).map((c) => [c.name, c.value])),
        }));
      });
    }),
  );
  if (!validateOnly) forget(ctx, topics.map((t) => t.name));
  return settle('createTopics', topics, outcomes, (t) => topicLabel(t.name));
}

export async function deleteTopics(ctx: AdminContext, names: readonly string[]): Promise<DeletedTopic[]> {
  assertUnique(names, (n) => n, topicLabel);
  const outcomes = await withRetries(ctx, names, (pending) =>
    scatter(ctx, pending, () => 'controller', async (conn, items): Promise<Outcome<DeletedTopic>[]> => {
      // v6 names topics in `topics` (by name or id), older versions in `topicNames`; the encoder writes the one its version has.
      const body: Encodable<DeleteTopicsRequest> = {
        topics: items.map((name) => ({ name, topicId: ZERO_UUID })),
        topicNames: [...items],
        timeoutMs: ctx.operationTimeoutMs,
      };
      const answers = byName((await conn.request<DeleteTopicsResponse>(DELETE_TOPICS, body)).responses);
      return items.map((name) => {
        const a = answers.get(name);
        if (a === undefined) return { ok: false, error: noAnswer() };
        return fromErrorCode(a.errorCode, a.errorMessage, () => ({ name, topicId: topicIdOrNull(a.topicId) }));
      });
    }),
  );
  forget(ctx, names);
  return settle('deleteTopics', names, outcomes, topicLabel);
}

export async function createPartitions(ctx: AdminContext, topics: readonly NewPartitions[], options: CreatePartitionsOptions): Promise<CreatedPartitions[]> {
  assertUnique(topics, (t) => t.topic, (t) => topicLabel(t.topic));
  const validateOnly = options.validateOnly ?? false;
  const outcomes = await withRetries(ctx, topics, (pending) =>
    scatter(ctx, pending, () => 'controller', async (conn, items): Promise<Outcome<CreatedPartitions>[]> => {
      const body: Encodable<CreatePartitionsRequest> = {
        topics: items.map((t) => ({ name: t.topic, count: t.count, assignments: null })),
        timeoutMs: ctx.operationTimeoutMs,
        validateOnly,
      };
      const answers = byName((await conn.request<CreatePartitionsResponse>(CREATE_PARTITIONS, body)).results);
      return items.map((t) => {
        const a = answers.get(t.topic);
        if (a === undefined) return { ok: false, error: noAnswer() };
        return fromErrorCode(a.errorCode, a.errorMessage, () => ({ topic: t.topic, count: t.count }));
      });
    }),
  );
  if (!validateOnly) forget(ctx, topics.map((t) => t.topic));
  return settle('createPartitions', topics, outcomes, (t) => topicLabel(t.topic));
}
