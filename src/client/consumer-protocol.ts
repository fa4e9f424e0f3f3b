import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { decodeConsumerProtocolAssignment, encodeConsumerProtocolAssignment } from '../protocol/generated/consumer-protocol-assignment.js';
import { decodeConsumerProtocolSubscription, encodeConsumerProtocolSubscription, type ConsumerProtocolSubscription } from '../protocol/generated/consumer-protocol-subscription.js';

/**
 * The "consumer" embedded protocol: what members of a consumer group put in JoinGroup metadata and
 * SyncGroup assignments. Each blob starts with an int16 version; the body follows Kafka's
 * ConsumerProtocolSubscription / ConsumerProtocolAssignment schemas.
 */
export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

const NEWEST = 3;

export function decodeAssignment(bytes: Buffer): TopicPartitions[] {
  if (bytes.length < 2) return [];
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), NEWEST);
  const a = decodeConsumerProtocolAssignment(r, Math.max(version, 0));
  return r.ok ? a.assignedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions })) : [];
}

export function encodeAssignment(partitions: readonly TopicPartitions[], version = 0): Buffer {
  const w = new Writer(64);
  w.int16(version);
  encodeConsumerProtocolAssignment(w, { assignedPartitions: partitions.map((p) => ({ topic: p.topic, partitions: [...p.partitions] })), userData: null }, version);
  return w.toBuffer();
}

export function decodeSubscription(bytes: Buffer): ConsumerProtocolSubscription | null {
  if (bytes.length < 2) return null;
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), NEWEST);
  const s = decodeConsumerProtocolSubscription(r, Math.max(version, 0));
  return r.ok ? s : null;
}

export function encodeSubscription(topics: readonly string[], owned: readonly TopicPartitions[] = [], generationId = -1, version = 1): Buffer {
  const w = new Writer(64);
  w.int16(version);
  encodeConsumerProtocolSubscription(w, { topics: [...topics], userData: null, ownedPartitions: owned.map((o) => ({ topic: o.topic, partitions: [...o.partitions] })), generationId, rackId: null }, version);
  return w.toBuffer();
}
