import { ErrorCode } from '../../protocol/errors.js';
import { KafkaProtocolError } from '../errors.js';

/**
 * A commit the group can no longer accept (Kafka's CommitFailedException): the member was removed
 * or the group moved to a new generation (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION), typically
 * because processing took longer than maxPollIntervalMs. The partitions may already belong to
 * another member; retrying the same commit cannot succeed. The next poll rejoins the group.
 */
export class CommitFailedError extends KafkaProtocolError {
  constructor(errorCode: number, detail: string) {
    super(errorCode, `commit cannot be completed: ${detail}`);
  }
}

/**
 * The group is rebalancing (Kafka's RebalanceInProgressException): the commit was not applied, but
 * the member still belongs to the group. Poll to complete the rebalance, then commit again (the
 * partitions still assigned afterwards), or commit in onPartitionsRevoked.
 */
export class RebalanceInProgressError extends KafkaProtocolError {
  override readonly retriable: boolean = true;

  constructor(detail: string) {
    super(ErrorCode.REBALANCE_IN_PROGRESS, detail);
  }
}
