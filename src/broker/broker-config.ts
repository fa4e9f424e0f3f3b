import {
  BROKER_CONFIG_BY_NAME,
  TOPIC_CONFIG_BY_NAME,
  TOPIC_CONFIGS,
  BROKER_CONFIGS,
  validateConfigValue,
  type ConfigDefinition,
} from './config-definitions.js';

/** Kafka's DescribeConfigs source codes. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
}

export interface ResolvedConfig {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
  readonly synonyms: Array<{ name: string; value: string | null; source: number }>;
  readonly readOnly: boolean;
  readonly type: ConfigDefinition['type'];
}

/**
 * The broker's configuration: Kafka's keys, explicit values over defaults. Parsing is strict about
 * values (a bad one is an error) and lenient about names (an unknown key is a warning), as Kafka is.
 */
export class BrokerConfig {
  private readonly values = new Map<string, string>();
  readonly warnings: string[] = [];

  constructor(explicit: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(explicit)) this.set(k, v);
  }

  /** Parse a server.properties text: `key=value` or `key: value`, `#` and `!` comments. */
  static parseProperties(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
      const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
      if (m === null) throw new ConfigError(`Cannot parse line "${line}" of the properties file`);
      out[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
    }
    return out;
  }

  set(key: string, value: string): void {
    const def = BROKER_CONFIG_BY_NAME.get(key) ?? TOPIC_CONFIG_BY_NAME.get(key);
    if (def === undefined) {
      this.warnings.push(`Unknown configuration key ${key} (ignored)`);
      return;
    }
    const err = validateConfigValue(def, value);
    if (err !== null) throw new ConfigError(err);
    this.values.set(key, value.trim());
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  get(key: string): string | null {
    const v = this.values.get(key);
    if (v !== undefined) return v;
    return BROKER_CONFIG_BY_NAME.get(key)?.defaultValue ?? null;
  }

  getInt(key: string): number {
    const v = this.get(key);
    if (v === null) throw new ConfigError(`Missing required configuration ${key}`);
    return Number(v);
  }

  getBool(key: string): boolean {
    return this.get(key) === 'true';
  }

  get nodeId(): number {
    return this.has('node.id') || !this.has('broker.id') ? this.getInt('node.id') : this.getInt('broker.id');
  }

  get logDir(): string {
    return (this.get('log.dirs') ?? './fjord-data').split(',')[0]!.trim();
  }

  /** The first PLAINTEXT listener as host and port. */
  get listener(): { host: string; port: number } {
    const first = (this.get('listeners') ?? '').split(',')[0]!.trim();
    const m = /^[A-Za-z_]+:\/\/(\[[^\]]+\]|[^:]*):(\d+)$/.exec(first);
    if (m === null) throw new ConfigError(`Invalid value ${first} for configuration listeners: expected PLAINTEXT://host:port`);
    const host = m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, '');
    return { host, port: Number(m[2]) };
  }

  get advertised(): { host: string; port: number } | null {
    const first = this.get('advertised.listeners');
    if (first === null || first === '') return null;
    const m = /^[A-Za-z_]+:\/\/(\[[^\]]+\]|[^:]*):(\d+)$/.exec(first.split(',')[0]!.trim());
    if (m === null) throw new ConfigError(`Invalid value ${first} for configuration advertised.listeners`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }

  /** log.retention.ms wins over minutes, minutes over hours (Kafka's precedence). */
  get retentionMs(): number {
    if (this.has('log.retention.ms')) return Number(this.get('log.retention.ms'));
    if (this.has('log.retention.minutes')) return Number(this.get('log.retention.minutes')) * 60_000;
    return Number(this.get('log.retention.hours')) * 3_600_000;
  }

  /** log.roll.ms wins over log.roll.hours. */
  get rollMs(): number {
    if (this.has('log.roll.ms')) return Number(this.get('log.roll.ms'));
    return Number(this.get('log.roll.hours')) * 3_600_000;
  }

  /** The broker-level value a topic key falls back to, with its source. */
  private brokerFallback(brokerKey: string): { value: string | null; source: number } | null {
    if (brokerKey === 'log.retention.ms') {
      const explicit = this.has('log.retention.ms') || this.has('log.retention.minutes') || this.has('log.retention.hours');
      return { value: String(this.retentionMs), source: explicit ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG };
    }
    if (brokerKey === 'log.roll.ms') {
      const explicit = this.has('log.roll.ms') || this.has('log.roll.hours');
      return { value: String(this.rollMs), source: explicit ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG };
    }
    if (this.values.has(brokerKey)) return { value: this.values.get(brokerKey)!, source: ConfigSource.STATIC_BROKER_CONFIG };
    return null;
  }

  /** The effective value of a topic key given the topic's overrides. */
  topicValue(overrides: Readonly<Record<string, string>>, key: string): string | null {
    return this.resolveTopicConfig(overrides, key)?.value ?? null;
  }

  resolveTopicConfig(overrides: Readonly<Record<string, string>>, key: string): ResolvedConfig | null {
    const def = TOPIC_CONFIG_BY_NAME.get(key);
    if (def === undefined) return null;
    const synonyms: ResolvedConfig['synonyms'] = [];
    const own = overrides[key];
    if (own !== undefined) synonyms.push({ name: key, value: own, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    if (def.brokerSynonym !== null) {
      const b = this.brokerFallback(def.brokerSynonym);
      if (b !== null && b.source !== ConfigSource.DEFAULT_CONFIG) synonyms.push({ name: def.brokerSynonym, ...b });
    }
    synonyms.push({ name: def.brokerSynonym ?? key, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
    const top = synonyms[0]!;
    return { name: key, value: top.value, source: top.source, synonyms, readOnly: false, type: def.type };
  }

  resolveBrokerConfig(key: string): ResolvedConfig | null {
    const def = BROKER_CONFIG_BY_NAME.get(key);
    if (def === undefined) return null;
    const synonyms: ResolvedConfig['synonyms'] = [];
    const own = this.values.get(key);
    if (own !== undefined) synonyms.push({ name: key, value: own, source: ConfigSource.STATIC_BROKER_CONFIG });
    synonyms.push({ name: key, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
    const top = synonyms[0]!;
    return { name: key, value: top.value, source: top.source, synonyms, readOnly: def.dynamic !== true, type: def.type };
  }

  static topicConfigNames(): string[] {
    return TOPIC_CONFIGS.map((c) => c.name);
  }

  static brokerConfigNames(): string[] {
    return BROKER_CONFIGS.map((c) => c.name);
  }
}

/** Validate topic overrides; returns the first error sentence or null. */
export function validateTopicConfigs(configs: Readonly<Record<string, string | null>>): string | null {
  for (const [k, v] of Object.entries(configs)) {
    const def = TOPIC_CONFIG_BY_NAME.get(k);
    if (def === undefined) return `Unknown topic config name: ${k}`;
    if (v === null) continue;
    const err = validateConfigValue(def, v);
    if (err !== null) return err;
  }
  return null;
}
