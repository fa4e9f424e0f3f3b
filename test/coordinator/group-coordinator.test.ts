// The group coordinator as a pure state machine: requests and time in, records and replies out.
// Time is a number here; nothing waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCoordinator, type Effects } from '../../src/coordinator/group/group-coordinator.js';
import { parseOffsetsTopicRecord, offsetsPartitionFor } from '../../src/coordinator/group/offsets-topic-records.js';
import { defaultJoinGroupRequest, type JoinGroupRequest } from '../../src/protocol/generated/join-group.js';
import { defaultSyncGroupRequest } from '../../src/protocol/generated/sync-group.js';
import { defaultOffsetCommitRequest } from '../../src/protocol/generated/offset-commit.js';
import { defaultOffsetFetchRequest } from '../../src/protocol/generated/offset-fetch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const CONFIG = { minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 300000, initialRebalanceDelayMs: 0, offsetsRetentionMs: 7 * 24 * 3600_000, offsetMetadataMaxBytes: 4096, maxGroupSize: 10, offsetsTopicPartitions: 50 };

function coordinator(config: Partial<typeof CONFIG> = {}): GroupCoordinator {
  let n = 0;
  return new GroupCoordinator({ ...CONFIG, ...config }, () => `uuid-${++n}`);
}

let token = 0;
const meta = (version: number) => ({ version, clientId: 'c', clientHost: '/127.0.0.1', token: ++token });

function joinReq(memberId = '', extra: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return { ...defaultJoinGroupRequest(), groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, memberId, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('m') }], ...extra };
}

function replyFor(e: Effects, t: number): Record<string, unknown> | undefined {
  return e.replies.find((r) => r.token === t)?.response as Record<string, unknown> | undefined;
}

