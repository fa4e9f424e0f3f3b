import { ErrorCode } from '../../protocol/errors.js';
import type { Encodable } from '../../protocol/encodable.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../../protocol/generated/join-group.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../../protocol/generated/sync-group.js';
import type { HeartbeatRequest, HeartbeatResponse } from '../../protocol/generated/heartbeat.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from '../../protocol/generated/leave-group.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/generated/offset-commit.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../../protocol/generated/offset-fetch.js';
import type { ListGroupsRequest, ListGroupsResponse } from '../../protocol/generated/list-groups.js';
import type { DescribeGroupsRequest, DescribeGroupsResponse } from '../../protocol/generated/describe-groups.js';
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/generated/delete-groups.js';
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../../protocol/generated/offset-delete.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../protocol/generated/txn-offset-commit.js';
import { Reader } from '../../protocol/reader.js';
import { decodeConsumerProtocolSubscription } from '../../protocol/generated/consumer-protocol-subscription.js';
import { Group, type CommittedOffset, type Member, type OrderedOffset, type PendingTxnOffset } from './group.js';
import { groupMetadataRecord, offsetCommitRecord, offsetsPartitionFor, parseOffsetsTopicRecord, type OffsetsTopicRecord } from './offsets-topic-records.js';

export interface GroupCoordinatorConfig {
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly initialRebalanceDelayMs: number;
  /** Offsets of an Empty group expire this long after their commit (offsets.retention.minutes). */
  readonly offsetsRetentionMs: number;
  /** Largest metadata string an offset commit may carry (offset.metadata.max.bytes). */
  readonly offsetMetadataMaxBytes: number;
  /** group.max.size. */
  readonly maxGroupSize: number;
  /** offsets.topic.num.partitions: a transaction marker completes the groups of its partition only. */
  readonly offsetsTopicPartitions: number;
}

/** Groups one coordinator holds; beyond it new groups are refused (a named bound, not a Kafka key). */
export const GROUPS_MAX = 100_000;

/** A reply to a request that was parked (JoinGroup, SyncGroup) and completed later. */
export interface Reply {
  readonly token: number;
  readonly response: object;
}

/**
 * The outcome of one input: records to append to __consumer_offsets (in order, before any reply is
 * sent), replies to parked requests, and, for requests answered at once, the response.
 */
export interface Effects<R = object> {
  readonly records: OffsetsTopicRecord[];
  readonly replies: Reply[];
  /** Undefined when the request was parked: its reply comes in a later Effects. */
  readonly response?: R;
  /** TxnOffsetCommit: the pending offsets whose records are `records`; report the append's outcome. */
  readonly txnAppend?: TxnOffsetAppend;
}

/**
 * The offsets one TxnOffsetCommit made pending. The runtime appends the records as one transactional
 * batch, then calls `txnOffsetsAppended` (synchronously after the append, before any marker can follow
 * it) or `txnOffsetsFailed`.
 */
export interface TxnOffsetAppend {
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly entries: ReadonlyArray<{ readonly key: string; readonly offset: OrderedOffset }>;
}

export interface RequestMeta {
  readonly version: number;
  readonly clientId: string;
  readonly clientHost: string;
  /** Identifies this request if it has to wait; echoed in the Reply. */
  readonly token: number;
}

/** Topic-partitions a group's consumers are subscribed to, for OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC. */
function subscribedTopics(group: Group): Set<string> {
  const topics = new Set<string>();
  if (group.protocolType !== 'consumer') return topics;
  for (const m of group.members.values()) {
    const meta = m.protocols.find((p) => p.name === group.protocol)?.metadata;
    if (meta === undefined || meta.length < 2) continue;
    const r = new Reader(meta);
    const version = r.int16();
    const sub = decodeConsumerProtocolSubscription(r, Math.min(Math.max(version, 0), 3));
    if (r.ok) for (const t of sub.topics) topics.add(t);
  }
  return topics;
}

/**
 * Kafka's GroupCoordinator.validateOffsetCommit with isTransactional = true. Versions before 3 carry
 * no member: any such commit is accepted (the transaction coordinator fences zombies by epoch). From
 * v3 (KIP-447) a request naming a generation, member or instance must match the group's current
 * member and generation. Unlike OffsetCommit there is no REBALANCE_IN_PROGRESS and no session refresh.
 */
