import type { AlterConfigsRequest, AlterConfigsResponse } from '../../protocol/generated/alter-configs.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ResourceType, applyTopicOverrides, brokerResourceOutcome } from '../config-resources.js';
import type { RequestContext } from '../request-context.js';

/** The legacy AlterConfigs replaces every override of the resource with the given set. */
export function handleAlterConfigs(req: AlterConfigsRequest, ctx: RequestContext): Encodable<AlterConfigsResponse> {
  const { broker } = ctx;
  const responses = req.resources.map((res) => {
    const base = { resourceType: res.resourceType, resourceName: res.resourceName };
    if (res.resourceType === ResourceType.TOPIC) {
      const next: Record<string, string> = {};
      for (const c of res.configs) if (c.value !== null) next[c.name] = c.value;
      return { ...base, ...applyTopicOverrides(broker, res.resourceName, next, req.validateOnly) };
    }
    if (res.resourceType === ResourceType.BROKER) return { ...base, ...brokerResourceOutcome(broker, res.resourceName, res.configs.map((c) => c.name)) };
    return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${res.resourceType}` };
  });
  return { throttleTimeMs: 0, responses };
}