test('KIP-394: a new member first gets MEMBER_ID_REQUIRED, then joins with that id', () => {
  const c = coordinator();
  const first = c.join(joinReq(), meta(5), 0);
  assert.equal(first.response?.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const id = first.response!.memberId!;
  assert.match(id, /^c-uuid-/);
  const m = meta(5);
  const second = c.join(joinReq(id), m, 1);
  assert.equal(second.response, undefined, 'parked until the rebalance completes');
  const reply = replyFor(second, m.token)!;
  assert.equal(reply['errorCode'], 0);
  assert.equal(reply['generationId'], 1);
  assert.equal(reply['leader'], id);
  assert.equal((reply['members'] as unknown[]).length, 1);
  assert.equal(c.group('g')!.state, 'CompletingRebalance');
  // An unknown member id is refused.
  assert.equal(c.join(joinReq('nobody'), meta(5), 2).response?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('a two-member rebalance: both join, leader syncs assignments, followers get theirs, a record is written', () => {
  const c = coordinator();
  const a = meta(3);
  c.join(joinReq(), a, 0); // v3: no member id round trip
  const aId = c.group('g')!.members.keys().next().value as string;
  // Complete the first generation for A alone.
  const syncA = meta(3);
  let e = c.sync({ ...defaultSyncGroupRequest(), groupId: 'g', generationId: 1, memberId: aId, assignments: [{ memberId: aId, assignment: Buffer.from('all') }] }, syncA, 1);
  assert.equal(replyFor(e, syncA.token)!['errorCode'], 0);
  assert.equal(e.records.length, 1);
  assert.equal(c.group('g')!.state, 'Stable');
  // B joins: a rebalance starts and waits for A to rejoin.
  const b = meta(3);
  e = c.join(joinReq(), b, 2);
  assert.equal(c.group('g')!.state, 'PreparingRebalance');
  assert.equal(replyFor(e, b.token), undefined);
  assert.equal(c.heartbeat({ groupId: 'g', generationId: 1, memberId: aId, groupInstanceId: null }, 3).response?.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  const a2 = meta(3);
  e = c.join(joinReq(aId), a2, 4);
  const ra = replyFor(e, a2.token)!;
  const rb = replyFor(e, b.token)!;
  assert.equal(ra['generationId'], 2);
  assert.equal(rb['generationId'], 2);
  assert.equal(ra['leader'], aId);
  assert.equal((ra['members'] as unknown[]).length, 2);
  assert.equal((rb['members'] as unknown[]).length, 0);
  const bId = rb['memberId'] as string;
  // The follower's sync waits for the leader's.
  const sb = meta(3);
  e = c.sync({ ...defaultSyncGroupRequest(), groupId: 'g', generationId: 2, memberId: bId, assignments: [] }, sb, 5);
  assert.equal(e.replies.length, 0);
  const sa = meta(3);
  e = c.sync({ ...defaultSyncGroupRequest(), groupId: 'g', generationId: 2, memberId: aId, assignments: [{ memberId: aId, assignment: Buffer.from('p0') }, { memberId: bId, assignment: Buffer.from('p1') }] }, sa, 6);
  assert.deepEqual(replyFor(e, sb.token)!['assignment'], Buffer.from('p1'));
  assert.deepEqual(replyFor(e, sa.token)!['assignment'], Buffer.from('p0'));
  const rec = parseOffsetsTopicRecord(e.records[0]!.key, e.records[0]!.value);
  assert.equal(rec.kind, 'group');
  // A stale generation is refused.
  assert.equal(c.heartbeat({ groupId: 'g', generationId: 1, memberId: aId, groupInstanceId: null }, 7).response?.errorCode, ErrorCode.ILLEGAL_GENERATION);
});

test('a member that stops heartbeating is removed after its session timeout, and the group rebalances', () => {
  const c = coordinator();
  c.join(joinReq('', { sessionTimeoutMs: 6000 }), meta(3), 0);
  const id = c.group('g')!.members.keys().next().value as string;
  c.sync({ ...defaultSyncGroupRequest(), groupId: 'g', generationId: 1, memberId: id, assignments: [] }, meta(3), 0);
  assert.equal(c.nextDeadline(), 6000);
  assert.equal(c.heartbeat({ groupId: 'g', generationId: 1, memberId: id, groupInstanceId: null }, 5000).response?.errorCode, 0);
  assert.equal(c.nextDeadline(), 11000);
  const e = c.tick(11000);
  assert.equal(c.group('g')!.members.size, 0);
  assert.equal(c.group('g')!.state, 'Empty');
  assert.equal(e.records.length, 1, 'the empty generation is recorded');
});

test('members that do not rejoin within the rebalance timeout are dropped', () => {
  const c = coordinator();
  c.join(joinReq('', { rebalanceTimeoutMs: 20_000 }), meta(3), 0);
  const a = c.group('g')!.members.keys().next().value as string;
  c.sync({ ...defaultSyncGroupRequest(), groupId: 'g', generationId: 1, memberId: a, assignments: [] }, meta(3), 0);
  const b = meta(3);
  c.join(joinReq('', { rebalanceTimeoutMs: 20_000 }), b, 1000);
  // A keeps heartbeating but never rejoins.
  c.heartbeat({ groupId: 'g', generationId: 1, memberId: a, groupInstanceId: null }, 5000);
  const e = c.tick(21_000);
  const rb = replyFor(e, b.token)!;
  assert.equal(rb['generationId'], 2);
  assert.equal(c.group('g')!.members.has(a), false);
  assert.equal(rb['leader'], rb['memberId']);
});

test('static membership: a rejoin with the same instance id replaces the old member without a rebalance', () => {
  const c = coordinator();
  const first = meta(5);
  const e1 = c.join(joinReq('', { groupInstanceId: 'instance-1' }), first, 0);
  const oldId = replyFor(e1, first.token)!['memberId'] as string;
  c.sync({ ...defaultSyncGroupRequest(), groupId: 'g', generationId: 1, memberId: oldId, groupInstanceId: 'instance-1', assignments: [{ memberId: oldId, assignment: Buffer.from('a') }] }, meta(5), 0);
  const again = c.join(joinReq('', { groupInstanceId: 'instance-1' }), meta(5), 100);
  assert.equal(again.response?.errorCode, 0);
  assert.equal(again.response?.generationId, 1, 'no new generation');
  const newId = again.response!.memberId!;
  assert.notEqual(newId, oldId);
  // The old member id is fenced.
  assert.equal(c.heartbeat({ groupId: 'g', generationId: 1, memberId: oldId, groupInstanceId: 'instance-1' }, 200).response?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(c.heartbeat({ groupId: 'g', generationId: 1, memberId: newId, groupInstanceId: 'instance-2' }, 200).response?.errorCode, ErrorCode.FENCED_INSTANCE_ID);
});

test('protocol checks: a member with no protocol in common is INCONSISTENT_GROUP_PROTOCOL; bad session timeouts are refused', () => {
  const c = coordinator();
  c.join(joinReq(), meta(3), 0);
  assert.equal(c.join(joinReq('', { protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }), meta(3), 1).response?.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(c.join(joinReq('', { protocolType: 'connect' }), meta(3), 1).response?.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(c.join(joinReq('', { sessionTimeoutMs: 10 }), meta(3), 1).response?.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal(c.join(joinReq('', { groupId: '' }), meta(3), 1).response?.errorCode, ErrorCode.INVALID_GROUP_ID);
});

test('offset commits: simple commits for memberless groups, generation checks for active ones, replay rebuilds them', () => {
  const c = coordinator();
  const commit = (generation: number, memberId: string, offset: bigint) =>
    c.commitOffsets({ ...defaultOffsetCommitRequest(), groupId: 'solo', generationIdOrMemberEpoch: generation, memberId, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: 0, commitTimestamp: -1n, committedMetadata: 'meta' }] }] }, meta(8), 1000, (t) => t === 't');
  let e = commit(-1, '', 42n);
  assert.equal(e.response!.topics![0]!.partitions![0]!.errorCode, 0);
  assert.equal(e.records.length, 1);
  const rec = parseOffsetsTopicRecord(e.records[0]!.key, e.records[0]!.value);
  assert.ok(rec.kind === 'offset' && rec.value?.offset === 42n && rec.value.metadata === 'meta');
  e = commit(5, 'ghost', 43n);
  assert.equal(e.response!.topics![0]!.partitions![0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const fetched = c.fetchOffsets({ ...defaultOffsetFetchRequest(), groupId: 'solo', topics: [{ name: 't', partitionIndexes: [0, 1] }] }, meta(7), () => []);
  const parts = fetched.response!.topics![0]!.partitions!;
  assert.equal(parts[0]!.committedOffset, 42n);
  assert.equal(parts[1]!.committedOffset, -1n);

  // A new coordinator replaying the records sees the same offsets.
  const replayed = coordinator();
  replayed.replay(e.records.length > 0 ? e.records[0]!.key : commit(-1, '', 42n).records[0]!.key, commit(-1, '', 44n).records[0]!.value, 2000);
  const f2 = replayed.fetchOffsets({ ...defaultOffsetFetchRequest(), groupId: 'solo', topics: null }, meta(7), () => []);
  assert.equal(f2.response!.topics![0]!.partitions![0]!.committedOffset, 44n);
});

test('offsets of an empty group expire after offsets.retention; DeleteGroups refuses a non-empty group', () => {
  const c = coordinator({ offsetsRetentionMs: 1000 });
  c.commitOffsets({ ...defaultOffsetCommitRequest(), groupId: 'old', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }] }, meta(8), 0, () => true);
  assert.equal(c.tick(500).records.length, 0);
  const e = c.tick(1500);
  const rec = parseOffsetsTopicRecord(e.records[0]!.key, e.records[0]!.value);
  assert.ok(rec.kind === 'offset' && rec.value === null, 'a tombstone');
  c.join(joinReq(), meta(3), 2000);
  assert.equal(c.deleteGroups({ groupsNames: ['g', 'missing'] }, 2000).response!.results!.map((r) => r.errorCode).join(), `${ErrorCode.NON_EMPTY_GROUP},${ErrorCode.GROUP_ID_NOT_FOUND}`);
});

test('groups map to __consumer_offsets partitions as Kafka does (Java String.hashCode)', () => {
  // Values computed with Java: Math.abs("analytics-group".hashCode()) % 50, etc.
  const javaHash = (s: string): number => {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
    return h;
  };
  assert.equal(javaHash('hello'), 99162322);
  assert.equal(offsetsPartitionFor('hello', 50), 99162322 % 50);
  assert.equal(javaHash('polygenelubricants'), -2147483648);
  assert.equal(offsetsPartitionFor('polygenelubricants', 50), 0);
});
