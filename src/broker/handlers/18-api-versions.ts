import type { ApiVersionsRequest, ApiVersionsResponse, ApiVersionsResponseApiVersion } from '../../protocol/generated/api-versions.js';
import type { Encodable } from '../../protocol/encodable.js';
import { REGISTRY } from '../registry.js';
import type { RequestContext } from '../request-context.js';

/** The ranges we advertise: derived from the routing table, never listed twice. */
export function supportedApiVersions(): Encodable<ApiVersionsResponseApiVersion>[] {
  return [...REGISTRY.values()]
    .sort((a, b) => a.api.apiKey - b.api.apiKey)
    .map((r) => ({ apiKey: r.api.apiKey, minVersion: r.minVersion, maxVersion: r.maxVersion }));
}

export function handleApiVersions(_req: ApiVersionsRequest, _ctx: RequestContext): Encodable<ApiVersionsResponse> {
  return { errorCode: 0, apiKeys: supportedApiVersions(), throttleTimeMs: 0 };
}
