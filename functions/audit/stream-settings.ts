/**
 * How the audit consumer reads the table streams — one set of numbers for the Lambda event source mapping
 * (lib/constructs/audit-trail.ts) and the local poller (local/stream-poller.ts), so both retry alike.
 */
export const AUDIT_STREAM_SETTINGS = {
  batchSize: 100,
  /** Retries of a failing batch before its metadata goes to the on-failure queue. */
  retryAttempts: 10,
  /** Records older than this are sent to the on-failure queue instead of being retried further. */
  maxRecordAgeSeconds: 24 * 60 * 60,
  /** Lambda: one concurrent batch per shard keeps each entity's records in order. */
  parallelizationFactor: 1,
  /**
   * Entities the handler writes at once within a batch (each entity's records still one after another, in stream
   * order). An append is a few round trips; one record at a time made their latency the feed's ceiling.
   */
  handlerConcurrency: 10,
  /** Local poller: how often a shard is asked for new records right after activity (audit lag target p95 < 2 s). */
  localPollIntervalMs: 200,
  /**
   * Local poller: each idle pass doubles the wait up to this, so an idle `npm start` costs DynamoDB Local
   * about two calls a second instead of twenty; any record brings the interval back down at once.
   */
  localIdlePollIntervalMs: 1000,
  /**
   * Local poller: batches of one page delivered at once, split by partition key (each entity's records in one
   * batch, in order), as Lambda's ParallelizationFactor splits a shard. DynamoDB Local takes a few milliseconds
   * per call where DynamoDB takes one, so one batch at a time capped the local feed at about 30 audited writes a
   * second (docs/benchmarks.md).
   */
  localParallelizationFactor: 4,
  /** Local poller: how long the list of a stream's shards is reused before it is described again. */
  localShardRefreshMs: 10_000,
} as const;
