import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamsRecord,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { lambdaImage } from '#audit/replay';
import { AUDIT_STREAM_SETTINGS } from '#audit/stream-settings';
import { invoke } from './handlers';
import { PRIVATE_DIR, PRIVATE_FILE } from './private-files';

/**
 * The local stand-in for Lambda's DynamoDB Streams event source mapping: reads DynamoDB Local's
 * Streams API for the given tables and hands each batch, in the exact event shape Lambda delivers, to the
 * same audit handler. Like the event source mapping it
 * - keeps a checkpoint per shard (the last sequence number fully processed), persisted under the state
 *   directory, so a restart neither loses nor repeats records;
 * - honours batch item failures: processing resumes at the first failed record, with back-off;
 * - after `retryAttempts` retries, writes the failing record to the on-failure file (the local SQS
 *   on-failure destination), logs it as an error and moves on — nothing is skipped silently;
 * - delivers a page as up to `parallelization` batches at once, split by partition key as Lambda's
 *   ParallelizationFactor does: each item's records stay in one batch, in stream order.
 * The tables are read side by side, so a busy stream never holds back another one.
 */
export interface StreamPollerOptions {
  endpoint: string;
  region?: string;
  /** Physical table names whose streams to read. */
  tables: string[];
  stateDir: string;
  /** Wait after a pass that found records; doubles per idle pass up to `idleIntervalMs`. */
  intervalMs?: number;
  idleIntervalMs?: number;
  retryAttempts?: number;
  /**
   * Batches of one page delivered at once (default `localParallelizationFactor`). The audit handler writes a
   * batch's records one after another, a few DynamoDB Local round trips each; one batch at a time made that the
   * ceiling of the whole feed, and the lag grew without bound once writes came faster.
   */
  parallelization?: number;
  log?: (line: string) => void;
  /** Default: the `audit-stream` function through the same `invoke` the local server uses. */
  deliver?: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
}

interface ShardCheckpoint {
  /** Last sequence number whose processing finished (success, or sent to the on-failure file). */
  seq?: string;
  /** The shard is closed and fully read. */
  done?: boolean;
}

type Checkpoints = Record<string, Record<string, ShardCheckpoint>>;

