import { Reader } from '../../protocol/reader.js';
import { Writer } from '../../protocol/writer.js';
import { decodeOffsetCommitKey, encodeOffsetCommitKey } from '../../protocol/generated/offset-commit-key.js';
import { decodeOffsetCommitValue, encodeOffsetCommitValue } from '../../protocol/generated/offset-commit-value.js';
import { decodeGroupMetadataKey, encodeGroupMetadataKey } from '../../protocol/generated/group-metadata-key.js';
import { decodeGroupMetadataValue, encodeGroupMetadataValue } from '../../protocol/generated/group-metadata-value.js';
import type { CommittedOffset, Group } from './group.js';

/**
 * __consumer_offsets records in Kafka's own layout (key and value each start with an int16 schema
 * version), so Kafka's tools and Burrow-style lag monitors can read Fjord's offsets topic.
 * Key versions: 0/1 offset commit, 2 group metadata. Value versions written: offset commit v3
 * (leader epoch, no expiry), group metadata v3 (static member ids).
 */
const OFFSET_KEY_VERSION = 1;
const GROUP_KEY_VERSION = 2;
const OFFSET_VALUE_VERSION = 3;
const GROUP_VALUE_VERSION = 3;

export interface OffsetsTopicRecord {
  readonly key: Buffer;
  readonly value: Buffer | null;
  /**
   * Set on a TxnOffsetCommit's records: they are written as one transactional batch of this producer
   * and count only once its COMMIT marker follows them in the partition.
   */
  readonly transactional?: TransactionalProducer;
}

export interface TransactionalProducer {
  readonly producerId: number;
  readonly producerEpoch: number;
}

export type ParsedOffsetsRecord =
  | { kind: 'offset'; group: string; topic: string; partition: number; value: CommittedOffset | null }
  | { kind: 'group'; group: string; value: ReturnType<typeof decodeGroupMetadataValue> | null }
  | { kind: 'unknown' };

function withVersion(version: number, body: (w: Writer) => void): Buffer {
  const w = new Writer(64);
  w.int16(version);
  body(w);
  return w.toBuffer();
}

export function offsetCommitRecord(group: string, topic: string, partition: number, value: CommittedOffset | null): OffsetsTopicRecord {
  return {
    key: withVersion(OFFSET_KEY_VERSION, (w) => encodeOffsetCommitKey(w, { group, topic, partition }, OFFSET_KEY_VERSION)),
    value:
      value === null
        ? null
        : withVersion(OFFSET_VALUE_VERSION, (w) =>
            encodeOffsetCommitValue(w, { offset: value.offset, leaderEpoch: value.leaderEpoch, metadata: value.metadata, commitTimestamp: BigInt(value.commitTimestamp) }, OFFSET_VALUE_VERSION),
          ),
  };
}

/** The group's membership after a rebalance, or a tombstone when `group` is null. */
export function groupMetadataRecord(groupId: string, group: Group | null, now: number): OffsetsTopicRecord {
  const key = withVersion(GROUP_KEY_VERSION, (w) => encodeGroupMetadataKey(w, { group: groupId }, GROUP_KEY_VERSION));
  if (group === null) return { key, value: null };
  const value = withVersion(GROUP_VALUE_VERSION, (w) =>
    encodeGroupMetadataValue(
      w,
      {
        protocolType: group.protocolType ?? '',
        generation: group.generation,
        protocol: group.protocol,
        leader: group.leader,
        currentStateTimestamp: BigInt(now),
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          rebalanceTimeout: m.rebalanceTimeoutMs,
          sessionTimeout: m.sessionTimeoutMs,
          subscription: m.protocols.find((p) => p.name === group.protocol)?.metadata ?? Buffer.alloc(0),
          assignment: m.assignment,
        })),
      },
      GROUP_VALUE_VERSION,
    ),
  );
  return { key, value };
}

export function parseOffsetsTopicRecord(key: Buffer, value: Buffer | null): ParsedOffsetsRecord {
  const kr = new Reader(key);
  const keyVersion = kr.int16();
  if (keyVersion === 0 || keyVersion === 1) {
    const k = decodeOffsetCommitKey(kr, keyVersion);
    if (!kr.ok) return { kind: 'unknown' };
    if (value === null) return { kind: 'offset', group: k.group, topic: k.topic, partition: k.partition, value: null };
    const vr = new Reader(value);
    const vv = vr.int16();
    if (vv < 0 || vv > 4) return { kind: 'unknown' };
    const v = decodeOffsetCommitValue(vr, vv);
    if (!vr.ok) return { kind: 'unknown' };
    return {
      kind: 'offset',
      group: k.group,
      topic: k.topic,
      partition: k.partition,
      value: { offset: v.offset, leaderEpoch: vv >= 3 ? v.leaderEpoch : -1, metadata: v.metadata, commitTimestamp: Number(v.commitTimestamp), expireTimestamp: vv === 1 ? Number(v.expireTimestamp) : null },
    };
  }
  if (keyVersion === 2) {
    const k = decodeGroupMetadataKey(kr, keyVersion);
    if (!kr.ok) return { kind: 'unknown' };
    if (value === null) return { kind: 'group', group: k.group, value: null };
    const vr = new Reader(value);
    const vv = vr.int16();
    if (vv < 0 || vv > 4) return { kind: 'unknown' };
    const v = decodeGroupMetadataValue(vr, vv);
    return vr.ok ? { kind: 'group', group: k.group, value: v } : { kind: 'unknown' };
  }
  return { kind: 'unknown' };
}

/** Kafka's partition for a group: abs(Java String.hashCode(groupId)) % partitions. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(31, h) + groupId.charCodeAt(i)) | 0;
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitions;
}
