/** Kafka's classic group states, with the names DescribeGroups and ListGroups report. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Member {
  readonly memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  /** In the member's order of preference. */
  protocols: Array<{ name: string; metadata: Buffer }>;
  assignment: Buffer;
  /** When the member's session ends unless it heartbeats, joins or syncs again. */
  sessionDeadline: number;
  /** A JoinGroup waiting for the rebalance to complete (its reply token). */
  pendingJoin: number | null;
  /** The join request's version, to shape the delayed response. */
  pendingJoinVersion: number;
  /** A SyncGroup waiting for the leader's assignment. */
  pendingSync: number | null;
}

export interface CommittedOffset {
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
  readonly expireTimestamp: number | null;
}

/**
 * One producer's transactional offset for one partition, waiting for its transaction's marker (Kafka's
 * pendingTransactionalOffsetCommits). `appended` is the value whose record is in the log (a marker
 * completes it); `inflight` are values of TxnOffsetCommits whose records are still being appended,
 * oldest first (appends to __consumer_offsets are serialized, so they land in this order).
 */
export interface PendingTxnOffset {
  appended: OrderedOffset | null;
  readonly inflight: OrderedOffset[];
}

/** An offset and the position of its record among the coordinator's records (later records win). */
export interface OrderedOffset {
  readonly value: CommittedOffset;
  readonly order: number;
}

/** One consumer group's state; the coordinator owns every mutation. */
export class Group {
  state: GroupState = 'Empty';
  generation = 0;
  protocolType: string | null = null;
  protocol: string | null = null;
  leader: string | null = null;
  readonly members = new Map<string, Member>();
  /** KIP-394: member ids handed out with MEMBER_ID_REQUIRED, awaiting the member's second join. */
  readonly pendingMemberIds = new Map<string, number>();
  readonly offsets = new Map<string, CommittedOffset>();
  /** Record order of each committed offset, to keep the latest when a transaction's offsets complete. */
  readonly offsetOrders = new Map<string, number>();
  /** Transactional offsets not yet committed or aborted: producer id -> offset key -> pending. */
  readonly pendingTxnOffsets = new Map<number, Map<string, PendingTxnOffset>>();
  /** When the current rebalance or sync phase must end (ms), or null. */
  phaseDeadline: number | null = null;
  /** While Empty: when the initial rebalance delay ends (group.initial.rebalance.delay.ms). */
  initialDelayUntil: number | null = null;
  /** When the group last changed state (for retention of an Empty group's offsets). */
  stateTimestamp: number;

  constructor(readonly groupId: string, now: number) {
    this.stateTimestamp = now;
  }

  static offsetKey(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  setOffset(key: string, value: CommittedOffset, order: number): void {
    this.offsets.set(key, value);
    this.offsetOrders.set(key, order);
  }

  deleteOffset(key: string): boolean {
    this.offsetOrders.delete(key);
    return this.offsets.delete(key);
  }

  /** Does any producer hold a transactional offset for this partition (OffsetFetch's UNSTABLE_OFFSET_COMMIT)? */
  hasPendingTxnOffset(key: string): boolean {
    for (const byKey of this.pendingTxnOffsets.values()) if (byKey.has(key)) return true;
    return false;
  }

  /** Committed or pending offsets keep a group alive (Kafka's hasOffsets). */
  hasOffsets(): boolean {
    return this.offsets.size > 0 || this.pendingTxnOffsets.size > 0;
  }

  setState(state: GroupState, now: number): void {
    this.state = state;
    this.stateTimestamp = now;
  }

  staticMember(groupInstanceId: string): Member | undefined {
    for (const m of this.members.values()) if (m.groupInstanceId === groupInstanceId) return m;
    return undefined;
  }

  /** The largest rebalance timeout of the members: how long a rebalance may take. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** Protocols every member supports. */
  commonProtocols(): string[] {
    let common: string[] | null = null;
    for (const m of this.members.values()) {
      const names = new Set(m.protocols.map((p) => p.name));
      common = common === null ? [...names] : common.filter((n) => names.has(n));
    }
    return common ?? [];
  }

  /** Kafka's vote: each member votes for its most preferred protocol that all support. */
  selectProtocol(): string | null {
    const common = new Set(this.commonProtocols());
    if (common.size === 0) return null;
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => common.has(p.name));
      if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  /** Can a new member with these protocols join without breaking the group's protocol agreement? */
  supports(protocolType: string, protocols: ReadonlyArray<{ name: string }>): boolean {
    if (this.members.size === 0) return protocolType !== '' && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    const common = new Set(this.commonProtocols());
    return protocols.some((p) => common.has(p.name));
  }
}
