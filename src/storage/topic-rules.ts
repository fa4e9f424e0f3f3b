/** Checks both log managers apply before touching topics, so the engines agree on what is legal. */

/**
 * Partitions one log manager will host. Each costs open files and memory for its indexes; past this
 * a broker should be scaled out, not grown.
 */
export const MAX_PARTITIONS_PER_LOG_MANAGER = 100_000;

/** Kafka's limit: a partition directory name must fit in 255 bytes with room for "-<partition>". */
export const MAX_TOPIC_NAME_LENGTH = 249;

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Names become directory names, so reject anything that could escape the log directory. */
export function assertValidTopicName(name: string): void {
  if (name.length === 0 || name.length > MAX_TOPIC_NAME_LENGTH || !LEGAL_TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new Error(`Illegal topic name '${name}'`);
  }
}

export function assertPartitionBudget(current: number, adding: number): void {
  if (!Number.isInteger(adding) || adding < 1) throw new Error(`Partition count must grow by at least 1, not ${adding}`);
  if (current + adding > MAX_PARTITIONS_PER_LOG_MANAGER) {
    throw new Error(`Log manager limit of ${MAX_PARTITIONS_PER_LOG_MANAGER} partitions reached`);
  }
}
