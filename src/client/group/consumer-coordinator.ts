import type { Clock, TimerHandle } from '../../io/clock.js';
import { ErrorCode, errorInfo } from '../../protocol/errors.js';
import type { HeartbeatResponse } from '../../protocol/generated/heartbeat.js';
import type { JoinGroupResponse } from '../../protocol/generated/join-group.js';
import type { LeaveGroupResponse } from '../../protocol/generated/leave-group.js';
import type { OffsetCommitResponse } from '../../protocol/generated/offset-commit.js';
import type { OffsetFetchResponse } from '../../protocol/generated/offset-fetch.js';
import type { SyncGroupResponse } from '../../protocol/generated/sync-group.js';
import type { Cluster } from '../cluster.js';
import { decodeAssignment, encodeAssignment, encodeSubscription, type TopicPartitions } from '../consumer-protocol.js';
import { tpKey, tpName, type TopicPartition } from '../consumer/consumer-record.js';
import type { ResolvedGroupOptions } from '../consumer/consumer-options.js';
import type { PartitionState } from '../consumer/positions.js';
import { ClientError, KafkaProtocolError } from '../errors.js';
import type { PartitionAssignor, RebalanceProtocol } from './assignors/assignor.js';
import { rebalanceProtocolOf } from './assignors/index.js';
import { COORDINATOR_MOVED, CoordinatorLink, closedError, isConnectionTrouble, type Outcome } from './coordinator-link.js';
import { CommitFailedError, RebalanceInProgressError } from './group-errors.js';
import { decodeMemberSubscription, groupByTopic } from './member-metadata.js';
import type { RebalanceListener } from './rebalance-listener.js';
import { nextBackoff, Sleeper, TIMED_OUT, within } from './timing.js';

const OFFSET_COMMIT = 8;
const OFFSET_FETCH = 9;
const JOIN_GROUP = 11;
const HEARTBEAT = 12;
const LEAVE_GROUP = 13;
const SYNC_GROUP = 14;

const NO_GENERATION = -1;
const NO_MEMBER_ID = '';
const PROTOCOL_TYPE = 'consumer';
/** Not in ErrorCode's table yet: OffsetFetch with requireStable while transactional offsets are pending. */
const UNSTABLE_OFFSET_COMMIT = 88;

/** Kafka's CommitFailedException message names the usual cause; so does ours. */
const COMMIT_FAILED_HINT = 'the group has rebalanced and the partitions may belong to another member; this usually means the time between polls exceeded maxPollIntervalMs';

/** Offsets to commit: the offset of the next record to consume, as in Kafka. */
export interface OffsetAndMetadata extends TopicPartition {
  readonly offset: bigint;
  /** Stored with the offset (offset.metadata.max.bytes bounds it on the broker). */
  readonly metadata?: string;
  readonly leaderEpoch?: number;
}

/** What committed() answers per partition: null offset when the group committed nothing for it. */
export interface CommittedOffset extends TopicPartition {
  readonly offset: bigint | null;
  readonly metadata: string | null;
  readonly leaderEpoch: number | null;
}

/** Kafka's ConsumerGroupMetadata: what a transactional producer needs to commit offsets for the group. */
export interface ConsumerGroupMetadata {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export type OffsetCommitCallback = (error: Error | null, offsets: readonly OffsetAndMetadata[]) => void;

/** What the coordinator needs from the consumer. */
export interface GroupHost {
  /** The assigned partitions' states. */
  states(): Iterable<PartitionState>;
  /** Replace the assignment: partitions that stay keep their state, new ones wait for committed offsets. */
  setAssignment(partitions: readonly TopicPartition[]): void;
  isCurrent(s: PartitionState): boolean;
  /** A pending partition's committed offset arrived; null: nothing committed, autoOffsetReset applies. */
  resolveCommitted(s: PartitionState, offset: bigint | null): void;
  /** Wake a waiting poll: the group has something for it to do. */
  wake(): void;
}

export interface CoordinatorSettings {
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly defaultApiTimeoutMs: number;
  /** OffsetFetch's require_stable: under read_committed, wait out pending transactional offsets. */
  readonly requireStable: boolean;
  readonly metadataMaxAgeMs: number;
}

interface Subscription {
  /** Anchored copy of the application's pattern (Kafka matches whole topic names), or null for a list. */
  readonly pattern: RegExp | null;
  /** The topics: as given, or those currently matching the pattern. */
  topics: ReadonlySet<string>;
  /** A pattern is resolved against the cluster's topics before the first join. */
  resolved: boolean;
  readonly listener: RebalanceListener | null;
}

interface Joined {
  readonly generationId: number;
  readonly memberId: string;
  readonly assignment: TopicPartition[];
}

type JoinOutcome = { readonly kind: 'joined'; readonly joined: Joined } | { readonly kind: 'failed'; readonly error: Error } | { readonly kind: 'aborted' };

type MemberState = 'unjoined' | 'rebalancing' | 'stable';

type ErrorAction = 'retry' | 'backoff' | 'fatal';

/**
 * The consumer's side of Kafka's classic group protocol (Java's ConsumerCoordinator).
 *
 * The rebalance is driven from poll(), as in Kafka, so rebalance listeners never run concurrently
 * with the application's own use of the consumer: poll prepares (commit, revoke), starts the join
 * in the background (FindCoordinator, JoinGroup, the leader's assignment, SyncGroup), and a later
 * poll applies its result (assign, listeners). Polls do not wait for the join: under the
 * cooperative protocol, partitions the member keeps go on delivering records meanwhile.
 *
 * In the background: heartbeats every heartbeatIntervalMs while the member is stable (their
 * answers request a rejoin, or reset the generation), and leaving the group when the application
 * has not polled for maxPollIntervalMs. Every background outcome wakes a waiting poll.
 */
export class ConsumerCoordinator {
  private memberId = NO_MEMBER_ID;
  private generationId = NO_GENERATION;
  private protocolName: string | null = null;
  private state: MemberState = 'unjoined';
  private isLeader = false;
  private readonly protocol: RebalanceProtocol;
  private readonly link: CoordinatorLink;
  private readonly sleeper: Sleeper;

