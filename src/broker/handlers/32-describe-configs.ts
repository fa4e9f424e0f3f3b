import type { DescribeConfigsRequest, DescribeConfigsResponse, DescribeConfigsResponseDescribeConfigsResourceResult } from '../../protocol/generated/describe-configs.js';
import type { Encodable } from '../../protocol/encodable.js';
import { ErrorCode } from '../../protocol/errors.js';
import { BrokerConfig, ConfigSource, type ResolvedConfig } from '../broker-config.js';
import { ResourceType, configTypeCode } from '../config-resources.js';
import type { RequestContext } from '../request-context.js';

type Entry = Encodable<DescribeConfigsResponseDescribeConfigsResourceResult>;

function entry(r: ResolvedConfig, includeSynonyms: boolean): Entry {
  return {
    name: r.name,
    value: r.value,
    readOnly: r.readOnly,
    isDefault: r.source === ConfigSource.DEFAULT_CONFIG,
    configSource: r.source,
    isSensitive: false,
    synonyms: includeSynonyms ? r.synonyms : [],
    configType: configTypeCode(r.type),
    documentation: null,
  };
}

export function handleDescribeConfigs(req: DescribeConfigsRequest, ctx: RequestContext): Encodable<DescribeConfigsResponse> {
  const { broker, apiVersion } = ctx;
  const synonyms = apiVersion >= 1 && req.includeSynonyms;
  const results = req.resources.map((res) => {
    const base = { resourceType: res.resourceType, resourceName: res.resourceName };
    if (res.resourceType === ResourceType.TOPIC) {
      const topic = broker.logs.getTopic(res.resourceName);
      if (topic === undefined) {
        return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${res.resourceName} does not exist.`, configs: [] };
      }
      const names = res.configurationKeys ?? BrokerConfig.topicConfigNames();
      const configs: Entry[] = [];
      for (const n of names) {
        const r = broker.config.resolveTopicConfig(topic.configs, n);
        if (r !== null) configs.push(entry(r, synonyms));
      }
      return { ...base, errorCode: 0, errorMessage: null, configs };
    }
    if (res.resourceType === ResourceType.BROKER) {
      if (res.resourceName !== '' && res.resourceName !== String(broker.nodeId)) {
        return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unexpected broker id ${res.resourceName}`, configs: [] };
      }
      const names = res.configurationKeys ?? BrokerConfig.brokerConfigNames();
      const configs: Entry[] = [];
      for (const n of names) {
        const r = broker.config.resolveBrokerConfig(n);
        if (r !== null) configs.push(entry(r, synonyms));
      }
      return { ...base, errorCode: 0, errorMessage: null, configs };
    }
    return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${res.resourceType}`, configs: [] };
  });
  return { throttleTimeMs: 0, results };
}
