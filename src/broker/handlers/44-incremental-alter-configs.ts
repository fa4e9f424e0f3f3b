import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../../protocol/generated/incremental-alter-configs.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ResourceType, applyTopicOverrides, brokerResourceOutcome, isListConfig } from '../config-resources.js';
import type { RequestContext } from '../request-context.js';

const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;
const OP_SUBTRACT = 3;

export function handleIncrementalAlterConfigs(req: IncrementalAlterConfigsRequest, ctx: RequestContext): Encodable<IncrementalAlterConfigsResponse> {
  const { broker } = ctx;
  const responses = req.resources.map((res) => {
    const base = { resourceType: res.resourceType, resourceName: res.resourceName };
    if (res.resourceType === ResourceType.BROKER) return { ...base, ...brokerResourceOutcome(broker, res.resourceName, res.configs.map((c) => c.name)) };
    if (res.resourceType !== ResourceType.TOPIC) return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${res.resourceType}` };
    const topic = broker.logs.getTopic(res.resourceName);
    if (topic === undefined) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${res.resourceName} does not exist.` };
    const next: Record<string, string> = { ...topic.configs };
    const seen = new Set<string>();
    for (const c of res.configs) {
      if (seen.has(c.name)) return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Duplicate config ${c.name}` };
      seen.add(c.name);
      switch (c.configOperation) {
        case OP_SET:
          if (c.value === null) return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for ${c.name}` };
          next[c.name] = c.value;
          break;
        case OP_DELETE:
          delete next[c.name];
          break;
        case OP_APPEND:
        case OP_SUBTRACT: {
          if (!isListConfig(c.name)) return { ...base, errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Config ${c.name} is not a list` };
          const current = (next[c.name] ?? broker.topicConfig(topic, c.name)).split(',').map((s) => s.trim()).filter((s) => s !== '');
          const items = (c.value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
          const merged = c.configOperation === OP_APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i));
          next[c.name] = merged.join(',');
          break;
        }
        default:
          return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown config operation ${c.configOperation}` };
      }
    }
    return { ...base, ...applyTopicOverrides(broker, res.resourceName, next, req.validateOnly) };
  });
  return { throttleTimeMs: 0, responses };
}
