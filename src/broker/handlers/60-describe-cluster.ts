import type { DescribeClusterRequest, DescribeClusterResponse } from '../../protocol/generated/describe-cluster.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { RequestContext } from '../request-context.js';

/** Endpoint type 1 is "broker"; a request for controllers (2) is answered as Kafka brokers do. */
const ENDPOINT_BROKER = 1;

export function handleDescribeCluster(req: DescribeClusterRequest, ctx: RequestContext): Encodable<DescribeClusterResponse> {
  const { broker } = ctx;
  if (req.endpointType !== ENDPOINT_BROKER) {
    return { errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE, errorMessage: 'The request was sent to an endpoint of type BROKER.', endpointType: req.endpointType, clusterId: broker.clusterId };
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: ENDPOINT_BROKER,
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    brokers: [{ brokerId: broker.nodeId, host: broker.advertisedHost, port: broker.advertisedPort, rack: null }],
    clusterAuthorizedOperations: -2147483648,
  };
}
