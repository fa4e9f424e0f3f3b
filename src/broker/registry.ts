import { API_DESCRIPTORS, type ApiDescriptor } from '../protocol/generated/api-table.js';
import type { Handler } from './request-context.js';
import { handleProduce } from './handlers/0-produce.js';
import { handleFetch } from './handlers/1-fetch.js';
import { handleListOffsets } from './handlers/2-list-offsets.js';
import { handleMetadata } from './handlers/3-metadata.js';
import { handleOffsetCommit } from './handlers/8-offset-commit.js';
import { handleOffsetFetch } from './handlers/9-offset-fetch.js';
import { handleFindCoordinator } from './handlers/10-find-coordinator.js';
import { handleJoinGroup } from './handlers/11-join-group.js';
import { handleHeartbeat } from './handlers/12-heartbeat.js';
import { handleLeaveGroup } from './handlers/13-leave-group.js';
import { handleSyncGroup } from './handlers/14-sync-group.js';
import { handleDescribeGroups } from './handlers/15-describe-groups.js';
import { handleListGroups } from './handlers/16-list-groups.js';
import { handleDeleteGroups } from './handlers/42-delete-groups.js';
import { handleOffsetDelete } from './handlers/47-offset-delete.js';
import { handleApiVersions } from './handlers/18-api-versions.js';
import { handleCreateTopics } from './handlers/19-create-topics.js';
import { handleDeleteTopics } from './handlers/20-delete-topics.js';
import { handleDeleteRecords } from './handlers/21-delete-records.js';
import { handleInitProducerId } from './handlers/22-init-producer-id.js';
import { handleAddPartitionsToTxn } from './handlers/24-add-partitions-to-txn.js';
import { handleAddOffsetsToTxn } from './handlers/25-add-offsets-to-txn.js';
import { handleEndTxn } from './handlers/26-end-txn.js';
import { handleWriteTxnMarkers } from './handlers/27-write-txn-markers.js';
import { handleDescribeTransactions } from './handlers/65-describe-transactions.js';
import { handleListTransactions } from './handlers/66-list-transactions.js';
import { handleDescribeProducers } from './handlers/61-describe-producers.js';
import { handleOffsetForLeaderEpoch } from './handlers/23-offset-for-leader-epoch.js';
import { handleTxnOffsetCommit } from './handlers/28-txn-offset-commit.js';
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
  // Produce v0-2 message sets (magic 0/1) are up-converted to one magic-2 batch, as by Kafka 3.x.
  { apiKey: 0, handle: handleProduce },
  // Fetch v0-3 readers get the stored magic-2 batches down-converted to magic 0/1, as from Kafka 3.x.
  { apiKey: 1, handle: handleFetch },
  { apiKey: 2, handle: handleListOffsets },
  { apiKey: 3, handle: handleMetadata },
  { apiKey: 8, handle: handleOffsetCommit },
  { apiKey: 9, handle: handleOffsetFetch },
  { apiKey: 10, handle: handleFindCoordinator },
  { apiKey: 11, handle: handleJoinGroup },
  { apiKey: 12, handle: handleHeartbeat },
  { apiKey: 13, handle: handleLeaveGroup },
  { apiKey: 14, handle: handleSyncGroup },
  { apiKey: 15, handle: handleDescribeGroups },
  { apiKey: 16, handle: handleListGroups },
  { apiKey: 18, handle: handleApiVersions },
  { apiKey: 19, handle: handleCreateTopics },
  { apiKey: 20, handle: handleDeleteTopics },
  { apiKey: 21, handle: handleDeleteRecords },
  { apiKey: 22, handle: handleInitProducerId },
  { apiKey: 23, handle: handleOffsetForLeaderEpoch },
  { apiKey: 24, handle: handleAddPartitionsToTxn },
  { apiKey: 25, handle: handleAddOffsetsToTxn },
  { apiKey: 26, handle: handleEndTxn },
  { apiKey: 27, handle: handleWriteTxnMarkers },
  { apiKey: 28, handle: handleTxnOffsetCommit },
  { apiKey: 32, handle: handleDescribeConfigs },
  { apiKey: 33, handle: handleAlterConfigs },
  { apiKey: 35, handle: handleDescribeLogDirs },
  { apiKey: 37, handle: handleCreatePartitions },
  { apiKey: 42, handle: handleDeleteGroups },
  { apiKey: 44, handle: handleIncrementalAlterConfigs },
  { apiKey: 47, handle: handleOffsetDelete },
  { apiKey: 60, handle: handleDescribeCluster },
  { apiKey: 61, handle: handleDescribeProducers },
  { apiKey: 65, handle: handleDescribeTransactions },
  { apiKey: 66, handle: handleListTransactions },
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
