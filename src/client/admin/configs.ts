import type { Encodable } from '../../protocol/encodable.js';
import type { DescribeConfigsRequest, DescribeConfigsResponse, DescribeConfigsResponseDescribeConfigsResourceResult } from '../../protocol/generated/describe-configs.js';
import type { AlterConfigsRequest, AlterConfigsResponse } from '../../protocol/generated/alter-configs.js';
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../../protocol/generated/incremental-alter-configs.js';
import type { BrokerConnection } from '../broker-connection.js';
import { ClientError } from '../errors.js';
import type { AdminContext, Outcome } from './context.js';
import { assertUnique, fromErrorCode, noAnswer, settle, withRetries } from './retry.js';
import { scatter, type Route } from './routing.js';
import type {
  AlterConfigsOptions,
  AlterConfigsResource,
  AlteredConfigResource,
  ConfigEntry,
  ConfigOpType,
  ConfigResource,
  ConfigResourceDescription,
  ConfigResourceType,
  ConfigSourceName,
  ConfigTypeName,
  DescribeConfigsOptions,
  IncrementalAlterConfigsResource,
} from './types.js';

const DESCRIBE_CONFIGS = 32;
const ALTER_CONFIGS = 33;
const INCREMENTAL_ALTER_CONFIGS = 44;

/** Kafka's ConfigResource.Type codes. */
const RESOURCE_TYPE: Readonly<Record<ConfigResourceType, number>> = { topic: 2, broker: 4 };
/** Indexed by the wire code. */
const SOURCES: readonly ConfigSourceName[] = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'CLIENT_METRICS_CONFIG',
  'GROUP_CONFIG',
];
const TYPES: readonly ConfigTypeName[] = ['UNKNOWN', 'BOOLEAN', 'STRING', 'INT', 'SHORT', 'LONG', 'DOUBLE', 'LIST', 'CLASS', 'PASSWORD'];
const OPS: Readonly<Record<ConfigOpType, number>> = { set: 0, delete: 1, append: 2, subtract: 3 };

const sourceName = (code: number): ConfigSourceName => SOURCES[code] ?? 'UNKNOWN';

interface Resource {
  readonly type: ConfigResourceType;
  readonly name: string;
}

const label = (r: Resource): string => `${r.type} ${r.name === '' ? '(default)' : r.name}`;
const key = (type: number, name: string): string => `${type}:${name}`;

/**
 * A broker's own configs can only be read or changed on that broker, as in Kafka; topic configs and
 * the cluster-wide default ('') can go to any broker.
 */
function routeOf(r: Resource): Route | Error {
  if (!Object.hasOwn(RESOURCE_TYPE, r.type)) return new ClientError('INVALID_ARGUMENT', `Unknown config resource type ${String(r.type)}`);
  if (r.type === 'broker' && /^\d+$/.test(r.name)) return Number(r.name);
  return 'any';
}

function entry(c: DescribeConfigsResponseDescribeConfigsResourceResult): ConfigEntry {
  const source = sourceName(c.configSource);
  return {
    name: c.name,
    value: c.value,
    source,
    // The isDefault field exists only in v0; from v1 the source says it, as the Java client reads it.
    isDefault: source === 'DEFAULT_CONFIG',
    readOnly: c.readOnly,
    sensitive: c.isSensitive,
    synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: sourceName(s.source) })),
    type: TYPES[c.configType] ?? 'UNKNOWN',
    documentation: c.documentation,
  };
}

/** Shared by the three config APIs: answers are matched to resources by (type, name). */
async function perResource<I extends Resource, R>(
  ctx: AdminContext,
  operation: string,
  resources: readonly I[],
  send: (conn: BrokerConnection, items: readonly I[]) => Promise<ReadonlyMap<string, Outcome<R>>>,
): Promise<R[]> {
  assertUnique(resources, (r) => key(RESOURCE_TYPE[r.type], r.name), label);
  const outcomes = await withRetries(ctx, resources, (pending) =>
    scatter(ctx, pending, routeOf, async (conn, items) => {
      const answers = await send(conn, items);
      return items.map((r) => answers.get(key(RESOURCE_TYPE[r.type], r.name)) ?? { ok: false, error: noAnswer() });
    }),
  );
  return settle(operation, resources, outcomes, label);
}

