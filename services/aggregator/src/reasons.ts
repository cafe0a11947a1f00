import { REJECT_REASONS } from '@asyncfl/aggregation';

/**
 * Rejection reasons the service adds to the aggregation rule's own: problems found before
 * an update reaches the rule, or after the job has ended.
 */
export const SERVICE_REJECT_REASONS = [
  'decode_error',
  'bad_subject',
  'rank_mismatch',
  'job_mismatch',
  'invalid_id',
  'architecture_mismatch',
  'chunk_invalid',
  'chunk_timeout',
  'job_finished',
] as const;

export type ServiceRejectReason = (typeof SERVICE_REJECT_REASONS)[number];

/** Every reason the aggregator can record, for counters that start at zero. */
export const ALL_REJECT_REASONS: readonly string[] = [...REJECT_REASONS, ...SERVICE_REJECT_REASONS];