function validateTxnOffsetCommit(g: Group | undefined, req: TxnOffsetCommitRequest, version: number): number {
  const generationId = version >= 3 ? req.generationId : -1;
  const memberId = version >= 3 ? req.memberId : '';
  const groupInstanceId = version >= 3 ? req.groupInstanceId : null;
  const state = g?.state ?? 'Empty';
  if (state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (generationId < 0 && state === 'Empty') return 0;
  if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
    if (groupInstanceId !== null) {
      const current = g?.staticMember(groupInstanceId);
      if (current !== undefined && current.memberId !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    if (g === undefined || !g.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== g.generation) return ErrorCode.ILLEGAL_GENERATION;
  }
  return 0;
}

/**
 * Kafka's classic group coordinator as a pure state machine. Inputs are decoded requests and the
 * passage of time (`tick`); outputs are records for __consumer_offsets and responses. It never
 * touches a socket, a file or a timer: the broker appends the records, delivers the replies, and calls
 * `tick` at `nextDeadline()`. `replay` rebuilds the state from the records after a restart.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private memberSeq = 0;
  /**
   * Position of each offset record among those this coordinator wrote or replayed. Records reach the
   * log in the order they are emitted (the runtime appends them one effect after another), so this is
   * the log order Kafka compares when a transaction's offsets meet plain commits of the same partition.
   */
  private recordOrder = 0;
  /** producer id -> groups holding its pending transactional offsets (Kafka's openGroupsForProducer). */
  private readonly producerGroups = new Map<number, Set<string>>();

  constructor(private readonly config: GroupCoordinatorConfig, private readonly newMemberSuffix: () => string) {}

  // ---------- replay ----------

  /**
   * Replay one record of __consumer_offsets. `transactionalProducerId` is the producer of the
   * transactional batch holding it (null for a plain batch): such offsets stay pending until that
   * producer's marker is replayed with `completeTransaction`.
   */
  replay(key: Buffer, value: Buffer | null, now: number, transactionalProducerId: number | null = null): void {
    const rec = parseOffsetsTopicRecord(key, value);
    const order = ++this.recordOrder;
    if (rec.kind === 'offset') {
      const offsetKey = Group.offsetKey(rec.topic, rec.partition);
      const g = rec.value === null ? this.groups.get(rec.group) : this.getOrCreate(rec.group, now);
      if (g === undefined) return;
      if (transactionalProducerId !== null) {
        if (rec.value !== null) this.pendingSlot(g, transactionalProducerId, offsetKey).appended = { value: rec.value, order };
        else {
          // Kafka's loader: a tombstone inside a transaction removes that producer's pending offset.
          const slot = g.pendingTxnOffsets.get(transactionalProducerId)?.get(offsetKey);
          if (slot !== undefined) slot.appended = null;
          this.dropSlotIfEmpty(g, transactionalProducerId, offsetKey);
        }
        return;
      }
      if (rec.value === null) this.removeOffset(g, offsetKey);
      else g.setOffset(offsetKey, rec.value, order);
    } else if (rec.kind === 'group') {
      if (rec.value === null) {
        const g = this.groups.get(rec.group);
        if (g !== undefined) {
          g.members.clear();
          g.generation = 0;
          g.protocol = null;
          g.protocolType = null;
          g.leader = null;
          if (!g.hasOffsets()) this.groups.delete(rec.group);
        }
        return;
      }
      const g = this.getOrCreate(rec.group, now);
      const v = rec.value;
      g.generation = v.generation;
      g.protocolType = v.protocolType === '' ? null : v.protocolType;
      g.protocol = v.protocol;
      g.leader = v.leader;
      g.members.clear();
      for (const m of v.members) {
        g.members.set(m.memberId, {
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          sessionTimeoutMs: m.sessionTimeout,
          rebalanceTimeoutMs: m.rebalanceTimeout,
          protocolType: v.protocolType,
          protocols: [{ name: v.protocol ?? '', metadata: m.subscription }],
          assignment: m.assignment,
          // After a restart members get one session to come back, as in Kafka.
          sessionDeadline: now + m.sessionTimeout,
          pendingJoin: null,
          pendingJoinVersion: 0,
          pendingSync: null,
        });
      }
      g.setState(g.members.size === 0 ? 'Empty' : 'Stable', now);
    }
  }

  // ---------- queries ----------

  group(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  /** The earliest time `tick` has work to do, or null. */
  nextDeadline(): number | null {
    let next: number | null = null;
    const consider = (t: number | null): void => {
      if (t !== null && (next === null || t < next)) next = t;
    };
    for (const g of this.groups.values()) {
      consider(g.phaseDeadline);
      consider(g.initialDelayUntil);
      for (const m of g.members.values()) if (m.pendingJoin === null) consider(m.sessionDeadline);
      if (g.state === 'Empty') consider(this.expiryOf(g));
    }
    return next;
  }

  // ---------- time ----------

  tick(now: number): Effects {
    const records: OffsetsTopicRecord[] = [];
    const replies: Reply[] = [];
    for (const g of [...this.groups.values()]) {
      // Session expiry: a member that neither heartbeats nor waits in a join leaves the group.
      for (const m of [...g.members.values()]) {
        if (m.pendingJoin === null && m.sessionDeadline <= now) this.removeMember(g, m, now, records, replies);
      }
      if (g.state === 'PreparingRebalance') {
        const allJoined = [...g.members.values()].every((m) => m.pendingJoin !== null);
        const delayOver = g.initialDelayUntil === null || g.initialDelayUntil <= now;
        if ((allJoined && delayOver) || (g.phaseDeadline !== null && g.phaseDeadline <= now)) this.completeRebalance(g, now, records, replies);
      } else if (g.state === 'CompletingRebalance' && g.phaseDeadline !== null && g.phaseDeadline <= now) {
        // The leader never sent its assignment: everyone who has not synced is out, and we start over.
        for (const m of [...g.members.values()]) if (m.pendingSync === null) this.removeMember(g, m, now, records, replies);
        if (g.state === 'CompletingRebalance') this.prepareRebalance(g, now, replies);
      }
      for (const [id, deadline] of g.pendingMemberIds) if (deadline <= now) g.pendingMemberIds.delete(id);
      if (g.state === 'Empty') this.expireOffsets(g, now, records);
    }
    return { records, replies };
  }

  /**
   * When the next of an Empty group's offsets (or the group itself) expires, or null. As in Kafka, an
   * offset with a pending transactional offset does not expire (its tombstone would also remove the
   * pending offset), nor does a group with pending offsets: the transaction's marker reschedules.
   */
  private expiryOf(g: Group): number | null {
    let next = g.pendingTxnOffsets.size > 0 ? null : g.stateTimestamp + this.config.offsetsRetentionMs;
    for (const [key, o] of g.offsets) {
      if (g.hasPendingTxnOffset(key)) continue;
      const at = this.offsetExpiry(g, o);
      if (next === null || at < next) next = at;
    }
    return next;
  }

  private offsetExpiry(g: Group, o: CommittedOffset): number {
    return o.expireTimestamp ?? Math.max(o.commitTimestamp, g.stateTimestamp) + this.config.offsetsRetentionMs;
  }

  private expireOffsets(g: Group, now: number, records: OffsetsTopicRecord[]): void {
    for (const [key, o] of g.offsets) {
      if (g.hasPendingTxnOffset(key)) continue;
      const expiry = this.offsetExpiry(g, o);
      if (expiry <= now) {
        const [topic, partition] = key.split('\u0000') as [string, string];
        g.deleteOffset(key);
        records.push(offsetCommitRecord(g.groupId, topic, Number(partition), null));
      }
    }
    // An empty group with nothing committed or pending is forgotten once it has been empty for the retention.
    if (!g.hasOffsets() && g.members.size === 0 && now - g.stateTimestamp >= this.config.offsetsRetentionMs) {
      records.push(groupMetadataRecord(g.groupId, null, now));
      this.groups.delete(g.groupId);
    }
  }

  // ---------- membership ----------

  private getOrCreate(groupId: string, now: number): Group {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = new Group(groupId, now);
      this.groups.set(groupId, g);
    }
    return g;
  }

  private newMemberId(clientId: string): string {
    this.memberSeq++;
    return `${clientId}-${this.newMemberSuffix()}`;
  }

  private joinResponse(g: Group, m: Member, version: number): Encodable<JoinGroupResponse> {
    const isLeader = g.leader === m.memberId;
    return {
      errorCode: 0,
      generationId: g.generation,
      protocolType: g.protocolType,
      protocolName: g.protocol,
      leader: g.leader ?? '',
      skipAssignment: false,
      memberId: m.memberId,
      members: isLeader
        ? [...g.members.values()].map((x) => ({
            memberId: x.memberId,
            groupInstanceId: x.groupInstanceId,
            metadata: x.protocols.find((p) => p.name === g.protocol)?.metadata ?? Buffer.alloc(0),
          }))
        : [],
    };
    void version;
  }

  private prepareRebalance(g: Group, now: number, replies: Reply[]): void {
    if (g.state === 'CompletingRebalance') {
      // Members waiting in SyncGroup must rejoin.
      for (const m of g.members.values()) {
        if (m.pendingSync !== null) {
          replies.push({ token: m.pendingSync, response: { errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: Buffer.alloc(0) } });
          m.pendingSync = null;
        }
      }
    }
    const wasEmpty = g.state === 'Empty';
    g.setState('PreparingRebalance', now);
    g.phaseDeadline = now + Math.max(g.rebalanceTimeoutMs(), 0);
    // The first members of a new group wait a little for their peers (group.initial.rebalance.delay.ms)
    // so that a group starting up rebalances once, not once per member.
    if (wasEmpty && this.config.initialRebalanceDelayMs > 0) {
      g.initialDelayUntil = now + Math.min(this.config.initialRebalanceDelayMs, Math.max(g.rebalanceTimeoutMs(), 0));
    } else g.initialDelayUntil = null;
  }

  private completeRebalance(g: Group, now: number, records: OffsetsTopicRecord[], replies: Reply[]): void {
    // Members that did not rejoin within the rebalance timeout are removed.
    for (const m of [...g.members.values()]) {
      if (m.pendingJoin === null) {
        g.members.delete(m.memberId);
        if (g.leader === m.memberId) g.leader = null;
      }
    }
    g.initialDelayUntil = null;
    g.generation++;
    if (g.members.size === 0) {
      g.protocol = null;
      g.leader = null;
      g.setState('Empty', now);
      g.phaseDeadline = null;
      records.push(groupMetadataRecord(g.groupId, g, now));
      return;
    }
    g.protocol = g.selectProtocol();
    if (g.leader === null || !g.members.has(g.leader)) g.leader = g.members.keys().next().value ?? null;
    g.setState('CompletingRebalance', now);
    g.phaseDeadline = now + g.rebalanceTimeoutMs();
    for (const m of g.members.values()) {
      m.assignment = Buffer.alloc(0);
      replies.push({ token: m.pendingJoin!, response: this.joinResponse(g, m, m.pendingJoinVersion) });
      m.pendingJoin = null;
      m.sessionDeadline = now + m.sessionTimeoutMs;
    }
  }

  private removeMember(g: Group, m: Member, now: number, records: OffsetsTopicRecord[], replies: Reply[]): void {
    g.members.delete(m.memberId);
    if (m.pendingJoin !== null) replies.push({ token: m.pendingJoin, response: { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, memberId: m.memberId, generationId: -1, leader: '', members: [] } });
    if (m.pendingSync !== null) replies.push({ token: m.pendingSync, response: { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: Buffer.alloc(0) } });
    if (g.leader === m.memberId) g.leader = null;
    switch (g.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(g, now, replies);
        if (g.members.size === 0) this.completeRebalance(g, now, records, replies);
        break;
      case 'PreparingRebalance':
        if (g.members.size === 0) this.completeRebalance(g, now, records, replies);
        break;
      default:
        break;
    }
  }

  join(req: JoinGroupRequest, meta: RequestMeta, now: number): Effects<Encodable<JoinGroupResponse>> {
    const records: OffsetsTopicRecord[] = [];
    const replies: Reply[] = [];
    const fail = (errorCode: number, memberId = req.memberId): Effects<Encodable<JoinGroupResponse>> => ({
      records,
      replies,
      response: { errorCode, memberId, generationId: -1, leader: '', protocolName: meta.version >= 7 ? null : '', members: [] },
    });
    if (req.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs < this.config.minSessionTimeoutMs || req.sessionTimeoutMs > this.config.maxSessionTimeoutMs) return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    let g = this.groups.get(req.groupId);
    if (g === undefined) {
      if (req.memberId !== '') return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      if (this.groups.size >= GROUPS_MAX) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      g = this.getOrCreate(req.groupId, now);
    }
    if (g.state === 'Dead') return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!g.supports(req.protocolType, req.protocols)) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // v0 clients have no rebalance timeout: it equals the session timeout.
    const rebalanceTimeoutMs = meta.version >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
    const protocols = req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));

    let member: Member | undefined;
    if (req.memberId === '') {
      const instance = req.groupInstanceId;
      if (instance !== null && instance !== '') {
        // Static membership: the instance id keeps its place; a new member id fences the old one.
        const old = g.staticMember(instance);
        const memberId = this.newMemberId(meta.clientId);
        if (old !== undefined) {
          g.members.delete(old.memberId);
          if (old.pendingJoin !== null) replies.push({ token: old.pendingJoin, response: { errorCode: ErrorCode.FENCED_INSTANCE_ID, memberId: old.memberId, generationId: -1, leader: '', members: [] } });
          if (old.pendingSync !== null) replies.push({ token: old.pendingSync, response: { errorCode: ErrorCode.FENCED_INSTANCE_ID, assignment: Buffer.alloc(0) } });
          member = { ...old, memberId, pendingJoin: null, pendingSync: null, protocols, clientId: meta.clientId, clientHost: meta.clientHost, sessionTimeoutMs: req.sessionTimeoutMs, rebalanceTimeoutMs, sessionDeadline: now + req.sessionTimeoutMs };
          g.members.set(memberId, member);
          if (g.leader === old.memberId) g.leader = memberId;
          // Kafka's rule: a static member returning to a stable group keeps its assignment unless the
          // group's protocol choice would change. Its subscription bytes may differ (cooperative
          // members include owned partitions and a generation), so only the protocol names count.
          const sameProtocols = old.protocols.length === protocols.length && old.protocols.every((p, i) => p.name === protocols[i]!.name);
          if (g.state === 'Stable' && sameProtocols && g.selectProtocol() === g.protocol) {
            // A static member coming back unchanged gets its old assignment without a rebalance.
            records.push(groupMetadataRecord(g.groupId, g, now));
            return { records, replies, response: this.joinResponse(g, member, meta.version) };
          }
        } else {
          if (g.members.size >= this.config.maxGroupSize) return fail(ErrorCode.GROUP_MAX_SIZE_REACHED);
          member = this.newMember(g, memberId, req, meta, protocols, rebalanceTimeoutMs, now);
        }
      } else if (meta.version >= 4) {
        // KIP-394: hand out a member id first; the member joins again with it.
        const memberId = this.newMemberId(meta.clientId);
        g.pendingMemberIds.set(memberId, now + req.sessionTimeoutMs);
        return fail(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      } else {
        if (g.members.size >= this.config.maxGroupSize) return fail(ErrorCode.GROUP_MAX_SIZE_REACHED);
        member = this.newMember(g, this.newMemberId(meta.clientId), req, meta, protocols, rebalanceTimeoutMs, now);
      }
    } else {
      member = g.members.get(req.memberId);
      if (member === undefined) {
        if (!g.pendingMemberIds.has(req.memberId)) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
        g.pendingMemberIds.delete(req.memberId);
        if (g.members.size >= this.config.maxGroupSize) return fail(ErrorCode.GROUP_MAX_SIZE_REACHED);
        member = this.newMember(g, req.memberId, req, meta, protocols, rebalanceTimeoutMs, now);
      } else {
        if (req.groupInstanceId !== null && member.groupInstanceId !== null && req.groupInstanceId !== member.groupInstanceId) return fail(ErrorCode.FENCED_INSTANCE_ID);
        const unchanged = member.protocols.length === protocols.length && member.protocols.every((p, i) => p.name === protocols[i]!.name && p.metadata.equals(protocols[i]!.metadata));
        member.protocols = protocols;
        member.sessionTimeoutMs = req.sessionTimeoutMs;
        member.rebalanceTimeoutMs = rebalanceTimeoutMs;
        member.sessionDeadline = now + req.sessionTimeoutMs;
        // A follower rejoining a stable group with the same metadata just gets the current generation.
        if (g.state === 'Stable' && unchanged && g.leader !== member.memberId) return { records, replies, response: this.joinResponse(g, member, meta.version) };
        if (g.state === 'CompletingRebalance' && unchanged) return { records, replies, response: this.joinResponse(g, member, meta.version) };
      }
    }
    if (member.pendingJoin !== null) {
      // A duplicate join from the same member replaces the earlier one.
      replies.push({ token: member.pendingJoin, response: { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, memberId: member.memberId, generationId: -1, leader: '', members: [] } });
    }
    member.pendingJoin = meta.token;
    member.pendingJoinVersion = meta.version;
    if (g.state !== 'PreparingRebalance') this.prepareRebalance(g, now, replies);
    else g.phaseDeadline = Math.max(g.phaseDeadline ?? now, now + rebalanceTimeoutMs);
    const tickEffects = this.tick(now);
    return { records: [...records, ...tickEffects.records], replies: [...replies, ...tickEffects.replies] };
  }

  private newMember(g: Group, memberId: string, req: JoinGroupRequest, meta: RequestMeta, protocols: Member['protocols'], rebalanceTimeoutMs: number, now: number): Member {
    const m: Member = {
      memberId,
      groupInstanceId: req.groupInstanceId === '' ? null : req.groupInstanceId,
      clientId: meta.clientId,
      clientHost: meta.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols,
      assignment: Buffer.alloc(0),
      sessionDeadline: now + req.sessionTimeoutMs,
      pendingJoin: null,
      pendingJoinVersion: meta.version,
      pendingSync: null,
    };
    if (g.members.size === 0) g.protocolType = req.protocolType;
    g.members.set(memberId, m);
    return m;
  }

  sync(req: SyncGroupRequest, meta: RequestMeta, now: number): Effects<Encodable<SyncGroupResponse>> {
    const records: OffsetsTopicRecord[] = [];
    const replies: Reply[] = [];
    const fail = (errorCode: number): Effects<Encodable<SyncGroupResponse>> => ({ records, replies, response: { errorCode, assignment: Buffer.alloc(0) } });
    const g = this.groups.get(req.groupId);
    if (g === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    const m = g.members.get(req.memberId);
    if (m === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.groupInstanceId !== null && m.groupInstanceId !== null && req.groupInstanceId !== m.groupInstanceId) return fail(ErrorCode.FENCED_INSTANCE_ID);
    if (req.generationId !== g.generation) return fail(ErrorCode.ILLEGAL_GENERATION);
    // v5+ names the protocol it synced on; it must be the group's.
    if ((req.protocolType !== null && req.protocolType !== g.protocolType) || (req.protocolName !== null && req.protocolName !== g.protocol)) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    m.sessionDeadline = now + m.sessionTimeoutMs;
    switch (g.state) {
      case 'Empty':
      case 'Dead':
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      case 'PreparingRebalance':
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        return { records, replies, response: { errorCode: 0, protocolType: g.protocolType, protocolName: g.protocol, assignment: m.assignment } };
      case 'CompletingRebalance': {
        m.pendingSync = meta.token;
        if (g.leader === m.memberId) {
          const given = new Map(req.assignments.map((a) => [a.memberId, Buffer.from(a.assignment)]));
          for (const x of g.members.values()) x.assignment = given.get(x.memberId) ?? Buffer.alloc(0);
          records.push(groupMetadataRecord(g.groupId, g, now));
          g.setState('Stable', now);
          g.phaseDeadline = null;
          for (const x of g.members.values()) {
            if (x.pendingSync !== null) {
              replies.push({ token: x.pendingSync, response: { errorCode: 0, protocolType: g.protocolType, protocolName: g.protocol, assignment: x.assignment } });
              x.pendingSync = null;
            }
          }
        }
        return { records, replies };
      }
    }
  }

  heartbeat(req: HeartbeatRequest, now: number): Effects<Encodable<HeartbeatResponse>> {
    const respond = (errorCode: number): Effects<Encodable<HeartbeatResponse>> => ({ records: [], replies: [], response: { errorCode } });
    const g = this.groups.get(req.groupId);
    if (g === undefined) return respond(ErrorCode.UNKNOWN_MEMBER_ID);
    const m = g.members.get(req.memberId);
    if (m === undefined) return respond(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.groupInstanceId !== null && m.groupInstanceId !== null && req.groupInstanceId !== m.groupInstanceId) return respond(ErrorCode.FENCED_INSTANCE_ID);
    if (req.generationId !== g.generation) return respond(ErrorCode.ILLEGAL_GENERATION);
    m.sessionDeadline = now + m.sessionTimeoutMs;
    if (g.state === 'PreparingRebalance') return respond(ErrorCode.REBALANCE_IN_PROGRESS);
    return respond(0);
  }

  leave(req: LeaveGroupRequest, meta: RequestMeta, now: number): Effects<Encodable<LeaveGroupResponse>> {
    const records: OffsetsTopicRecord[] = [];
    const replies: Reply[] = [];
    const g = this.groups.get(req.groupId);
    const identities = meta.version >= 3 ? req.members : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
    if (g === undefined) return { records, replies, response: { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] } };
    const results = identities.map((id) => {
      let m: Member | undefined;
      if (id.memberId === '' && id.groupInstanceId !== null) m = g.staticMember(id.groupInstanceId);
      else m = g.members.get(id.memberId);
      if (m === undefined) return { memberId: id.memberId, groupInstanceId: id.groupInstanceId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      if (id.groupInstanceId !== null && m.groupInstanceId !== id.groupInstanceId) return { memberId: id.memberId, groupInstanceId: id.groupInstanceId, errorCode: ErrorCode.FENCED_INSTANCE_ID };
      this.removeMember(g, m, now, records, replies);
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: 0 };
    });
    const tickEffects = this.tick(now);
    records.push(...tickEffects.records);
    replies.push(...tickEffects.replies);
    // Before v3 there is one member and its error is the top-level error.
    const errorCode = meta.version >= 3 ? 0 : results[0]!.errorCode;
    return { records, replies, response: { errorCode, members: meta.version >= 3 ? results : [] } };
  }

  // ---------- offsets ----------

  commitOffsets(req: OffsetCommitRequest, meta: RequestMeta, now: number, partitionExists: (topic: string, partition: number) => boolean): Effects<Encodable<OffsetCommitResponse>> {
    const records: OffsetsTopicRecord[] = [];
    const all = (errorCode: number): Effects<Encodable<OffsetCommitResponse>> => ({
      records,
      replies: [],
      response: { topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })) },
    });
    if (req.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    let g = this.groups.get(req.groupId);
    const generation = meta.version >= 1 ? req.generationIdOrMemberEpoch : -1;
    if (g === undefined || g.members.size === 0) {
      // Simple (standalone) commits: no generation, no member, the group has no members.
      if (generation >= 0 || req.memberId !== '') {
        if (g === undefined) return all(ErrorCode.ILLEGAL_GENERATION);
        return all(ErrorCode.UNKNOWN_MEMBER_ID);
      }
      if (g === undefined) {
        if (this.groups.size >= GROUPS_MAX) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        g = this.getOrCreate(req.groupId, now);
      }
    } else {
      const m = g.members.get(req.memberId);
      if (m === undefined) return all(ErrorCode.UNKNOWN_MEMBER_ID);
      if (req.groupInstanceId !== null && m.groupInstanceId !== null && req.groupInstanceId !== m.groupInstanceId) return all(ErrorCode.FENCED_INSTANCE_ID);
      if (generation !== g.generation) return all(ErrorCode.ILLEGAL_GENERATION);
      if (g.state === 'CompletingRebalance') return all(ErrorCode.REBALANCE_IN_PROGRESS);
      m.sessionDeadline = now + m.sessionTimeoutMs;
    }
    const group = g;
    const retention = meta.version >= 2 && meta.version <= 4 && req.retentionTimeMs >= 0n ? Number(req.retentionTimeMs) : null;
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const metadata = p.committedMetadata ?? '';
        if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
        if (!partitionExists(t.name, p.partitionIndex)) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        const commitTimestamp = meta.version === 1 && p.commitTimestamp >= 0n ? Number(p.commitTimestamp) : now;
        const value: CommittedOffset = {
          offset: p.committedOffset,
          leaderEpoch: meta.version >= 6 ? p.committedLeaderEpoch : -1,
          metadata,
          commitTimestamp,
          expireTimestamp: retention === null ? null : commitTimestamp + retention,
        };
        group.setOffset(Group.offsetKey(t.name, p.partitionIndex), value, ++this.recordOrder);
        records.push(offsetCommitRecord(group.groupId, t.name, p.partitionIndex, value));
        return { partitionIndex: p.partitionIndex, errorCode: 0 };
      }),
    }));
    return { records, replies: [], response: { topics } };
  }

  fetchOffsets(req: OffsetFetchRequest, meta: RequestMeta, allPartitionsOf: () => Array<{ topic: string; partition: number }>): Effects<Encodable<OffsetFetchResponse>> {
    void allPartitionsOf;
    // KIP-447: with require_stable (v7+), a partition with a pending transactional offset answers
    // UNSTABLE_OFFSET_COMMIT (retriable) instead of an offset that may be about to change. Kafka reports
    // it per partition only; the top-level (v7) and group-level (v8+) error stays NONE.
    const requireStable = meta.version >= 7 && req.requireStable;
    const lookup = (groupId: string, topics: Array<{ name: string; partitionIndexes: number[] }> | null) => {
      const g = this.groups.get(groupId);
      let wanted = topics;
      if (wanted === null) {
        // All committed offsets of the group (v2+ with null topics).
        const byTopic = new Map<string, number[]>();
        for (const key of g?.offsets.keys() ?? []) {
          const [topic, partition] = key.split('\u0000') as [string, string];
          const list = byTopic.get(topic) ?? [];
          list.push(Number(partition));
          byTopic.set(topic, list);
        }
        wanted = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes: partitionIndexes.sort((a, b) => a - b) }));
      }
      return wanted.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const key = Group.offsetKey(t.name, p);
          if (requireStable && g?.hasPendingTxnOffset(key) === true) {
            return { partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
          }
          const o = g?.offsets.get(key);
          return o === undefined
            ? { partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }
            : { partitionIndex: p, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: 0 };
        }),
      }));
    };
    if (meta.version >= 8) {
      return { records: [], replies: [], response: { groups: req.groups.map((grp) => ({ groupId: grp.groupId, errorCode: 0, topics: lookup(grp.groupId, grp.topics) })) } };
    }
    return { records: [], replies: [], response: { errorCode: 0, topics: lookup(req.groupId, meta.version >= 2 ? req.topics : req.topics ?? []) } };
  }

  // ---------- transactional offsets (KIP-98, KIP-447) ----------

  /**
   * TxnOffsetCommit: validate as Kafka's validateOffsetCommit does for a transactional commit, hold
   * the offsets as pending for the producer, and emit their records (Kafka's OffsetCommit layout)
   * marked for one transactional batch of (producerId, producerEpoch). The offsets become visible
   * to OffsetFetch when the producer's COMMIT marker reaches the group's partition
   * (`completeTransaction`); an ABORT drops them.
   */
  handleTxnOffsetCommit(
    req: TxnOffsetCommitRequest,
    meta: RequestMeta,
    now: number,
    partitionExists: (topic: string, partition: number) => boolean,
  ): Effects<Encodable<TxnOffsetCommitResponse>> {
    const records: OffsetsTopicRecord[] = [];
    const all = (errorCode: number): Effects<Encodable<TxnOffsetCommitResponse>> => ({
      records,
      replies: [],
      response: { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })) },
    });
    if (req.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    const existing = this.groups.get(req.groupId);
    const invalid = validateTxnOffsetCommit(existing, req, meta.version);
    if (invalid !== 0) return all(invalid);
    if (existing === undefined && this.groups.size >= GROUPS_MAX) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const producer = { producerId: Number(req.producerId), producerEpoch: req.producerEpoch };
    const entries: Array<{ key: string; offset: OrderedOffset }> = [];
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const metadata = p.committedMetadata ?? '';
        if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
        if (!partitionExists(t.name, p.partitionIndex)) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        const value: CommittedOffset = {
          offset: p.committedOffset,
          leaderEpoch: meta.version >= 2 ? p.committedLeaderEpoch : -1,
          metadata,
          commitTimestamp: now,
          expireTimestamp: null,
        };
        entries.push({ key: Group.offsetKey(t.name, p.partitionIndex), offset: { value, order: ++this.recordOrder } });
        records.push({ ...offsetCommitRecord(req.groupId, t.name, p.partitionIndex, value), transactional: producer });
        return { partitionIndex: p.partitionIndex, errorCode: 0 };
      }),
    }));
    const response = { throttleTimeMs: 0, topics };
    if (entries.length === 0) return { records, replies: [], response };
    // Kafka creates the group (Empty, as for a simple commit) when a transaction commits its first offsets.
    const g = existing ?? this.getOrCreate(req.groupId, now);
    for (const e of entries) this.pendingSlot(g, producer.producerId, e.key).inflight.push(e.offset);
    return { records, replies: [], response, txnAppend: { groupId: req.groupId, ...producer, entries } };
  }

  /** The records of a TxnOffsetCommit are in the log: a marker appended from now on completes them. */
  txnOffsetsAppended(a: TxnOffsetAppend): void {
    const g = this.groups.get(a.groupId);
    for (const { key, offset } of a.entries) {
      const slot = g?.pendingTxnOffsets.get(a.producerId)?.get(key);
      const i = slot?.inflight.indexOf(offset) ?? -1;
      if (slot === undefined || i < 0) continue;
      slot.inflight.splice(i, 1);
      if (slot.appended === null || offset.order > slot.appended.order) slot.appended = offset;
    }
  }

  /** The records of a TxnOffsetCommit were not appended (Kafka's failPendingTxnOffsetCommit). */
  txnOffsetsFailed(a: TxnOffsetAppend): void {
    const g = this.groups.get(a.groupId);
    if (g === undefined) return;
    for (const { key, offset } of a.entries) {
      const slot = g.pendingTxnOffsets.get(a.producerId)?.get(key);
      const i = slot?.inflight.indexOf(offset) ?? -1;
      if (slot === undefined || i < 0) continue;
      slot.inflight.splice(i, 1);
      this.dropSlotIfEmpty(g, a.producerId, key);
    }
  }

  /**
   * A COMMIT or ABORT marker of `producerId` was appended to (or replayed from) __consumer_offsets
   * partition `offsetsPartition`: in every group of that partition, the producer's pending offsets
   * whose records precede the marker are materialized (commit) or dropped (abort). On commit, Kafka
   * keeps whichever of the transactional and the current committed offset has the later record.
   * Offsets of a TxnOffsetCommit still being appended stay pending: their records follow the marker.
   */
  completeTransaction(offsetsPartition: number, producerId: number, commit: boolean): void {
    const groupIds = this.producerGroups.get(producerId);
    if (groupIds === undefined) return;
    for (const groupId of [...groupIds]) {
      if (offsetsPartitionFor(groupId, this.config.offsetsTopicPartitions) !== offsetsPartition) continue;
      const g = this.groups.get(groupId);
      const byKey = g?.pendingTxnOffsets.get(producerId);
      if (g === undefined || byKey === undefined) {
        this.unindex(producerId, groupId);
        continue;
      }
      for (const [key, slot] of [...byKey]) {
        const done = slot.appended;
        if (done === null) continue;
        slot.appended = null;
        if (commit) {
          const current = g.offsetOrders.get(key);
          if (current === undefined || done.order > current) g.setOffset(key, done.value, done.order);
        }
        this.dropSlotIfEmpty(g, producerId, key);
      }
    }
  }

  /** Producers with pending transactional offsets in `groupId` (for tests and DescribeProducers-style views). */
  pendingTxnProducers(groupId: string): number[] {
    return [...(this.groups.get(groupId)?.pendingTxnOffsets.keys() ?? [])];
  }

  private pendingSlot(g: Group, producerId: number, key: string): PendingTxnOffset {
    let byKey = g.pendingTxnOffsets.get(producerId);
    if (byKey === undefined) {
      byKey = new Map();
      g.pendingTxnOffsets.set(producerId, byKey);
      let groupIds = this.producerGroups.get(producerId);
      if (groupIds === undefined) {
        groupIds = new Set();
        this.producerGroups.set(producerId, groupIds);
      }
      groupIds.add(g.groupId);
    }
    let slot = byKey.get(key);
    if (slot === undefined) {
      slot = { appended: null, inflight: [] };
      byKey.set(key, slot);
    }
    return slot;
  }

  private dropSlotIfEmpty(g: Group, producerId: number, key: string): void {
    const byKey = g.pendingTxnOffsets.get(producerId);
    const slot = byKey?.get(key);
    if (byKey === undefined || slot === undefined || slot.appended !== null || slot.inflight.length > 0) return;
    byKey.delete(key);
    if (byKey.size === 0) {
      g.pendingTxnOffsets.delete(producerId);
      this.unindex(producerId, g.groupId);
    }
  }

  private unindex(producerId: number, groupId: string): void {
    const groupIds = this.producerGroups.get(producerId);
    groupIds?.delete(groupId);
    if (groupIds?.size === 0) this.producerGroups.delete(producerId);
  }

  /**
   * What an offset tombstone does, live and on replay (Kafka's OffsetMetadataManager.replay): the
   * committed offset goes, and so do the pending transactional offsets whose records precede it.
   */
  private removeOffset(g: Group, key: string): void {
    g.deleteOffset(key);
    for (const [producerId, byKey] of [...g.pendingTxnOffsets]) {
      const slot = byKey.get(key);
      if (slot === undefined) continue;
      slot.appended = null;
      this.dropSlotIfEmpty(g, producerId, key);
    }
  }

  /** Does the log hold an offset record for this partition that a tombstone would remove? */
  private hasDurableOffset(g: Group, key: string): boolean {
    if (g.offsets.has(key)) return true;
    for (const byKey of g.pendingTxnOffsets.values()) {
      const slot = byKey.get(key);
      if (slot !== undefined && slot.appended !== null) return true;
    }
    return false;
  }

  /** Partitions DeleteGroups writes tombstones for: committed offsets and appended pending ones. */
  private tombstoneKeys(g: Group): string[] {
    const keys = new Set(g.offsets.keys());
    for (const byKey of g.pendingTxnOffsets.values()) for (const [key, slot] of byKey) if (slot.appended !== null) keys.add(key);
    return [...keys];
  }

  // ---------- admin ----------

  listGroups(req: ListGroupsRequest, meta: RequestMeta): Encodable<ListGroupsResponse> {
    const states = meta.version >= 4 ? new Set(req.statesFilter.map((s) => s.toLowerCase())) : new Set<string>();
    const types = meta.version >= 5 ? new Set(req.typesFilter.map((s) => s.toLowerCase())) : new Set<string>();
    const groups = [];
    for (const g of this.groups.values()) {
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has('classic')) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' });
    }
    return { errorCode: 0, groups };
  }

  describeGroups(req: DescribeGroupsRequest): Encodable<DescribeGroupsResponse> {
    return {
      groups: req.groups.map((id) => {
        const g = this.groups.get(id);
        if (g === undefined) return { errorCode: 0, groupId: id, groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 };
        return {
          errorCode: 0,
          groupId: id,
          groupState: g.state,
          protocolType: g.protocolType ?? '',
          protocolData: g.state === 'Stable' ? g.protocol ?? '' : '',
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: g.state === 'Stable' ? m.protocols.find((p) => p.name === g.protocol)?.metadata ?? Buffer.alloc(0) : Buffer.alloc(0),
            memberAssignment: g.state === 'Stable' ? m.assignment : Buffer.alloc(0),
          })),
          authorizedOperations: -2147483648,
        };
      }),
    };
  }

  deleteGroups(req: DeleteGroupsRequest, now: number): Effects<Encodable<DeleteGroupsResponse>> {
    const records: OffsetsTopicRecord[] = [];
    const results = req.groupsNames.map((id) => {
      const g = this.groups.get(id);
      if (g === undefined) return { groupId: id, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (g.state !== 'Empty') return { groupId: id, errorCode: ErrorCode.NON_EMPTY_GROUP };
      for (const key of this.tombstoneKeys(g)) {
        const [topic, partition] = key.split('\u0000') as [string, string];
        records.push(offsetCommitRecord(id, topic, Number(partition), null));
        this.removeOffset(g, key);
      }
      records.push(groupMetadataRecord(id, null, now));
      // A TxnOffsetCommit still being appended lands after these tombstones; its group lives on with it.
      if (!g.hasOffsets()) this.groups.delete(id);
      return { groupId: id, errorCode: 0 };
    });
    return { records, replies: [], response: { results } };
  }

  deleteOffsets(req: OffsetDeleteRequest): Effects<Encodable<OffsetDeleteResponse>> {
    const records: OffsetsTopicRecord[] = [];
    const g = this.groups.get(req.groupId);
    if (g === undefined) return { records, replies: [], response: { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] } };
    const subscribed = g.state === 'Empty' ? new Set<string>() : subscribedTopics(g);
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (subscribed.has(t.name)) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        const key = Group.offsetKey(t.name, p.partitionIndex);
        if (this.hasDurableOffset(g, key)) {
          records.push(offsetCommitRecord(g.groupId, t.name, p.partitionIndex, null));
          this.removeOffset(g, key);
        }
        return { partitionIndex: p.partitionIndex, errorCode: 0 };
      }),
    }));
    return { records, replies: [], response: { errorCode: 0, topics } };
  }
}
