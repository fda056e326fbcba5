/**
 * How the audit consumer reads the table streams — one set of numbers for the Lambda event source mapping
 * (lib/constructs/audit-trail.ts) and the local poller (scripts/local/stream-poller.ts), so both retry alike.
 */
export const AUDIT_STREAM_SETTINGS = {
  batchSize: 100,
  /** Retries of a failing batch before its metadata goes to the on-failure queue. */
  retryAttempts: 10,
  /** Records older than this are sent to the on-failure queue instead of being retried further. */
  maxRecordAgeSeconds: 24 * 60 * 60,
  /** Lambda: one concurrent batch per shard keeps each entity's records in order. */
  parallelizationFactor: 1,
  /** Local poller: how often an idle shard is asked for new records (audit lag target p95 < 2 s). */
  localPollIntervalMs: 200,
} as const;