export async function describeConfigs(ctx: AdminContext, resources: readonly ConfigResource[], options: DescribeConfigsOptions): Promise<ConfigResourceDescription[]> {
  return perResource<ConfigResource, ConfigResourceDescription>(ctx, 'describeConfigs', resources, async (conn, items) => {
    const body: Encodable<DescribeConfigsRequest> = {
      resources: items.map((r) => ({ resourceType: RESOURCE_TYPE[r.type], resourceName: r.name, configurationKeys: r.keys === undefined ? null : [...r.keys] })),
      includeSynonyms: options.includeSynonyms ?? true,
      includeDocumentation: options.includeDocumentation ?? false,
    };
    const res = await conn.request<DescribeConfigsResponse>(DESCRIBE_CONFIGS, body);
    const types = new Map(items.map((r) => [key(RESOURCE_TYPE[r.type], r.name), r.type]));
    return new Map(
      res.results.map((a) => {
        const k = key(a.resourceType, a.resourceName);
        const type = types.get(k) ?? 'topic';
        return [k, fromErrorCode(a.errorCode, a.errorMessage, () => ({ type, name: a.resourceName, configs: a.configs.map(entry) }))];
      }),
    );
  });
}

type AlterAnswer = { readonly resourceType: number; readonly resourceName: string; readonly errorCode: number; readonly errorMessage: string | null };

function alterOutcomes(items: readonly Resource[], answers: readonly AlterAnswer[]): Map<string, Outcome<AlteredConfigResource>> {
  const types = new Map(items.map((r) => [key(RESOURCE_TYPE[r.type], r.name), r.type]));
  return new Map(
    answers.map((a) => {
      const k = key(a.resourceType, a.resourceName);
      const type = types.get(k) ?? 'topic';
      return [k, fromErrorCode(a.errorCode, a.errorMessage, () => ({ type, name: a.resourceName }))];
    }),
  );
}

export async function alterConfigs(ctx: AdminContext, resources: readonly AlterConfigsResource[], options: AlterConfigsOptions): Promise<AlteredConfigResource[]> {
  return perResource<AlterConfigsResource, AlteredConfigResource>(ctx, 'alterConfigs', resources, async (conn, items) => {
    const body: Encodable<AlterConfigsRequest> = {
      resources: items.map((r) => ({
        resourceType: RESOURCE_TYPE[r.type],
        resourceName: r.name,
        configs: Object.entries(r.configs).map(([name, value]) => ({ name, value })),
      })),
      validateOnly: options.validateOnly ?? false,
    };
    return alterOutcomes(items, (await conn.request<AlterConfigsResponse>(ALTER_CONFIGS, body)).responses);
  });
}

export async function incrementalAlterConfigs(ctx: AdminContext, resources: readonly IncrementalAlterConfigsResource[], options: AlterConfigsOptions): Promise<AlteredConfigResource[]> {
  for (const r of resources) {
    for (const o of r.ops) {
      if (!Object.hasOwn(OPS, o.op)) throw new ClientError('INVALID_ARGUMENT', `${label(r)}: unknown config operation ${String(o.op)}`);
      if (o.op !== 'delete' && o.value === undefined) throw new ClientError('INVALID_ARGUMENT', `${label(r)}: ${o.op} ${o.key} needs a value`);
    }
  }
  return perResource<IncrementalAlterConfigsResource, AlteredConfigResource>(ctx, 'incrementalAlterConfigs', resources, async (conn, items) => {
    const body: Encodable<IncrementalAlterConfigsRequest> = {
      resources: items.map((r) => ({
        resourceType: RESOURCE_TYPE[r.type],
        resourceName: r.name,
        configs: r.ops.map((o) => ({ name: o.key, configOperation: OPS[o.op], value: o.value ?? null })),
      })),
      validateOnly: options.validateOnly ?? false,
    };
    return alterOutcomes(items, (await conn.request<IncrementalAlterConfigsResponse>(INCREMENTAL_ALTER_CONFIGS, body)).responses);
  });
}
