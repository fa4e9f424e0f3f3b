// Transactional offset commits (KIP-98 TxnOffsetCommit, KIP-447) in the pure group coordinator:
// offsets are pending per (group, producer) until the producer's marker reaches the group's
// __consumer_offsets partition; OffsetFetch with require_stable reports UNSTABLE_OFFSET_COMMIT meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCoordinator, type Effects, type TxnOffsetAppend } from '../../src/coordinator/group/group-coordinator.js';
import { groupMetadataRecord, offsetCommitRecord, offsetsPartitionFor, parseOffsetsTopicRecord } from '../../src/coordinator/group/offsets-topic-records.js';
import { defaultJoinGroupRequest } from '../../src/protocol/generated/join-group.js';
import { defaultSyncGroupRequest } from '../../src/protocol/generated/sync-group.js';
import { defaultOffsetCommitRequest } from '../../src/protocol/generated/offset-commit.js';
import { defaultOffsetFetchRequest, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.js';
import { defaultTxnOffsetCommitRequest, type TxnOffsetCommitRequest } from '../../src/protocol/generated/txn-offset-commit.js';
import { defaultDeleteGroupsRequest } from '../../src/protocol/generated/delete-groups.js';
import { defaultOffsetDeleteRequest } from '../../src/protocol/generated/offset-delete.js';
import type { Encodable } from '../../src/protocol/encodable.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const PARTITIONS = 50;
const RETENTION = 7 * 24 * 3600_000;
const CONFIG = { minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 300000, initialRebalanceDelayMs: 0, offsetsRetentionMs: RETENTION, offsetMetadataMaxBytes: 64, maxGroupSize: 10, offsetsTopicPartitions: PARTITIONS };
const GP = offsetsPartitionFor('g', PARTITIONS);
const exists = () => true;

function coordinator(): GroupCoordinator {
  let n = 0;
  return new GroupCoordinator(CONFIG, () => `uuid-${++n}`);
}

let token = 0;
const meta = (version: number) => ({ version, clientId: 'c', clientHost: '/127.0.0.1', token: ++token });

function txnReq(offsets: Array<[string, number, bigint]>, extra: Partial<TxnOffsetCommitRequest> = {}): TxnOffsetCommitRequest {
  const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }>>();
  for (const [topic, partition, offset] of offsets) {
    const list = byTopic.get(topic) ?? [];
    list.push({ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: 3, committedMetadata: 'm' });
    byTopic.set(topic, list);
  }
  return { ...defaultTxnOffsetCommitRequest(), transactionalId: 'tx', groupId: 'g', producerId: 1000n, producerEpoch: 0, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })), ...extra };
}

/** A TxnOffsetCommit whose records the runtime appended successfully. */
function txnCommit(c: GroupCoordinator, offsets: Array<[string, number, bigint]>, extra: Partial<TxnOffsetCommitRequest> = {}, version = 3): Effects<Encodable<object>> {
  const e = c.handleTxnOffsetCommit(txnReq(offsets, extra), meta(version), 1000, exists);
  if (e.txnAppend !== undefined) c.txnOffsetsAppended(e.txnAppend);
  return e;
}

function plainCommit(c: GroupCoordinator, topic: string, partition: number, offset: bigint): void {
  const e = c.commitOffsets(
    { ...defaultOffsetCommitRequest(), groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' }] }] },
    meta(8),
    1000,
    exists,
  );
  assert.equal(e.response!.topics![0]!.partitions![0]!.errorCode, 0);
}

type Part = { partitionIndex: number; committedOffset: bigint; errorCode: number; metadata: string; committedLeaderEpoch: number };
function fetch(c: GroupCoordinator, topic: string, partitions: number[], requireStable: boolean, version = 7): { errorCode: number; partitions: Part[] } {
  const r = c.fetchOffsets({ ...defaultOffsetFetchRequest(), groupId: 'g', topics: [{ name: topic, partitionIndexes: partitions }], requireStable }, meta(version), () => []).response as Encodable<OffsetFetchResponse>;
  return { errorCode: r.errorCode!, partitions: r.topics![0]!.partitions as Part[] };
}
const offsetOf = (c: GroupCoordinator, topic: string, partition: number, requireStable = false) => fetch(c, topic, [partition], requireStable).partitions[0]!;

function codes(e: Effects<Encodable<object>>): number[] {
  const r = e.response as { topics: Array<{ partitions: Array<{ errorCode: number }> }> };
  return r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

/** A Stable group 'g' with one member at generation 1; returns its member id. */
function stableGroup(c: GroupCoordinator, groupInstanceId: string | null = null): string {
  c.join({ ...defaultJoinGroupRequest(), groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, memberId: '', groupInstanceId, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('m') }] }, meta(3), 0);
  const id = c.group('g')!.members.keys().next().value as string;
  c.sync({ ...defaultSyncGroupRequest(), groupId: 'g', generationId: 1, memberId: id, assignments: [{ memberId: id, assignment: Buffer.from('a') }] }, meta(3), 1);
  assert.equal(c.group('g')!.state, 'Stable');
  return id;
}