  private subscription: Subscription | null = null;
  /** The topics of the last JoinGroup: a different subscription means a rejoin. */
  private joinedTopics: ReadonlySet<string> = new Set();
  private rejoinNeeded = false;
  private rejoinReason = '';
  private join: Promise<void> | null = null;
  private joinOutcome: JoinOutcome | null = null;
  /** The member lost its generation during a join while owning partitions: they are lost, not revoked. */
  private ownedLost = false;
  /** Bumped by leaving, unsubscribing and closing: a join started before is stale and must not touch state. */
  private membershipEpoch = 0;
  /** Fatal for the member (FENCED_INSTANCE_ID): every poll throws it. */
  private fatal: Error | null = null;
  /** Thrown by the next poll once (a background failure the application should hear about). */
  private pending: Error | null = null;
  private closed = false;

  private heartbeatTimer: TimerHandle | null = null;
  /** Identifies the current heartbeat loop; an answer for an older loop does not re-arm. */
  private heartbeatLoop = 0;
  private pollActive = false;
  private lastPollAt: number;

  private nextAutoCommitAt: number;
  private autoCommitInFlight = false;
  /** Last committed offset per partition key, so auto-commit sends only what moved. */
  private readonly lastCommitted = new Map<string, bigint>();

  private nextMetadataAt = 0;
  private metadataInFlight = false;
  /** Leader: partition counts its assignment was computed from, to notice a topic growing or appearing. */
  private assignmentSnapshot: Map<string, number> | null = null;
  private groupTopics: readonly string[] = [];

  private committedFetch: Promise<void> | null = null;
  private committedRetryAt = 0;
  private committedDelay = 0;

  constructor(
    private readonly o: ResolvedGroupOptions,
    private readonly settings: CoordinatorSettings,
    private readonly data: Cluster,
    coordinatorCluster: Cluster,
    joinCluster: Cluster,
    private readonly clock: Clock,
    private readonly host: GroupHost,
    private readonly defaultListener: RebalanceListener | null,
  ) {
    this.protocol = rebalanceProtocolOf(o.assignors);
    this.sleeper = new Sleeper(clock);
    this.link = new CoordinatorLink({ groupId: o.groupId, retryBackoffMs: settings.retryBackoffMs, retryBackoffMaxMs: settings.retryBackoffMaxMs }, coordinatorCluster, joinCluster, this.sleeper);
    this.lastPollAt = clock.now();
    this.nextAutoCommitAt = clock.now() + o.autoCommitIntervalMs;
  }

  get rebalanceProtocol(): RebalanceProtocol {
    return this.protocol;
  }

  get subscribed(): boolean {
    return this.subscription !== null;
  }

  subscriptionTopics(): string[] {
    return this.subscription === null ? [] : [...this.subscription.topics].sort();
  }

  groupMetadata(): ConsumerGroupMetadata {
    return { groupId: this.o.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.o.groupInstanceId };
  }

  // ---------- subscription ----------

  subscribe(topics: readonly string[] | RegExp, listener: RebalanceListener | null): void {
    let sub: Subscription;
    if (topics instanceof RegExp) {
      // Kafka matches the whole topic name; g and y would make test() stateful.
      const anchored = new RegExp(`^(?:${topics.source})$`, topics.flags.replace(/[gy]/g, ''));
      sub = { pattern: anchored, topics: this.subscription?.pattern?.source === anchored.source ? this.subscription.topics : new Set(), resolved: false, listener };
      this.nextMetadataAt = 0;
    } else {
      sub = { pattern: null, topics: new Set(topics), resolved: true, listener };
    }
    this.subscription = sub;
    // needsRejoin() compares with the topics of the last join: subscribing again to the same topics
    // does not rebalance the group, as in Kafka.
    this.host.wake();
  }

  /** Leave the group: commit (auto-commit), revoke, LeaveGroup. The assignment is emptied. */
  async unsubscribe(): Promise<void> {
    if (this.subscription === null) return;
    const err = await this.leaveWithCallbacks('the consumer unsubscribed from all topics');
    this.subscription = null;
    this.joinedTopics = new Set();
    this.rejoinNeeded = false;
    if (err !== null) throw err;
  }

  private requestRejoin(reason: string): void {
    if (!this.rejoinNeeded) this.rejoinReason = reason;
    this.rejoinNeeded = true;
    this.host.wake();
  }

  private needsRejoin(): boolean {
    const sub = this.subscription;
    if (sub === null) return false;
    if (this.rejoinNeeded || this.state === 'unjoined') return true;
    if (sub.topics.size !== this.joinedTopics.size) return true;
    for (const t of sub.topics) if (!this.joinedTopics.has(t)) return true;
    return false;
  }

  // ---------- poll ----------

  pollStarted(): void {
    this.pollActive = true;
    this.lastPollAt = this.clock.now();
  }

  pollEnded(): void {
    this.pollActive = false;
    this.lastPollAt = this.clock.now();
  }

  /**
   * One step of the group's work, at every round of a consumer poll: never waits for the network
   * except to commit before revoking, and runs the rebalance listeners.
   */
  async poll(): Promise<void> {
    if (this.fatal !== null) throw this.fatal;
    if (this.pending !== null) {
      const e = this.pending;
      this.pending = null;
      throw e;
    }
    const now = this.clock.now();
    this.lastPollAt = now;
    let listenerError: Error | null = null;
    const sub = this.subscription;
    if (sub !== null) {
      this.maybeRefreshMetadata(now);
      if (this.joinOutcome !== null) {
        const outcome = this.joinOutcome;
        this.joinOutcome = null;
        this.join = null;
        listenerError = await this.onJoinComplete(outcome);
      }
      if (this.join === null && sub.resolved && this.needsRejoin() && !this.closed) {
        if (!this.link.known) this.startLookup();
        else {
          listenerError = (await this.onJoinPrepare()) ?? listenerError;
          if (this.subscription === sub && !this.closed) this.startJoin();
        }
      }
    }
    this.maybeFetchCommitted();
    this.maybeAutoCommit(now);
    if (listenerError !== null) throw listenerError;
  }

