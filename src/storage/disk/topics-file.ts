import type { FileSystem } from '../../io/file-system.js';
import type { TopicMetadata } from '../types.js';

/**
 * `fjord-topics.json`: the topics of a log directory (name, id, partition count, config overrides).
 * Kafka keeps this in ZooKeeper/KRaft; a single node keeps it next to the data, replaced atomically.
 */

const TOPICS_FILE_VERSION = 1;

interface TopicsFileContents {
  readonly version: number;
  readonly topics: readonly TopicMetadata[];
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}

function parseTopic(value: unknown): TopicMetadata {
  const t = value as Partial<TopicMetadata> | null;
  if (
    t === null ||
    typeof t !== 'object' ||
    typeof t.name !== 'string' ||
    typeof t.topicId !== 'string' ||
    typeof t.partitions !== 'number' ||
    !Number.isInteger(t.partitions) ||
    t.partitions < 1 ||
    !isStringRecord(t.configs)
  ) {
    throw new Error(`Malformed topic entry in topics file: ${JSON.stringify(value)}`);
  }
  return { name: t.name, topicId: t.topicId, partitions: t.partitions, configs: { ...t.configs } };
}

/**
 * The topics recorded in `path`; none if the file does not exist. A corrupt file throws: guessing
 * would lose topics, and it is only ever replaced atomically, so corruption means outside damage.
 */
export function readTopicsFile(fs: FileSystem, path: string): TopicMetadata[] {
  if (!fs.exists(path)) return [];
  const parsed = JSON.parse(fs.readFile(path).toString('utf8')) as Partial<TopicsFileContents>;
  if (parsed.version !== TOPICS_FILE_VERSION || !Array.isArray(parsed.topics)) {
    throw new Error(`Unsupported topics file ${path} (version ${String(parsed.version)})`);
  }
  return parsed.topics.map(parseTopic);
}

export function writeTopicsFile(fs: FileSystem, path: string, topics: readonly TopicMetadata[]): void {
  const contents: TopicsFileContents = { version: TOPICS_FILE_VERSION, topics };
  fs.writeFileAtomic(path, Buffer.from(`${JSON.stringify(contents, null, 2)}\n`, 'utf8'));
}
