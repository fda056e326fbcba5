import {
  type _Record as StreamsRecord,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/** One failed batch waiting for a re-drive: the stream records it stands for. */
export interface StreamFailure {
  /** Where it is kept (a message id, a line): for the report. */
  readonly id: string;
  readonly records: DynamoDBRecord[];
  /** Why its records cannot be had (past the stream's retention, an unreadable message): it stays. */
  readonly problem?: string;
}

/**
 * Where the audit stream's failures wait (AWS: the SQS on-failure queue, whose messages hold stream positions;
 * locally the on-failure file, which holds the records). `receive` hands out what waits, `done` takes a failure
 * away once every record of it is on the trail, `close` puts back what is not done.
 */
export interface StreamFailureSource {
  receive(): Promise<StreamFailure[]>;
  done(failure: StreamFailure): Promise<void>;
  close?(): Promise<void>;
}

export interface ReplayResult {
  replayed: number;
  failed: number;
  /** Why the failures that stay failed (one line each). */
  problems: string[];
}

/**
 * Re-drives every failure the source holds through the audit stream handler, one failure at a time, in stream
 * order within it. A failure leaves the source only when the handler took all its records; the rest stays for the
 * next run. Idempotent: each append is keyed by the stream record's eventID, so a record on the trail already is a
 * duplicate, not a second record.
 */
export async function replayFailuresFrom(
  source: StreamFailureSource,
  deliver: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>,
): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: 0, failed: 0, problems: [] };
  const seen = new Set<string>();
  try {
    for (;;) {
      // A failure that stays is received again (SQS, after its visibility timeout): each is tried once a run.
      const batch = (await source.receive()).filter((f) => !seen.has(f.id));
      if (batch.length === 0) break;
      for (const failure of batch) {
        seen.add(failure.id);
        const problem = failure.problem ?? (await redrive(failure, deliver));
        if (problem === undefined) {
          await source.done(failure);
          result.replayed++;
        } else {
          result.failed++;
          result.problems.push(`${failure.id}: ${problem}`);
        }
      }
    }
  } finally {
    await source.close?.();
  }
  return result;
}

/** Why the failure's records did not all go onto the trail, or undefined when they did. */
async function redrive(
  failure: StreamFailure,
  deliver: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>,
): Promise<string | undefined> {
  try {
    const response = failure.records.length > 0 ? await deliver({ Records: failure.records }) : undefined;
    const failed = response?.batchItemFailures.length ?? 0;
    return failed > 0 ? `${failed} of ${failure.records.length} records failed again` : undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** What Lambda's stream on-failure destination puts on the queue: the failed batch's place in the stream. */
interface StreamBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  batchSize?: number;
  streamArn: string;
}

function batchInfoOf(body: string | undefined): StreamBatchInfo {
  const info = (JSON.parse(body ?? 'null') as { DDBStreamBatchInfo?: Partial<StreamBatchInfo> } | null)
    ?.DDBStreamBatchInfo;
  if (
    !info ||
    typeof info.shardId !== 'string' ||
    typeof info.streamArn !== 'string' ||
    !/^\d+$/.test(String(info.startSequenceNumber)) ||
    !/^\d+$/.test(String(info.endSequenceNumber))
  ) {
    throw new Error('Not a DynamoDB stream on-failure message (no DDBStreamBatchInfo)');
  }
  return info as StreamBatchInfo;
}

type LambdaImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/**
 * A Streams API image in Lambda's shape. The SDK reads an empty map attribute (`{"M":{}}` on the wire) as `{}`, an
 * attribute value with no type, which no reader can unmarshall: an item with an empty map (a definition without
 * filters) would be a poisoned record. DynamoDB has no other empty value without a type, so `{}` is that map.
 */
export function lambdaImage(image: Record<string, unknown> | undefined): LambdaImage | undefined {
  if (!image) return undefined;
  const value = (av: unknown): unknown => {
    if (!av || typeof av !== 'object') return av;
    const v = av as Record<string, unknown>;
    if (Object.keys(v).length === 0) return { M: {} };
    if (v.M && typeof v.M === 'object') {
      return { M: Object.fromEntries(Object.entries(v.M as Record<string, unknown>).map(([k, x]) => [k, value(x)])) };
    }
    if (Array.isArray(v.L)) return { L: v.L.map(value) };
    return av;
  };
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, value(v)])) as LambdaImage;
}

