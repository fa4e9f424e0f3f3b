import { API_DESCRIPTORS, type ApiDescriptor } from '../protocol/generated/api-table.js';
import type { Handler } from './request-context.js';
import { handleProduce } from './handlers/0-produce.js';
import { handleFetch } from './handlers/1-fetch.js';
import { handleListOffsets } from './handlers/2-list-offsets.js';
import { handleMetadata } from './handlers/3-metadata.js';
import { handleApiVersions } from './handlers/18-api-versions.js';
import { handleCreateTopics } from './handlers/19-create-topics.js';
import { handleDeleteTopics } from './handlers/20-delete-topics.js';
import { handleDeleteRecords } from './handlers/21-delete-records.js';
import { handleOffsetForLeaderEpoch } from './handlers/23-offset-for-leader-epoch.js';
import { handleDescribeConfigs } from './handlers/32-describe-configs.js';
import { handleAlterConfigs } from './handlers/33-alter-configs.js';
import { handleDescribeLogDirs } from './handlers/35-describe-log-dirs.js';
import { handleCreatePartitions } from './handlers/37-create-partitions.js';
import { handleIncrementalAlterConfigs } from './handlers/44-incremental-alter-configs.js';
import { handleDescribeCluster } from './handlers/60-describe-cluster.js';

export interface Route {
  readonly api: ApiDescriptor;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly handle: Handler;
}

/**
 * The one table that drives both request routing and the ApiVersions answer: an API is advertised
 * exactly when it has a row here. Versions default to everything the schema defines (less a latest
 * version Kafka marks unstable); a row narrows them only with a reason.
 */
const ROUTES: ReadonlyArray<{ apiKey: number; handle: Handler; minVersion?: number; why?: string }> = [
  // Produce v0-2 cannot carry magic-2 batches and Fjord stores only magic 2 (Kafka 4.0 also dropped them).
  { apiKey: 0, handle: handleProduce, minVersion: 3, why: 'magic 2 only' },
  // Fetch v0-3 readers expect magic 0/1 batches; Fjord does not down-convert (nor does Kafka 4.0).
  { apiKey: 1, handle: handleFetch, minVersion: 4, why: 'no down-conversion' },
  { apiKey: 2, handle: handleListOffsets },
  { apiKey: 3, handle: handleMetadata },
  { apiKey: 18, handle: handleApiVersions },
  { apiKey: 19, handle: handleCreateTopics },
  { apiKey: 20, handle: handleDeleteTopics },
  { apiKey: 21, handle: handleDeleteRecords },
  { apiKey: 23, handle: handleOffsetForLeaderEpoch },
  { apiKey: 32, handle: handleDescribeConfigs },
  { apiKey: 33, handle: handleAlterConfigs },
  { apiKey: 35, handle: handleDescribeLogDirs },
  { apiKey: 37, handle: handleCreatePartitions },
  { apiKey: 44, handle: handleIncrementalAlterConfigs },
  { apiKey: 60, handle: handleDescribeCluster },
];

const DESCRIPTORS = new Map(API_DESCRIPTORS.map((d) => [d.apiKey, d]));

export const REGISTRY: ReadonlyMap<number, Route> = new Map(
  ROUTES.map((r) => {
    const api = DESCRIPTORS.get(r.apiKey);
    if (api === undefined) throw new Error(`no schema for api key ${r.apiKey}`);
    const maxVersion = api.latestVersionUnstable ? api.maxVersion - 1 : api.maxVersion;
    return [r.apiKey, { api, minVersion: r.minVersion ?? api.minVersion, maxVersion, handle: r.handle }];
  }),
);

/** Any known descriptor, routed or not: needed to parse headers of requests we then refuse. */
export function descriptorFor(apiKey: number): ApiDescriptor | undefined {
  return DESCRIPTORS.get(apiKey);
}