  /** When poll() has timed work (auto-commit, metadata, a retry); +Infinity when nothing. */
  nextWakeAt(): number {
    // Only work that is due later counts: work already in flight wakes the poll when it ends, and
    // a wake-up time in the past would make the poll spin without yielding to I/O.
    const now = this.clock.now();
    let at = Number.POSITIVE_INFINITY;
    const consider = (t: number): void => {
      if (t > now) at = Math.min(at, t);
    };
    if (this.o.enableAutoCommit && (this.subscription === null || this.state === 'stable')) consider(this.nextAutoCommitAt);
    if (this.subscription !== null && !this.metadataInFlight) consider(this.nextMetadataAt);
    if (this.committedFetch === null) consider(this.committedRetryAt);
    return at;
  }

  private startLookup(): void {
    void this.link.find().then((found) => {
      if (!found.ok && !this.closed) this.pending = found.error;
      this.host.wake();
    });
  }

  // ---------- rebalance ----------

  private ownedPartitions(): TopicPartition[] {
    return [...this.host.states()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** Before a JoinGroup: give up what this rebalance takes away (Java's onJoinPrepare). */
  private async onJoinPrepare(): Promise<Error | null> {
    const owned = this.ownedPartitions();
    const sub = this.subscription!;
    if (this.generationId === NO_GENERATION || this.memberId === NO_MEMBER_ID) {
      // Not a member any more (reset, evicted, left): others may own these already.
      if (owned.length === 0) return null;
      const err = await this.invoke('lost', sub.listener, owned);
      this.host.setAssignment([]);
      return err;
    }
    if (this.protocol === 'eager') {
      await this.autoCommitBeforeRevoke(owned);
      const err = await this.invoke('revoked', sub.listener, owned);
      this.host.setAssignment([]);
      return err;
    }
    // Cooperative: only partitions of topics no longer subscribed go now; the rest wait for the assignment.
    const gone = owned.filter((tp) => !sub.topics.has(tp.topic));
    if (gone.length === 0) return null;
    await this.autoCommitBeforeRevoke(gone);
    const err = await this.invoke('revoked', sub.listener, gone);
    this.host.setAssignment(owned.filter((tp) => sub.topics.has(tp.topic)));
    return err;
  }

  private startJoin(): void {
    const topics = new Set(this.subscription!.topics);
    // The JoinGroup reason (v8+), shown by the coordinator's logs and describe tools.
    const reason = this.rejoinReason !== '' ? this.rejoinReason : this.state === 'unjoined' ? 'joining the group' : 'the subscription changed';
    this.rejoinReason = '';
    this.joinedTopics = topics;
    this.rejoinNeeded = false;
    this.state = 'rebalancing';
    this.stopHeartbeat();
    const epoch = this.membershipEpoch;
    const join: Promise<void> = this.performJoin([...topics].sort(), reason, epoch).then((outcome) => {
      if (epoch === this.membershipEpoch) this.joinOutcome = outcome;
      else if (this.join === join) this.join = null;
      this.host.wake();
    });
    this.join = join;
  }

  /** JoinGroup then SyncGroup, until the member has an assignment, a fatal error, or was told to stop. */
  private async performJoin(topics: readonly string[], reason: string, epoch: number): Promise<JoinOutcome> {
    let delay = 0;
    const stale = (): boolean => this.closed || epoch !== this.membershipEpoch;
    const backoff = async (): Promise<void> => {
      delay = nextBackoff(delay, this.settings.retryBackoffMs, this.settings.retryBackoffMaxMs);
      await this.sleeper.sleep(delay);
    };
    for (;;) {
      if (stale()) return { kind: 'aborted' };
      const found = await this.link.find();
      if (stale()) return { kind: 'aborted' };
      if (!found.ok) return { kind: 'failed', error: found.error };
      try {
        const res = await this.link.request<JoinGroupResponse>(JOIN_GROUP, {
          groupId: this.o.groupId,
          sessionTimeoutMs: this.o.sessionTimeoutMs,
          rebalanceTimeoutMs: this.o.rebalanceTimeoutMs,
          memberId: this.memberId,
          groupInstanceId: this.o.groupInstanceId,
          protocolType: PROTOCOL_TYPE,
          protocols: this.protocolMetadata(topics),
          reason,
        }, true);
        if (stale()) return { kind: 'aborted' };
        if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
          // KIP-394: the coordinator hands out the member id first; join again with it at once.
          this.memberId = res.memberId;
          continue;
        }
        if (res.errorCode !== 0) {
          const action = this.joinError(res.errorCode);
          if (action === 'fatal') return { kind: 'failed', error: new KafkaProtocolError(res.errorCode, `JoinGroup of group ${this.o.groupId}`) };
          if (action === 'backoff') await backoff();
          continue;
        }
        this.memberId = res.memberId;
        this.generationId = res.generationId;
        this.protocolName = res.protocolName;
        this.isLeader = res.leader === res.memberId;
        const assignments = this.isLeader && !res.skipAssignment ? await this.performAssignment(res.protocolName ?? '', res) : [];
        if (stale()) return { kind: 'aborted' };
        const sync = await this.link.request<SyncGroupResponse>(SYNC_GROUP, {
          groupId: this.o.groupId,
          generationId: res.generationId,
          memberId: res.memberId,
          groupInstanceId: this.o.groupInstanceId,
          protocolType: PROTOCOL_TYPE,
          protocolName: res.protocolName,
          assignments,
        }, true);
        if (stale()) return { kind: 'aborted' };
        if (sync.errorCode !== 0) {
          const action = this.joinError(sync.errorCode);
          if (action === 'fatal') return { kind: 'failed', error: new KafkaProtocolError(sync.errorCode, `SyncGroup of group ${this.o.groupId}`) };
          if (action === 'backoff') await backoff();
          continue;
        }
        this.state = 'stable';
        this.startHeartbeat();
        const assignment = decodeAssignment(sync.assignment).flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
        return { kind: 'joined', joined: { generationId: res.generationId, memberId: res.memberId, assignment } };
      } catch (err) {
        if (stale()) return { kind: 'aborted' };
        if (!isConnectionTrouble(err) && !(err instanceof KafkaProtocolError && COORDINATOR_MOVED.has(err.errorCode))) {
          return { kind: 'failed', error: err instanceof Error ? err : new Error(String(err)) };
        }
        await backoff();
      }
    }
  }

  /** What a JoinGroup or SyncGroup error means for the join loop (Java's JoinGroup/SyncGroup handlers). */
  private joinError(code: number): ErrorAction {
    switch (code) {
      case ErrorCode.UNKNOWN_MEMBER_ID:
        // The coordinator forgot us (session expired): join as a new member.
        this.loseGeneration(true);
        return 'retry';
      case ErrorCode.ILLEGAL_GENERATION:
        this.loseGeneration(false);
        return 'retry';
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return 'retry';
      case ErrorCode.COORDINATOR_NOT_AVAILABLE:
      case ErrorCode.NOT_COORDINATOR:
        this.link.markUnknown();
        return 'backoff';
      case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
        return 'backoff';
      default:
        // FENCED_INSTANCE_ID, INVALID_SESSION_TIMEOUT, INCONSISTENT_GROUP_PROTOCOL, GROUP_MAX_SIZE_REACHED,
        // GROUP_AUTHORIZATION_FAILED, ...: asking again would get the same answer.
        if (code === ErrorCode.FENCED_INSTANCE_ID) this.fatal = new KafkaProtocolError(code, `group.instance.id ${this.o.groupInstanceId ?? ''} is used by another member of group ${this.o.groupId}`);
        return errorInfo(code).retriable ? 'backoff' : 'fatal';
    }
  }

  /** Inside a join: the generation is gone, so what the member owned is lost rather than revoked. */
  private loseGeneration(resetMemberId: boolean): void {
    this.generationId = NO_GENERATION;
    if (resetMemberId) this.memberId = NO_MEMBER_ID;
    if (this.ownedPartitions().length > 0) this.ownedLost = true;
  }

  /** The JoinGroup protocols: one per assignor, in order of preference, each with the subscription. */
  private protocolMetadata(topics: readonly string[]): Array<{ name: string; metadata: Buffer }> {
    const owned: TopicPartitions[] = this.ownedLost ? [] : groupByTopic(this.ownedPartitions());
    // Eager members own nothing when they join (all was revoked) and send subscription v1, which
    // stays byte-identical across generations: a static member restarting then matches its old
    // metadata. Cooperative members say what they own and since which generation (v2).
    const metadata = this.protocol === 'cooperative' ? encodeSubscription(topics, owned, this.generationId, 2) : encodeSubscription(topics, owned, NO_GENERATION, 1);
    return this.o.assignors.map((a) => ({ name: a.name, metadata }));
  }

  /** The leader's part: run the group's assignor over every member's subscription. */
  private async performAssignment(protocolName: string, res: JoinGroupResponse): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const assignor: PartitionAssignor | undefined = this.o.assignors.find((a) => a.name === protocolName);
    if (assignor === undefined) throw new ClientError('PROTOCOL_ERROR', `the group chose assignor ${JSON.stringify(protocolName)}, which this consumer does not have`, false);
    const members = res.members.map(decodeMemberSubscription);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    // Fresh partition counts; a failed refresh leaves the cached ones, and the periodic check fixes the rest.
    await this.data.refreshMetadata(topics).catch(() => undefined);
    const partitionsPerTopic = new Map<string, number>();
    for (const t of topics) {
      const info = this.data.topics.get(t);
      if (info !== undefined && info.partitions.length > 0) partitionsPerTopic.set(t, info.partitions.length);
    }
    const assignment = assignor.assign(partitionsPerTopic, members);
    if (this.protocol === 'cooperative') validateCooperative(members, assignment);
    this.assignmentSnapshot = partitionsPerTopic;
    this.groupTopics = topics;
    return members.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment(groupByTopic(assignment.get(m.memberId) ?? [])) }));
  }

  /** After SyncGroup: take the assignment (Java's onJoinComplete). Returns a listener's error. */
  private async onJoinComplete(outcome: JoinOutcome): Promise<Error | null> {
    if (outcome.kind === 'aborted') return null;
    if (outcome.kind === 'failed') {
      this.state = 'unjoined';
      // Fatal member errors stay; others are thrown once and the next poll tries again.
      if (this.fatal === null) this.rejoinNeeded = true;
      return outcome.error;
    }
    const sub = this.subscription;
    if (sub === null) return null;
    let listenerError: Error | null = null;
    let owned = this.ownedPartitions();
    if (this.ownedLost) {
      this.ownedLost = false;
      if (owned.length > 0) {
        listenerError = await this.invoke('lost', sub.listener, owned);
        this.host.setAssignment([]);
        owned = [];
      }
    }
    // The subscription may have changed during the join: take what still fits, and join again.
    // Entries no partition can have (a faulty leader's) are dropped rather than failing the poll.
    const valid = outcome.joined.assignment.filter((tp) => tp.topic !== '' && Number.isInteger(tp.partition) && tp.partition >= 0);
    const assigned = valid.filter((tp) => sub.topics.has(tp.topic));
    if (assigned.length !== valid.length) this.requestRejoin('the assignment names topics outside the subscription');
    if (!this.isLeader) this.assignmentSnapshot = null;
    const assignedKeys = new Set(assigned.map((tp) => tpKey(tp.topic, tp.partition)));
    const ownedKeys = new Set(owned.map((tp) => tpKey(tp.topic, tp.partition)));
    const revoked = owned.filter((tp) => !assignedKeys.has(tpKey(tp.topic, tp.partition)));
    const added = assigned.filter((tp) => !ownedKeys.has(tpKey(tp.topic, tp.partition)));
    if (revoked.length > 0) {
      // Cooperative (eager owns nothing here): commit and hand back what moves, while still owned.
      await this.autoCommitBeforeRevoke(revoked);
      listenerError = (await this.invoke('revoked', sub.listener, revoked)) ?? listenerError;
    }
    this.host.setAssignment(assigned);
    for (const k of [...this.lastCommitted.keys()]) if (!assignedKeys.has(k)) this.lastCommitted.delete(k);
    this.nextAutoCommitAt = this.clock.now() + this.o.autoCommitIntervalMs;
    listenerError = (await this.invoke('assigned', sub.listener, added)) ?? listenerError;
    // KIP-429: revoked partitions reach their new owners in a second rebalance.
    if (revoked.length > 0 && this.protocol === 'cooperative') this.requestRejoin('partitions were revoked; a second rebalance hands them over');
    return listenerError;
  }

  private async invoke(kind: 'assigned' | 'revoked' | 'lost', listener: RebalanceListener | null, partitions: TopicPartition[]): Promise<Error | null> {
    const l = listener ?? this.defaultListener;
    if (l === null) return null;
    const copy = partitions.map((tp) => ({ topic: tp.topic, partition: tp.partition }));
    try {
      if (kind === 'assigned') await l.onPartitionsAssigned?.(copy);
      else if (kind === 'revoked') await l.onPartitionsRevoked?.(copy);
      else if (l.onPartitionsLost !== undefined) await l.onPartitionsLost(copy);
      else await l.onPartitionsRevoked?.(copy);
      return null;
    } catch (err) {
      const cause = err instanceof Error ? err : new Error(String(err));
      return new Error(`rebalance listener onPartitions${kind[0]!.toUpperCase()}${kind.slice(1)} failed: ${cause.message}`, { cause });
    }
  }

  // ---------- metadata ----------

  /**
   * Every metadataMaxAgeMs: a pattern subscription re-matches the cluster's topics, and the leader
   * checks the partition counts its assignment used. A change asks for a rejoin.
   */
  private maybeRefreshMetadata(now: number): void {
    const sub = this.subscription;
    if (sub === null || this.metadataInFlight || now < this.nextMetadataAt) return;
    this.metadataInFlight = true;
    const topics = [...new Set([...sub.topics, ...(this.isLeader ? this.groupTopics : [])])];
    const refresh = sub.pattern !== null ? this.data.refreshMetadata(null) : this.data.refreshMetadata(topics);
    let ok = false;
    refresh.then(
      () => {
        ok = true;
        if (this.subscription !== sub) return;
        if (sub.pattern !== null) {
          const matched = new Set<string>();
          for (const t of this.data.topics.values()) if (!(this.o.excludeInternalTopics && t.isInternal) && sub.pattern.test(t.name)) matched.add(t.name);
          // A different set than the last join's makes needsRejoin() true at the next poll.
          sub.topics = matched;
          sub.resolved = true;
        }
        const snap = this.assignmentSnapshot;
        if (this.isLeader && snap !== null && this.state === 'stable') {
          for (const t of this.groupTopics) {
            const n = this.data.topics.get(t)?.partitions.length ?? 0;
            if (n !== (snap.get(t) ?? 0)) {
              this.requestRejoin(`the partition count of ${t} changed`);
              break;
            }
          }
        }
      },
      () => undefined,
    ).finally(() => {
      this.metadataInFlight = false;
      this.nextMetadataAt = this.clock.now() + (ok ? this.settings.metadataMaxAgeMs : this.settings.retryBackoffMs);
      this.host.wake();
    });
  }

  // ---------- heartbeats and leaving ----------

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.scheduleHeartbeat(this.heartbeatLoop, this.o.heartbeatIntervalMs);
  }

  private stopHeartbeat(): void {
    this.heartbeatLoop++;
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
  }

  private scheduleHeartbeat(loop: number, ms: number): void {
    if (loop !== this.heartbeatLoop || this.closed || this.state !== 'stable') return;
    this.heartbeatTimer = this.clock.setTimer(ms, () => {
      this.heartbeatTimer = null;
      void this.heartbeat(loop);
    });
  }

  private async heartbeat(loop: number): Promise<void> {
    if (loop !== this.heartbeatLoop || this.closed || this.state !== 'stable') return;
    // max.poll.interval.ms: an application stuck between polls gives its partitions up, as in Kafka.
    if (!this.pollActive && this.clock.now() - this.lastPollAt > this.o.maxPollIntervalMs) {
      await this.leaveGroup(`consumer poll timeout has expired: no poll within maxPollIntervalMs (${this.o.maxPollIntervalMs} ms)`);
      return;
    }
    let next = this.o.heartbeatIntervalMs;
    const generation = this.generationId;
    const memberId = this.memberId;
    try {
      const found = await this.link.find();
      if (!found.ok) throw found.error;
      const res = await this.link.request<HeartbeatResponse>(HEARTBEAT, { groupId: this.o.groupId, generationId: generation, memberId, groupInstanceId: this.o.groupInstanceId });
      // A join, reset or leave happened meanwhile: this answer is about a generation we left.
      if (loop !== this.heartbeatLoop || generation !== this.generationId || memberId !== this.memberId) return;
      switch (res.errorCode) {
        case 0:
          break;
        case ErrorCode.REBALANCE_IN_PROGRESS:
          this.requestRejoin('the group is rebalancing');
          break;
        case ErrorCode.ILLEGAL_GENERATION:
          this.resetGeneration(false, 'heartbeat: ILLEGAL_GENERATION');
          return;
        case ErrorCode.UNKNOWN_MEMBER_ID:
          this.resetGeneration(true, 'heartbeat: UNKNOWN_MEMBER_ID');
          return;
        case ErrorCode.FENCED_INSTANCE_ID:
          this.fatal = new KafkaProtocolError(res.errorCode, `group.instance.id ${this.o.groupInstanceId ?? ''} is used by another member of group ${this.o.groupId}`);
          this.resetGeneration(true, 'fenced');
          return;
        default:
          if (COORDINATOR_MOVED.has(res.errorCode)) this.link.markUnknown();
          else if (!errorInfo(res.errorCode).retriable) this.pending = new KafkaProtocolError(res.errorCode, `Heartbeat of group ${this.o.groupId}`);
          next = this.settings.retryBackoffMs;
      }
    } catch {
      // Connection trouble: the link forgot the coordinator; the next beat looks it up again.
      next = this.settings.retryBackoffMs;
    }
    this.scheduleHeartbeat(loop, next);
  }

  /**
   * The member is no longer part of the generation (Java's resetStateAndGeneration): heartbeats stop
   * and the next poll rejoins, handing its partitions to onPartitionsLost first.
   */
  private resetGeneration(resetMemberId: boolean, reason: string): void {
    this.generationId = NO_GENERATION;
    this.protocolName = null;
    if (resetMemberId) this.memberId = NO_MEMBER_ID;
    this.state = 'unjoined';
    this.stopHeartbeat();
    this.requestRejoin(reason);
  }

  /**
   * LeaveGroup, for dynamic members only: a static member's partitions wait out its session for it
   * to come back (Kafka's rule). Either way the member forgets its generation and id.
   */
  private async leaveGroup(reason: string): Promise<void> {
    const memberId = this.memberId;
    const wasMember = this.state !== 'unjoined' && memberId !== NO_MEMBER_ID;
    this.membershipEpoch++;
    this.join = null;
    this.joinOutcome = null;
    this.resetGeneration(true, reason);
    if (wasMember && this.o.groupInstanceId === null && this.link.known) {
      try {
        await this.link.request<LeaveGroupResponse>(LEAVE_GROUP, { groupId: this.o.groupId, memberId, members: [{ memberId, groupInstanceId: null, reason }] });
      } catch {
        // The coordinator removes the member after its session timeout anyway.
      }
    }
  }

  /** Commit, revoke (or lose), and leave: unsubscribe and close. Returns a listener's error. */
  private async leaveWithCallbacks(reason: string): Promise<Error | null> {
    const sub = this.subscription;
    let err: Error | null = null;
    if (sub !== null) {
      const owned = this.ownedPartitions();
      if (this.generationId !== NO_GENERATION && this.memberId !== NO_MEMBER_ID) {
        // Still a member (possibly mid-rebalance, when commits wait for the next generation).
        if (this.state === 'stable') await this.autoCommitBeforeRevoke(owned);
        if (owned.length > 0) err = await this.invoke('revoked', sub.listener, owned);
      } else if (owned.length > 0) {
        err = await this.invoke('lost', sub.listener, owned);
      }
      this.host.setAssignment([]);
      await this.leaveGroup(reason);
    }
    return err;
  }

  // ---------- commits ----------

  /** Positions of delivered records, for auto-commit; `only` limits them to some partitions. */
  private positionsToCommit(only: readonly TopicPartition[] | null, changedOnly: boolean): OffsetAndMetadata[] {
    const keys = only === null ? null : new Set(only.map((tp) => tpKey(tp.topic, tp.partition)));
    const out: OffsetAndMetadata[] = [];
    for (const s of this.host.states()) {
      if (keys !== null && !keys.has(s.key)) continue;
      if (s.position === null || s.committedPending) continue;
      if (changedOnly && this.lastCommitted.get(s.key) === s.position) continue;
      out.push({ topic: s.topic, partition: s.partition, offset: s.position });
    }
    return out;
  }

  /** Auto-commit before partitions are revoked, so their next owner starts where this member stopped. */
  private async autoCommitBeforeRevoke(partitions: readonly TopicPartition[]): Promise<void> {
    if (!this.o.enableAutoCommit || partitions.length === 0) return;
    const offsets = this.positionsToCommit(partitions, true);
    if (offsets.length === 0) return;
    try {
      await this.commitSync(offsets, this.clock.now() + this.settings.requestTimeoutMs);
    } catch {
      // Best effort, as in Kafka: the next owner re-reads from the last successful commit.
    }
  }

  private maybeAutoCommit(now: number): void {
    if (!this.o.enableAutoCommit || now < this.nextAutoCommitAt) return;
    this.nextAutoCommitAt = now + this.o.autoCommitIntervalMs;
    if (this.autoCommitInFlight || (this.subscription !== null && this.state !== 'stable')) return;
    const offsets = this.positionsToCommit(null, true);
    if (offsets.length === 0) return;
    this.autoCommitInFlight = true;
    void this.commitOnce(offsets).then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      this.autoCommitInFlight = false;
    });
  }

  /** The positions of delivered records of every assigned partition (commit() without offsets). */
  allPositions(): OffsetAndMetadata[] {
    return this.positionsToCommit(null, false);
  }

  /** Commit, retrying what can be retried until `deadline` (Kafka's commitSync). */
  async commitSync(offsets: readonly OffsetAndMetadata[], deadline: number): Promise<void> {
    if (offsets.length === 0) return;
    let delay = 0;
    for (;;) {
      const retry = await this.commitAttempt(offsets, deadline);
      if (retry === null) return;
      if (this.clock.now() >= deadline) throw retry;
      delay = nextBackoff(delay, this.settings.retryBackoffMs, this.settings.retryBackoffMaxMs);
      await this.sleeper.sleep(Math.min(delay, Math.max(0, deadline - this.clock.now())));
      if (this.closed) throw closedError();
    }
  }

  /** One attempt, no retries (auto-commit, commitAsync). */
  async commitOnce(offsets: readonly OffsetAndMetadata[]): Promise<void> {
    const retry = await this.commitAttempt(offsets, this.clock.now() + this.settings.requestTimeoutMs);
    if (retry !== null) throw retry;
  }

  /** Allows the commit and LeaveGroup of close() after the rest of the consumer closed. */
  private closing = false;

  /** Throws what cannot be retried; returns the retriable error, or null when committed. */
  private async commitAttempt(offsets: readonly OffsetAndMetadata[], deadline: number): Promise<Error | null> {
    if (this.fatal !== null) throw this.fatal;
    const generation = this.commitGeneration();
    const found = await within(this.clock, this.link.find(), deadline);
    if (found === TIMED_OUT) return new ClientError('REQUEST_TIMED_OUT', `no coordinator for group ${this.o.groupId} found in time`);
    if (!found.ok) throw found.error;
    const topics = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; commitTimestamp: bigint; committedMetadata: string }>>();
    for (const o of offsets) {
      let list = topics.get(o.topic);
      if (list === undefined) topics.set(o.topic, (list = []));
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch ?? -1, commitTimestamp: -1n, committedMetadata: o.metadata ?? '' });
    }
    let res: OffsetCommitResponse;
    try {
      res = await this.link.request<OffsetCommitResponse>(OFFSET_COMMIT, {
        groupId: this.o.groupId,
        generationIdOrMemberEpoch: generation.generationId,
        memberId: generation.memberId,
        groupInstanceId: this.o.groupInstanceId,
        retentionTimeMs: -1n,
        topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
      });
    } catch (err) {
      // Connection trouble, or the coordinator forgotten since find(): look it up and try again.
      if (isConnectionTrouble(err) || (err instanceof KafkaProtocolError && COORDINATOR_MOVED.has(err.errorCode))) return err as Error;
      throw err;
    }
    const committed = new Map(offsets.map((o) => [tpKey(o.topic, o.partition), o.offset]));
    let retriable: Error | null = null;
    for (const t of res.topics) {
      for (const p of t.partitions) {
        const key = tpKey(t.name, p.partitionIndex);
        const code = p.errorCode;
        if (code === 0) {
          const off = committed.get(key);
          if (off !== undefined) this.lastCommitted.set(key, off);
          continue;
        }
        const what = `OffsetCommit ${tpName({ topic: t.name, partition: p.partitionIndex })}`;
        if (COORDINATOR_MOVED.has(code) || code === ErrorCode.REQUEST_TIMED_OUT) {
          this.link.markUnknown();
          retriable = new KafkaProtocolError(code, what);
        } else if (code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          retriable = new KafkaProtocolError(code, what);
        } else {
          throw this.commitError(code, what, generation);
        }
      }
    }
    return retriable;
  }

  /** The generation a commit carries: none for assign(); the current one for a stable member. */
  private commitGeneration(): { generationId: number; memberId: string } {
    if (this.subscription === null) return { generationId: NO_GENERATION, memberId: NO_MEMBER_ID };
    if (this.state === 'stable') return { generationId: this.generationId, memberId: this.memberId };
    if (this.state === 'rebalancing') throw new RebalanceInProgressError(`group ${this.o.groupId} is rebalancing: poll to complete the rebalance, then commit the partitions still assigned`);
    throw new CommitFailedError(ErrorCode.UNKNOWN_MEMBER_ID, `the consumer is not an active member of group ${this.o.groupId}`);
  }

  private commitError(code: number, what: string, generation: { generationId: number; memberId: string }): Error {
    const current = this.subscription !== null && generation.generationId === this.generationId && generation.memberId === this.memberId;
    switch (code) {
      case ErrorCode.REBALANCE_IN_PROGRESS:
        if (current) this.requestRejoin('a commit found the group rebalancing');
        return new RebalanceInProgressError(`${what}: group ${this.o.groupId} is rebalancing; poll to complete the rebalance, then commit the partitions still assigned`);
      case ErrorCode.ILLEGAL_GENERATION:
        if (current) this.resetGeneration(false, 'commit: ILLEGAL_GENERATION');
        return new CommitFailedError(code, `${what}: ${COMMIT_FAILED_HINT}`);
      case ErrorCode.UNKNOWN_MEMBER_ID:
        if (current) this.resetGeneration(true, 'commit: UNKNOWN_MEMBER_ID');
        return new CommitFailedError(code, `${what}: ${COMMIT_FAILED_HINT}`);
      case ErrorCode.FENCED_INSTANCE_ID:
        this.fatal = new KafkaProtocolError(code, `group.instance.id ${this.o.groupInstanceId ?? ''} is used by another member of group ${this.o.groupId}`);
        return this.fatal;
      default:
        return new KafkaProtocolError(code, what);
    }
  }

  /** commitAsync: one attempt in the background; the callback hears the outcome. */
  commitAsync(offsets: readonly OffsetAndMetadata[], callback: OffsetCommitCallback | null): void {
    if (offsets.length === 0) {
      if (callback !== null) queueMicrotask(() => callback(null, offsets));
      return;
    }
    void this.commitOnce(offsets).then(
      () => callback?.(null, offsets),
      (err: unknown) => callback?.(err instanceof Error ? err : new Error(String(err)), offsets),
    );
  }

  // ---------- committed offsets ----------

  /** OffsetFetch for the given partitions, retried until `deadline`. */
  async fetchCommitted(partitions: readonly TopicPartition[], deadline: number): Promise<CommittedOffset[]> {
    let delay = 0;
    for (;;) {
      const outcome = await this.offsetFetchAttempt(partitions, deadline);
      if (outcome.ok) return outcome.value;
      if (!isRetriableFetchError(outcome.error) || this.clock.now() >= deadline) throw outcome.error;
      delay = nextBackoff(delay, this.settings.retryBackoffMs, this.settings.retryBackoffMaxMs);
      await this.sleeper.sleep(Math.min(delay, Math.max(0, deadline - this.clock.now())));
      if (this.closed) throw closedError();
    }
  }

  private async offsetFetchAttempt(partitions: readonly TopicPartition[], deadline: number): Promise<Outcome<CommittedOffset[]>> {
    const found = await within(this.clock, this.link.find(), deadline);
    if (found === TIMED_OUT) return { ok: false, error: new ClientError('REQUEST_TIMED_OUT', `no coordinator for group ${this.o.groupId} found in time`) };
    if (!found.ok) return found;
    let res: OffsetFetchResponse;
    try {
      res = await this.link.request<OffsetFetchResponse>(OFFSET_FETCH, {
        groupId: this.o.groupId,
        topics: groupByTopic(partitions).map((t) => ({ name: t.topic, partitionIndexes: [...t.partitions] })),
        groups: [],
        requireStable: this.settings.requireStable,
      });
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    if (res.errorCode !== 0) {
      if (COORDINATOR_MOVED.has(res.errorCode)) this.link.markUnknown();
      return { ok: false, error: new KafkaProtocolError(res.errorCode, `OffsetFetch of group ${this.o.groupId}`) };
    }
    const answers = new Map<string, CommittedOffset>();
    for (const t of res.topics) {
      for (const p of t.partitions) {
        const tp = { topic: t.name, partition: p.partitionIndex };
        if (p.errorCode !== 0) {
          if (COORDINATOR_MOVED.has(p.errorCode)) this.link.markUnknown();
          return { ok: false, error: new KafkaProtocolError(p.errorCode, `OffsetFetch ${tpName(tp)}`) };
        }
        const found = p.committedOffset >= 0n;
        answers.set(tpKey(t.name, p.partitionIndex), { ...tp, offset: found ? p.committedOffset : null, metadata: found ? p.metadata : null, leaderEpoch: found && p.committedLeaderEpoch >= 0 ? p.committedLeaderEpoch : null });
      }
    }
    return { ok: true, value: partitions.map((tp) => answers.get(tpKey(tp.topic, tp.partition)) ?? { topic: tp.topic, partition: tp.partition, offset: null, metadata: null, leaderEpoch: null }) };
  }

  /** Start positions: look up committed offsets of partitions waiting for them, in the background. */
  private maybeFetchCommitted(): void {
    if (this.committedFetch !== null || this.closed || this.clock.now() < this.committedRetryAt) return;
    const pending = [...this.host.states()].filter((s) => s.committedPending);
    if (pending.length === 0) return;
    const sent = pending.map((s) => ({ s, epoch: s.epoch }));
    this.committedFetch = this.offsetFetchAttempt(pending, this.clock.now() + this.settings.requestTimeoutMs).then((outcome) => {
      if (this.closed) return;
      if (!outcome.ok) {
        if (!isRetriableFetchError(outcome.error)) this.pending = outcome.error;
        this.committedDelay = nextBackoff(this.committedDelay, this.settings.retryBackoffMs, this.settings.retryBackoffMaxMs);
        this.committedRetryAt = this.clock.now() + this.committedDelay;
        return;
      }
      this.committedDelay = 0;
      outcome.value.forEach((c, i) => {
        const { s, epoch } = sent[i]!;
        // Reassigned, sought or reset meanwhile: the application's choice wins.
        if (!this.host.isCurrent(s) || !s.committedPending || s.epoch !== epoch) return;
        if (c.offset !== null) this.lastCommitted.set(s.key, c.offset);
        this.host.resolveCommitted(s, c.offset);
      });
    }).finally(() => {
      this.committedFetch = null;
      this.host.wake();
    });
  }

  /** For position(): wait (up to `deadline`) for the committed offsets of pending partitions. */
  async awaitCommitted(deadline: number): Promise<void> {
    const wait = this.committedRetryAt - this.clock.now();
    if (this.committedFetch === null && wait > 0) await this.sleeper.sleep(Math.min(wait, Math.max(0, deadline - this.clock.now())));
    if (this.committedFetch === null) this.committedRetryAt = 0;
    this.maybeFetchCommitted();
    if (this.committedFetch !== null) await within(this.clock, this.committedFetch, deadline);
    if (this.pending !== null) {
      const e = this.pending;
      this.pending = null;
      throw e;
    }
  }

  // ---------- close ----------

  /**
   * Kafka's close: commit the delivered positions (auto-commit), revoke, leave the group (dynamic
   * members), stop. Bounded by `deadline`; returns a rebalance listener's error, if any.
   */
  async close(deadline: number): Promise<Error | null> {
    if (this.closing) return null;
    this.closing = true;
    let err: Error | null = null;
    try {
      if (this.subscription !== null) {
        const leave = within(this.clock, this.leaveWithCallbacks('the consumer is being closed'), deadline);
        const r = await leave;
        if (r !== TIMED_OUT) err = r;
      } else if (this.o.enableAutoCommit && this.fatal === null) {
        const offsets = this.positionsToCommit(null, true);
        await within(this.clock, this.commitSync(offsets, deadline).catch(() => undefined), deadline);
      }
    } finally {
      this.closed = true;
      this.membershipEpoch++;
      this.stopHeartbeat();
      this.link.close();
      this.sleeper.wakeAll();
    }
    return err;
  }
}