test('a transactional offset is pending: invisible without require_stable, UNSTABLE_OFFSET_COMMIT with it', () => {
  const c = coordinator();
  plainCommit(c, 't', 0, 5n);
  const e = txnCommit(c, [['t', 0, 10n], ['t', 1, 20n]]);
  assert.deepEqual(codes(e), [0, 0]);
  // One record per partition in OffsetCommit's layout, all marked for one batch of the producer.
  assert.equal(e.records.length, 2);
  for (const r of e.records) assert.deepEqual(r.transactional, { producerId: 1000, producerEpoch: 0 });
  const parsed = parseOffsetsTopicRecord(e.records[0]!.key, e.records[0]!.value);
  assert.equal(parsed.kind, 'offset');
  assert.equal(parsed.kind === 'offset' && parsed.value?.offset, 10n);
  assert.equal(parsed.kind === 'offset' && parsed.value?.leaderEpoch, 3);

  // Without require_stable: the last committed offset (5 for t-0, none for t-1).
  const loose = fetch(c, 't', [0, 1], false);
  assert.equal(loose.errorCode, 0);
  assert.deepEqual(loose.partitions.map((p) => [p.committedOffset, p.errorCode]), [[5n, 0], [-1n, 0]]);
  // With require_stable (v7): per partition UNSTABLE_OFFSET_COMMIT, offset -1; the top-level error stays NONE.
  const stable = fetch(c, 't', [0, 1, 2], true);
  assert.equal(stable.errorCode, 0);
  assert.deepEqual(stable.partitions.map((p) => [p.committedOffset, p.committedLeaderEpoch, p.metadata, p.errorCode]), [
    [-1n, -1, '', ErrorCode.UNSTABLE_OFFSET_COMMIT],
    [-1n, -1, '', ErrorCode.UNSTABLE_OFFSET_COMMIT],
    [-1n, -1, '', 0],
  ]);
  // Before v7 there is no require_stable: the flag is ignored.
  assert.equal(fetch(c, 't', [0], true, 6).partitions[0]!.committedOffset, 5n);
  // v8+ (groups array): the group-level error stays NONE too.
  const v8 = c.fetchOffsets({ ...defaultOffsetFetchRequest(), groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: [{ name: 't', partitionIndexes: [0] }] }], requireStable: true }, meta(8), () => [])
    .response as { groups: Array<{ errorCode: number; topics: Array<{ partitions: Part[] }> }> };
  assert.equal(v8.groups[0]!.errorCode, 0);
  assert.equal(v8.groups[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
  // All offsets (null topics): committed partitions only, pending ones unstable.
  const all = c.fetchOffsets({ ...defaultOffsetFetchRequest(), groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: null }], requireStable: true }, meta(8), () => [])
    .response as { groups: Array<{ topics: Array<{ name: string; partitions: Part[] }> }> };
  assert.deepEqual(all.groups[0]!.topics.map((t) => t.partitions.map((p) => [p.partitionIndex, p.errorCode])), [[[0, ErrorCode.UNSTABLE_OFFSET_COMMIT]]]);
});

test('a COMMIT marker materializes the producer\'s offsets; an ABORT drops them and keeps the committed ones', () => {
  const c = coordinator();
  plainCommit(c, 't', 0, 5n);
  txnCommit(c, [['t', 0, 10n], ['t', 1, 20n]]);
  c.completeTransaction(GP, 1000, true);
  assert.deepEqual([offsetOf(c, 't', 0, true).committedOffset, offsetOf(c, 't', 1, true).committedOffset], [10n, 20n]);
  assert.equal(offsetOf(c, 't', 0, true).metadata, 'm');
  assert.equal(offsetOf(c, 't', 0, true).committedLeaderEpoch, 3);
  assert.deepEqual(c.pendingTxnProducers('g'), []);

  txnCommit(c, [['t', 0, 30n], ['t', 2, 40n]], { producerEpoch: 1 });
  c.completeTransaction(GP, 1000, false);
  assert.deepEqual([0, 1, 2].map((p) => [offsetOf(c, 't', p, true).committedOffset, offsetOf(c, 't', p, true).errorCode]), [[10n, 0], [20n, 0], [-1n, 0]]);
  assert.deepEqual(c.pendingTxnProducers('g'), []);
});

