/**
 * How the analytics consumer reads the charges stream: one set of numbers for the Lambda event source mapping
 * (lib/constructs/analytics.ts) and the local poller (local/runtime.ts).
 */
export const ANALYTICS_STREAM_SETTINGS = {
  batchSize: 100,
  /** Retries of a failing batch before its metadata goes to the on-failure queue. */
  retryAttempts: 10,
  /** Records older than this go to the on-failure queue instead of being retried further. */
  maxRecordAgeSeconds: 24 * 60 * 60,
  /**
   * Deltas add up in any order, so the consumer needs no per-item ordering; one batch per shard still keeps
   * concurrent transactions on the same buckets (and their conflicts) few.
   */
  parallelizationFactor: 1,
} as const;
