import type { DescribeClusterRequest, DescribeClusterResponse } from '../../protocol/generated/describe-cluster.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import type { AdminContext } from './context.js';
import { retryCall } from './retry.js';
import type { BrokerDescription, ClusterDescription } from './types.js';

const DESCRIBE_CLUSTER = 60;
/** DescribeCluster v1+: ask for broker endpoints, not controller endpoints (KIP-919). */
const ENDPOINT_BROKER = 1;

const byNodeId = (a: BrokerDescription, b: BrokerDescription): number => a.nodeId - b.nodeId;

/** DescribeCluster where the broker has it (Kafka 2.8+), else the same facts from Metadata. */
export function describeCluster(ctx: AdminContext): Promise<ClusterDescription> {
  return retryCall(ctx, async () => {
    const { cluster } = ctx;
    const conn = await cluster.anyConnection();
    let version = -1;
    try {
      if (conn.supports(DESCRIBE_CLUSTER)) version = conn.versionFor(DESCRIBE_CLUSTER);
    } catch (err) {
      if (!(err instanceof ClientError && err.code === 'UNSUPPORTED_VERSION')) throw err;
    }
    if (version >= 0) {
      const body: Encodable<DescribeClusterRequest> = { includeClusterAuthorizedOperations: false, endpointType: ENDPOINT_BROKER };
      const res = await conn.request<DescribeClusterResponse>(DESCRIBE_CLUSTER, body, version);
      if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, res.errorMessage);
      return {
        clusterId: res.clusterId,
        controllerId: res.controllerId,
        brokers: res.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort(byNodeId),
      };
    }
    await cluster.refreshMetadata([]);
    return { clusterId: cluster.clusterId, controllerId: cluster.controllerId, brokers: [...cluster.brokers.values()].map((b) => ({ ...b })).sort(byNodeId) };
  });
}