test('a marker completes only its producer, and only in the groups of its offsets partition', () => {
  const c = coordinator();
  // A group on another partition than 'g'.
  let other = 'h';
  for (let i = 0; offsetsPartitionFor(other, PARTITIONS) === GP; i++) other = `h${i}`;
  txnCommit(c, [['t', 0, 10n]]);
  txnCommit(c, [['t', 1, 11n]], { producerId: 2000n });
  txnCommit(c, [['t', 0, 12n]], { groupId: other });
  let unrelated = 0;
  while (unrelated === GP || unrelated === offsetsPartitionFor(other, PARTITIONS)) unrelated++;
  c.completeTransaction(unrelated, 1000, true);
  assert.equal(offsetOf(c, 't', 0, true).errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT, 'a marker on an unrelated partition changes nothing');
  c.completeTransaction(GP, 1000, true);
  assert.equal(offsetOf(c, 't', 0, true).committedOffset, 10n);
  assert.equal(offsetOf(c, 't', 1, true).errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT, 'producer 2000 is still pending');
  assert.deepEqual(c.pendingTxnProducers(other), [1000], 'the same producer in a group of another partition waits for that partition\'s marker');
  c.completeTransaction(offsetsPartitionFor(other, PARTITIONS), 1000, true);
  assert.equal(c.fetchOffsets({ ...defaultOffsetFetchRequest(), groupId: other, topics: [{ name: 't', partitionIndexes: [0] }], requireStable: true }, meta(7), () => []).response!.topics![0]!.partitions![0]!.committedOffset, 12n);
});

test('commit keeps whichever record is later: a plain commit after the transactional one wins', () => {
  const c = coordinator();
  plainCommit(c, 't', 0, 5n);
  txnCommit(c, [['t', 0, 10n], ['t', 1, 20n]]);
  plainCommit(c, 't', 1, 25n); // written after the transactional record
  c.completeTransaction(GP, 1000, true);
  assert.equal(offsetOf(c, 't', 0).committedOffset, 10n, 'the transactional record follows the plain 5');
  assert.equal(offsetOf(c, 't', 1).committedOffset, 25n, 'the plain 25 follows the transactional 20');
});

test('offsets whose append has not finished stay pending through a marker; a failed append removes them', () => {
  const c = coordinator();
  txnCommit(c, [['t', 0, 10n]]);
  const inflight = c.handleTxnOffsetCommit(txnReq([['t', 0, 11n], ['t', 1, 21n]]), meta(3), 1000, exists);
  const a = inflight.txnAppend as TxnOffsetAppend;
  assert.equal(a.entries.length, 2);
  // The marker lands between the first append and the second: it completes only 10.
  c.completeTransaction(GP, 1000, true);
  assert.equal(offsetOf(c, 't', 0).committedOffset, 10n);
  assert.equal(offsetOf(c, 't', 0, true).errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT, '11 is still in flight');
  c.txnOffsetsFailed(a);
  assert.equal(offsetOf(c, 't', 0, true).committedOffset, 10n);
  assert.equal(offsetOf(c, 't', 1, true).errorCode, 0);
  assert.deepEqual(c.pendingTxnProducers('g'), []);
  // Appended twice for one partition before the marker: the later value wins.
  txnCommit(c, [['t', 0, 12n]]);
  txnCommit(c, [['t', 0, 13n]]);
  c.completeTransaction(GP, 1000, true);
  assert.equal(offsetOf(c, 't', 0).committedOffset, 13n);
});