interface ShardRuntime {
  iterator?: string;
  failures: number;
  failingSeq?: string;
  retryAt: number;
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Lambda's event record: epoch seconds instead of a Date, plus the source ARN and region. */
export function toLambdaRecord(record: StreamsRecord, streamArn: string, region: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? region,
    eventSourceARN: streamArn,
    dynamodb: {
      // The poller's own clock: DynamoDB Local rounds this down to the minute, and an out-of-band change is
      // recorded at this time (never at a time taken from the item).
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      Keys: d.Keys as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
      ...(d.NewImage ? { NewImage: lambdaImage(d.NewImage) } : {}),
      ...(d.OldImage ? { OldImage: lambdaImage(d.OldImage) } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'],
    },
  };
}

export class StreamPoller {
  private readonly dynamo: DynamoDBClient;
  private readonly streams: DynamoDBStreamsClient;
  private readonly checkpointFile: string;
  private readonly failureFile: string;
  private readonly interval: number;
  private readonly idleInterval: number;
  private readonly shardLists = new Map<string, { shards: Shard[]; at: number }>();
  private readonly retryAttempts: number;
  private readonly parallelization: number;
  private readonly region: string;
  private readonly log: (line: string) => void;
  private readonly deliver: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  private checkpoints: Checkpoints;
  private readonly shards = new Map<string, ShardRuntime>();
  private readonly streamArns = new Map<string, string>();
  /** The partition key attribute of each stream's table: what a page is split by. */
  private readonly partitionKeys = new Map<string, string>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  /** One JSON object per line, as the handlers' Powertools lines are (and shown readable on a terminal alike). */
  private emit(level: 'INFO' | 'WARN' | 'ERROR', message: string, fields: Record<string, unknown> = {}): void {
    this.log(
      JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: 'stream-poller', ...fields }),
    );
  }

  constructor(private readonly options: StreamPollerOptions) {
    this.region = options.region ?? 'eu-central-1';
    this.dynamo = new DynamoDBClient({ endpoint: options.endpoint, region: this.region, credentials });
    this.streams = new DynamoDBStreamsClient({ endpoint: options.endpoint, region: this.region, credentials });
    // Made 0700 if new; a folder the user chose is left as it is, and the files in it are 0600.
    mkdirSync(options.stateDir, { recursive: true, mode: PRIVATE_DIR });
    this.checkpointFile = resolve(options.stateDir, 'stream-checkpoints.json');
    this.failureFile = resolve(options.stateDir, 'audit-stream-failures.jsonl');
    this.interval = options.intervalMs ?? AUDIT_STREAM_SETTINGS.localPollIntervalMs;
    this.idleInterval = Math.max(
      this.interval,
      options.idleIntervalMs ?? AUDIT_STREAM_SETTINGS.localIdlePollIntervalMs,
    );
    this.retryAttempts = options.retryAttempts ?? AUDIT_STREAM_SETTINGS.retryAttempts;
    this.parallelization = Math.max(
      1,
      Math.floor(options.parallelization ?? AUDIT_STREAM_SETTINGS.localParallelizationFactor),
    );
    this.log = options.log ?? ((line) => console.log(line));
    this.deliver = options.deliver ?? ((event) => invoke<DynamoDBBatchResponse | void>('audit-stream', event));
    this.checkpoints = existsSync(this.checkpointFile)
      ? (JSON.parse(readFileSync(this.checkpointFile, 'utf8')) as Checkpoints)
      : {};
  }

  /** Where records that failed every retry are written (one JSON line each). */
  get onFailureFile(): string {
    return this.failureFile;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      let wait = this.interval;
      while (this.running) {
        let delivered = 0;
        try {
          delivered = await this.pollOnce();
        } catch (err) {
          this.emit('ERROR', 'Stream poller pass failed', { error: (err as Error).message });
        }
        if (!this.running) break;
        // Busy shards are read again at once; idle passes wait, longer the longer nothing happens.
        if (delivered > 0) {
          wait = this.interval;
          continue;
        }
        await new Promise<void>((r) => {
          const timer = setTimeout(r, wait);
          this.wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        wait = Math.min(wait * 2, this.idleInterval);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.dynamo.destroy();
    this.streams.destroy();
  }

  /** One pass over every shard of every table: deliver what is new. Returns the number of records delivered. */
  async pollOnce(): Promise<number> {
    // Tables side by side (their streams are independent); the shards of one table in order.
    const counts = await Promise.all(this.options.tables.map((table) => this.pollTable(table)));
    return counts.reduce((a, b) => a + b, 0);
  }

  private async pollTable(table: string): Promise<number> {
    let delivered = 0;
    const streamArn = await this.streamArn(table);
    if (!streamArn) return 0;
    const shards = await this.listShards(streamArn);
    const known = new Set(shards.map((s) => s.ShardId));
    const state = (this.checkpoints[streamArn] ??= {});
    for (const shard of shards) {
      const id = shard.ShardId as string;
      if (state[id]?.done) continue;
      // Children wait until their parent is read to the end: stream order across a shard split.
      if (shard.ParentShardId && known.has(shard.ParentShardId) && !state[shard.ParentShardId]?.done) continue;
      delivered += await this.pollShard(streamArn, id, (state[id] ??= {}));
    }
    return delivered;
  }

  private async streamArn(table: string): Promise<string | undefined> {
    let arn = this.streamArns.get(table);
    if (!arn) {
      const described = await this.dynamo.send(new DescribeTableCommand({ TableName: table }));
      arn = described.Table?.LatestStreamArn;
      if (!arn) return undefined;
      this.streamArns.set(table, arn);
      const hashKey = described.Table?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
      if (hashKey) this.partitionKeys.set(arn, hashKey);
    }
    return arn;
  }

  /** The stream's shards, described again only every so often or once a shard has been read to its end. */
  private async listShards(streamArn: string): Promise<Shard[]> {
    const cached = this.shardLists.get(streamArn);
    const state = this.checkpoints[streamArn] ?? {};
    const fresh =
      cached &&
      Date.now() - cached.at < AUDIT_STREAM_SETTINGS.localShardRefreshMs &&
      cached.shards.some((s) => !state[s.ShardId as string]?.done);
    if (fresh) return cached.shards;
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const page = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }),
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      start = page.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    this.shardLists.set(streamArn, { shards, at: Date.now() });
    return shards;
  }

  private async iterator(streamArn: string, shardId: string, checkpoint: ShardCheckpoint): Promise<string | undefined> {
    const result = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(checkpoint.seq
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: checkpoint.seq }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return result.ShardIterator;
  }

  private async pollShard(streamArn: string, shardId: string, checkpoint: ShardCheckpoint): Promise<number> {
    const key = `${streamArn}|${shardId}`;
    const runtime = this.shards.get(key) ?? { failures: 0, retryAt: 0 };
    this.shards.set(key, runtime);
    if (Date.now() < runtime.retryAt) return 0;

    let page;
    try {
      runtime.iterator ??= await this.iterator(streamArn, shardId, checkpoint);
      if (!runtime.iterator) return 0;
      page = await this.streams.send(
        new GetRecordsCommand({ ShardIterator: runtime.iterator, Limit: AUDIT_STREAM_SETTINGS.batchSize }),
      );
    } catch (err) {
      runtime.iterator = undefined;
      if (err instanceof ExpiredIteratorException) return 0;
      // DynamoDB Local answers a sequence number it no longer holds with a ValidationException, where the service
      // answers TrimmedDataAccessException: both mean the records after the checkpoint are gone.
      const trimmed =
        err instanceof TrimmedDataAccessException ||
        (checkpoint.seq !== undefined &&
          (err as Error).name === 'ValidationException' &&
          /SequenceNumber/i.test((err as Error).message));
      if (trimmed) {
        if (checkpoint.seq) {
          // The checkpoint is older than the stream's 24 h retention: records after it are gone. Say so loudly,
          // then read what is left.
          this.emit('ERROR', 'Stream records expired unread', { shardId, after: checkpoint.seq });
        } else {
          // Nothing was read from this shard before (a fresh start): there is no gap, only where reading begins.
          this.emit('INFO', 'Stream shard read from its oldest available record', { shardId });
        }
        checkpoint.seq = undefined;
        this.saveCheckpoints();
        return 0;
      }
      throw err;
    }
    const records = page.Records ?? [];
    if (records.length === 0) {
      runtime.iterator = page.NextShardIterator;
      if (!page.NextShardIterator) {
        checkpoint.done = true;
        this.saveCheckpoints();
      }
      return 0;
    }

    const event: DynamoDBStreamEvent = { Records: records.map((r) => toLambdaRecord(r, streamArn, this.region)) };
    // The page's first failed record over all its batches: everything before it is done (records after it that
    // another batch did write come again, and the handler's idempotency makes that harmless).
    const failures = await Promise.all(this.batches(streamArn, event).map((batch) => this.deliverBatch(batch)));
    const failedSet = new Set(failures.filter((f): f is string => f !== undefined));
    const failedSeq = records.find((r) => failedSet.has(r.dynamodb?.SequenceNumber ?? ''))?.dynamodb?.SequenceNumber;

    if (failedSeq === undefined) {
      checkpoint.seq = records.at(-1)?.dynamodb?.SequenceNumber;
      runtime.iterator = page.NextShardIterator;
      runtime.failures = 0;
      runtime.failingSeq = undefined;
      if (!page.NextShardIterator) checkpoint.done = true;
      this.saveCheckpoints();
      return records.length;
    }

    // Everything before the first failure is done; resume at the failure (a fresh iterator after the checkpoint).
    const failedIndex = records.findIndex((r) => r.dynamodb?.SequenceNumber === failedSeq);
    if (failedIndex > 0) checkpoint.seq = records[failedIndex - 1]?.dynamodb?.SequenceNumber;
    runtime.iterator = undefined;
    runtime.failures = runtime.failingSeq === failedSeq ? runtime.failures + 1 : 1;
    runtime.failingSeq = failedSeq;
    if (runtime.failures > this.retryAttempts) {
      const poisoned = event.Records.find((r) => r.dynamodb?.SequenceNumber === failedSeq);
      appendFileSync(
        this.failureFile,
        `${JSON.stringify({ at: new Date().toISOString(), streamArn, shardId, attempts: runtime.failures, record: poisoned })}\n`,
        { mode: PRIVATE_FILE },
      );
      // A log made before it was created 0600 is narrowed too: it holds whole records (user items among them).
      chmodSync(this.failureFile, PRIVATE_FILE);
      this.emit('ERROR', 'Stream record failed; written to the failure log (npm run audit:replay re-drives it)', {
        sequenceNumber: failedSeq,
        shardId,
        attempts: runtime.failures,
        failureLog: this.failureFile,
      });
      checkpoint.seq = failedSeq;
      runtime.failures = 0;
      runtime.failingSeq = undefined;
      runtime.retryAt = 0;
    } else {
      runtime.retryAt = Date.now() + Math.min(this.interval * 2 ** (runtime.failures - 1), 5000);
    }
    this.saveCheckpoints();
    return Math.max(failedIndex, 0);
  }

  /**
   * A page as up to `parallelization` batches by partition key (Lambda's ParallelizationFactor): the records of
   * one item — of one audited entity — are all in one batch, in stream order, so each hash chain is written in order.
   */
  private batches(streamArn: string, event: DynamoDBStreamEvent): DynamoDBStreamEvent[] {
    if (this.parallelization === 1) return [event];
    const keyName = this.partitionKeys.get(streamArn);
    const groups = new Map<number, DynamoDBRecord[]>();
    for (const record of event.Records) {
      const keys = record.dynamodb?.Keys ?? {};
      const key = JSON.stringify(keyName ? keys[keyName] : keys);
      const slot = fnv1a(key) % this.parallelization;
      const group = groups.get(slot);
      if (group) group.push(record);
      else groups.set(slot, [record]);
    }
    return [...groups.values()].map((Records) => ({ Records }));
  }

  /** Delivers one batch; the sequence number of its first failed record, or undefined when all succeeded. */
  private async deliverBatch(event: DynamoDBStreamEvent): Promise<string | undefined> {
    try {
      const response = await this.deliver(event);
      const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      return event.Records.find((r) => failed.has(r.dynamodb?.SequenceNumber ?? ''))?.dynamodb?.SequenceNumber;
    } catch (err) {
      // A function error fails the whole batch, as in Lambda.
      this.emit('ERROR', 'Stream handler failed', { error: (err as Error).message });
      return event.Records[0]?.dynamodb?.SequenceNumber;
    }
  }

  private saveCheckpoints(): void {
    const tmp = `${this.checkpointFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.checkpoints, null, 2), { mode: PRIVATE_FILE });
    renameSync(tmp, this.checkpointFile);
  }
}

/** FNV-1a (32 bit): a stable, even spread of partition keys over the batches. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