/** Retried by committed() and start positions: coordinator moves, loading, dropped connections. */
function isRetriableFetchError(err: Error): boolean {
  if (err instanceof KafkaProtocolError) return err.retriable || err.errorCode === UNSTABLE_OFFSET_COMMIT;
  return isConnectionTrouble(err) || (err instanceof ClientError && err.code === 'REQUEST_TIMED_OUT');
}

/**
 * Java's validateCooperativeAssignment: under the cooperative protocol no partition may be added to
 * one member in the same rebalance in which it is revoked from another.
 */
function validateCooperative(members: ReadonlyArray<{ memberId: string; ownedPartitions: readonly TopicPartition[] }>, assignment: ReadonlyMap<string, readonly TopicPartition[]>): void {
  const added = new Map<string, string>();
  const revoked = new Set<string>();
  for (const m of members) {
    const owned = new Set(m.ownedPartitions.map((tp) => tpKey(tp.topic, tp.partition)));
    const assigned = assignment.get(m.memberId) ?? [];
    const keys = new Set(assigned.map((tp) => tpKey(tp.topic, tp.partition)));
    for (const tp of assigned) if (!owned.has(tpKey(tp.topic, tp.partition))) added.set(tpKey(tp.topic, tp.partition), `${tpName(tp)} to ${m.memberId}`);
    for (const k of owned) if (!keys.has(k)) revoked.add(k);
  }
  for (const [k, what] of added) {
    if (revoked.has(k)) throw new ClientError('PROTOCOL_ERROR', `the cooperative assignment gives ${what} while another member still owns it`, false);
  }
}