test('validation: group id, metadata size, unknown partitions', () => {
  const c = coordinator();
  assert.deepEqual(codes(c.handleTxnOffsetCommit(txnReq([['t', 0, 1n]], { groupId: '' }), meta(3), 0, exists)), [ErrorCode.INVALID_GROUP_ID]);
  const long = txnReq([['t', 0, 1n], ['t', 1, 1n], ['u', 0, 1n]]);
  long.topics[0]!.partitions[0]!.committedMetadata = 'x'.repeat(65);
  const e = c.handleTxnOffsetCommit(long, meta(3), 0, (topic) => topic === 't');
  assert.deepEqual(codes(e), [ErrorCode.OFFSET_METADATA_TOO_LARGE, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.equal(e.records.length, 1, 'only the valid partition is written');
  assert.equal(e.txnAppend?.entries.length, 1);
  // Nothing valid: nothing to append, no group created.
  const none = c.handleTxnOffsetCommit(txnReq([['u', 0, 1n]], { groupId: 'nothing' }), meta(3), 0, (topic) => topic === 't');
  assert.equal(none.txnAppend, undefined);
  assert.equal(c.group('nothing'), undefined);
  // v0-1 have no leader epoch.
  const v1 = c.handleTxnOffsetCommit(txnReq([['t', 2, 1n]], { groupId: 'old' }), meta(1), 0, exists);
  const rec = parseOffsetsTopicRecord(v1.records[0]!.key, v1.records[0]!.value);
  assert.equal(rec.kind === 'offset' && rec.value?.leaderEpoch, -1);
});

test('generation checks (v3+, KIP-447) follow Kafka\'s validateOffsetCommit for transactional commits', () => {
  const c = coordinator();
  // A group that does not exist is created Empty for a commit without member (simple use) ...
  assert.deepEqual(codes(txnCommit(c, [['t', 0, 1n]], { groupId: 'simple' })), [0]);
  assert.equal(c.group('simple')!.state, 'Empty');
  // ... but a member of a group that does not exist is unknown, and no group is created for it.
  assert.deepEqual(codes(c.handleTxnOffsetCommit(txnReq([['t', 0, 1n]], { groupId: 'ghost', generationId: 1, memberId: 'm' }), meta(3), 0, exists)), [ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.equal(c.group('ghost'), undefined);

  const id = stableGroup(c, 'inst');
  const check = (extra: Partial<TxnOffsetCommitRequest>, version = 3) => codes(c.handleTxnOffsetCommit(txnReq([['t', 0, 1n]], extra), meta(version), 2, exists))[0];
  assert.equal(check({ generationId: 1, memberId: id, groupInstanceId: 'inst' }), 0);
  assert.equal(check({ generationId: 2, memberId: id }), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(check({ generationId: 1, memberId: 'someone-else' }), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(check({ generationId: 1, memberId: 'someone-else', groupInstanceId: 'inst' }), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(check({ generationId: -1, memberId: id }), ErrorCode.ILLEGAL_GENERATION, 'a member must name its generation');
  // Without generation, member or instance the commit is accepted even though the group has members
  // (transactional commits of older producers carry none), unlike OffsetCommit's UNKNOWN_MEMBER_ID.
  assert.equal(check({ generationId: -1, memberId: '' }), 0);
  // Before v3 those fields do not exist on the wire: whatever they hold is ignored.
  assert.equal(check({ generationId: 7, memberId: 'stale' }, 2), 0);
});

test('offsets with a pending transactional offset do not expire, nor does a group holding only pending offsets', () => {
  const c = coordinator();
  plainCommit(c, 't', 0, 5n);
  plainCommit(c, 't', 1, 6n);
  txnCommit(c, [['t', 0, 10n]]);
  txnCommit(c, [['t', 9, 90n]], { groupId: 'only-pending' });
  const later = 1000 + RETENTION + 1;
  const e = c.tick(later);
  const expired = e.records.map((r) => parseOffsetsTopicRecord(r.key, r.value)).filter((r) => r.kind === 'offset').map((r) => r.kind === 'offset' && `${r.group}/${r.topic}-${r.partition}`);
  assert.deepEqual(expired, ['g/t-1'], 't-0 waits for its transaction');
  assert.notEqual(c.group('only-pending'), undefined);
  assert.equal(offsetOf(c, 't', 0).committedOffset, 5n);
  // No busy loop: nothing left to expire before a marker.
  assert.equal(c.nextDeadline(), null);
  c.completeTransaction(GP, 1000, false);
  c.completeTransaction(offsetsPartitionFor('only-pending', PARTITIONS), 1000, false);
  assert.ok(c.nextDeadline() !== null && c.nextDeadline()! <= later);
  c.tick(later);
  assert.equal(c.group('only-pending'), undefined);
  assert.equal(offsetOf(c, 't', 0).committedOffset, -1n, 'once aborted, the old offset expires');
});

test('deleting a group or an offset tombstones committed and pending offsets alike; an append in flight keeps the group', () => {
  const c = coordinator();
  plainCommit(c, 't', 0, 5n);
  txnCommit(c, [['t', 0, 10n], ['t', 1, 20n]]);
  const del = c.deleteOffsets({ ...defaultOffsetDeleteRequest(), groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 1 }, { partitionIndex: 2 }] }] });
  assert.deepEqual(del.records.map((r) => r.value), [null], 't-1 (pending) is tombstoned, t-2 (nothing) is not');
  assert.equal(offsetOf(c, 't', 1, true).errorCode, 0);
  c.completeTransaction(GP, 1000, true);
  assert.equal(offsetOf(c, 't', 1).committedOffset, -1n, 'the deleted pending offset does not come back at commit');
  assert.equal(offsetOf(c, 't', 0).committedOffset, 10n);

  txnCommit(c, [['t', 3, 30n]]);
  const inflight = c.handleTxnOffsetCommit(txnReq([['t', 4, 40n]]), meta(3), 1000, exists).txnAppend!;
  const e = c.deleteGroups({ ...defaultDeleteGroupsRequest(), groupsNames: ['g'] }, 2000);
  assert.equal((e.response as { results: Array<{ errorCode: number }> }).results[0]!.errorCode, 0);
  const keys = e.records.map((r) => parseOffsetsTopicRecord(r.key, r.value)).map((r) => (r.kind === 'offset' ? `${r.topic}-${r.partition}` : r.kind));
  assert.deepEqual(keys.sort(), ['group', 't-0', 't-3']);
  assert.notEqual(c.group('g'), undefined, 'the in-flight append lands after the tombstones and keeps the group');
  c.txnOffsetsAppended(inflight);
  c.completeTransaction(GP, 1000, true);
  assert.deepEqual([0, 3, 4].map((p) => offsetOf(c, 't', p).committedOffset), [-1n, -1n, 40n]);
  // Without anything in flight the group goes at once.
  const c2 = coordinator();
  txnCommit(c2, [['t', 0, 1n]]);
  c2.deleteGroups({ ...defaultDeleteGroupsRequest(), groupsNames: ['g'] }, 2000);
  assert.equal(c2.group('g'), undefined);
  c2.completeTransaction(GP, 1000, true);
  assert.equal(c2.group('g'), undefined);
});

test('replay: transactional records are pending until their producer\'s marker; open ones stay pending', () => {
  const c = coordinator();
  const value = (offset: bigint) => ({ offset, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: null });
  const rec = (partition: number, offset: bigint | null) => offsetCommitRecord('g', 't', partition, offset === null ? null : value(offset));
  const replay = (r: ReturnType<typeof rec>, producerId: number | null) => c.replay(r.key, r.value, 0, producerId);
  replay(rec(0, 1n), null);
  replay(rec(0, 2n), 1000); // committed below
  replay(rec(1, 3n), 2000); // aborted below
  replay(rec(2, 4n), 3000); // never completed
  replay(rec(3, 5n), 1000);
  replay(rec(3, 6n), null); // plain record after the transactional one: it wins
  c.completeTransaction(GP, 1000, true);
  c.completeTransaction(GP, 2000, false);
  assert.deepEqual([0, 1, 2, 3].map((p) => offsetOf(c, 't', p).committedOffset), [2n, -1n, -1n, 6n]);
  assert.deepEqual([0, 1, 2, 3].map((p) => offsetOf(c, 't', p, true).errorCode), [0, 0, ErrorCode.UNSTABLE_OFFSET_COMMIT, 0]);
  assert.deepEqual(c.pendingTxnProducers('g'), [3000]);
  // A plain tombstone removes the pending offsets recorded before it (Kafka's replay).
  replay(rec(2, null), null);
  assert.equal(offsetOf(c, 't', 2, true).errorCode, 0);
  c.completeTransaction(GP, 3000, true);
  assert.equal(offsetOf(c, 't', 2).committedOffset, -1n);
  // A group whose only offsets are pending survives its metadata tombstone.
  const d = coordinator();
  const r = offsetCommitRecord('p', 't', 0, value(7n));
  d.replay(r.key, r.value, 0, 4000);
  const tombstone = groupMetadataRecord('p', null, 0);
  d.replay(tombstone.key, tombstone.value, 0);
  assert.notEqual(d.group('p'), undefined);
  assert.deepEqual(d.pendingTxnProducers('p'), [4000]);
});