/** Lambda's event record from a Streams API record: epoch seconds instead of a Date, plus source ARN and region. */
export function lambdaRecordOf(record: StreamsRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? /^arn:[^:]+:dynamodb:([^:]+):/.exec(streamArn)?.[1],
    eventSourceARN: streamArn,
    dynamodb: {
      // The stream's own time of the change (an out-of-band change is recorded at it), not the replay's.
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
      Keys: d.Keys as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
      ...(d.NewImage ? { NewImage: lambdaImage(d.NewImage) } : {}),
      ...(d.OldImage ? { OldImage: lambdaImage(d.OldImage) } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'],
    },
  };
}

/** GetRecords rounds on an open shard that answer nothing before the range is taken as read to its end. */
const MAX_EMPTY_READS = 5;

/**
 * The SQS on-failure queue of the audit stream mappings. Its messages hold a failed batch's shard and sequence
 * range, not the records: the records are read back from the stream (AT_SEQUENCE_NUMBER), which keeps them for
 * 24 hours. A message whose records the stream no longer has cannot be re-driven and stays (with its DLQ and
 * alarm); the stream's TrimmedDataAccessException says so.
 */
export class SqsStreamFailures implements StreamFailureSource {
  private readonly receipts = new Map<string, string>();

  constructor(
    private readonly sqs: SQSClient,
    private readonly streams: DynamoDBStreamsClient,
    private readonly queueUrl: string,
    /** Long enough to replay a batch before another reader could see the message. */
    private readonly visibilityTimeoutSeconds = 300,
  ) {}

  async receive(): Promise<StreamFailure[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: this.visibilityTimeoutSeconds,
      }),
    );
    const failures: StreamFailure[] = [];
    for (const message of out.Messages ?? []) {
      const id = message.MessageId ?? '';
      if (message.ReceiptHandle) this.receipts.set(id, message.ReceiptHandle);
      try {
        failures.push({ id, records: await this.read(batchInfoOf(message.Body)) });
      } catch (err) {
        // Unreadable, or past the stream's retention: a failure that stays on the queue.
        failures.push({ id, records: [], problem: (err as Error).message });
      }
    }
    return failures;
  }

  /** The batch's records, from its first to its last sequence number. */
  private async read(info: StreamBatchInfo): Promise<DynamoDBRecord[]> {
    const { ShardIterator } = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: info.streamArn,
        ShardId: info.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: info.startSequenceNumber,
      }),
    );
    const end = BigInt(info.endSequenceNumber);
    const records: DynamoDBRecord[] = [];
    let iterator = ShardIterator;
    for (let empty = 0; iterator && empty < MAX_EMPTY_READS;) {
      const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      const got = page.Records ?? [];
      empty = got.length === 0 ? empty + 1 : 0;
      for (const record of got) {
        if (BigInt(record.dynamodb?.SequenceNumber ?? '0') > end) return records;
        records.push(lambdaRecordOf(record, info.streamArn));
      }
      if (records.length > 0 && BigInt(records.at(-1)?.dynamodb?.SequenceNumber ?? '0') >= end) return records;
      iterator = page.NextShardIterator;
    }
    if (records.length === 0) throw new Error(`No records of ${info.shardId} from ${info.startSequenceNumber}`);
    return records;
  }

  async done(failure: StreamFailure): Promise<void> {
    const receipt = this.receipts.get(failure.id);
    if (!receipt) return;
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receipt }));
    this.receipts.delete(failure.id);
  }
}
