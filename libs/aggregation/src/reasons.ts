/**
 * Reasons for which admission rejects an update, for counting in metrics. The README describes
 * the check behind each one.
 */
export const REJECT_REASONS = [
  'malformed_update',
  'future_base_version',
  'too_stale',
  'window_evicted',
  'duplicate_update',
  'unknown_tensor',
  'missing_tensor',
  'wrong_shape',
  'non_finite',
  'norm_outlier',
  'rank_share_exceeded',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];
