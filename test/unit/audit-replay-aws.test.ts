import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { replayFailuresFrom, SqsStreamFailures } from '#audit/replay';

const sqs = mockClient(SQSClient);
const streams = mockClient(DynamoDBStreamsClient);
afterEach(() => {
  sqs.reset();
  streams.reset();
});

const QUEUE = 'https://sqs.eu-central-1.amazonaws.com/123456789012/audit-on-failure';
const STREAM = 'arn:aws:dynamodb:eu-central-1:123456789012:table/charges/stream/2026-12-01T00:00:00.000';

/** What Lambda's on-failure destination sends for a failed stream batch (AWS docs' format). */
const failureMessage = (id: string, start: string, end: string, size = 2) => ({
  MessageId: id,
  ReceiptHandle: `receipt-${id}`,
  Body: JSON.stringify({
    requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 },
    responseContext: { statusCode: 200, functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2026-12-07T09:00:00.000Z',
    DDBStreamBatchInfo: {
      shardId: 'shardId-0001',
      startSequenceNumber: start,
      endSequenceNumber: end,
      batchSize: size,
      streamArn: STREAM,
    },
  }),
});

const streamRecord = (seq: string) => ({
  eventID: `event-${seq}`,
  eventName: 'MODIFY' as const,
  awsRegion: 'eu-central-1',
  dynamodb: {
    ApproximateCreationDateTime: new Date('2026-12-07T08:59:30.000Z'),
    Keys: { chargeId: { S: 'c1' }, sk: { S: 'CHARGE' } },
    NewImage: { chargeId: { S: 'c1' }, sk: { S: 'CHARGE' }, version: { N: '2' } },
    OldImage: { chargeId: { S: 'c1' }, sk: { S: 'CHARGE' }, version: { N: '1' } },
    SequenceNumber: seq,
    StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
  },
});

/** The queue answers `messages` once, then nothing. */
function queueOf(...messages: ReturnType<typeof failureMessage>[]) {
  sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages }).resolves({ Messages: [] });
  sqs.on(DeleteMessageCommand).resolves({});
}

const source = () => new SqsStreamFailures(new SQSClient({}), new DynamoDBStreamsClient({}), QUEUE);
const ok = async (_e: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => ({ batchItemFailures: [] });

describe('re-driving the SQS on-failure queue (AWS adapter)', () => {
  it("reads the message's range back from the stream at its sequence number, delivers it, then deletes the message", async () => {
    queueOf(failureMessage('m1', '100', '101'));
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    // An open shard's first read may be empty; then the range and a record past it.
    streams
      .on(GetRecordsCommand, { ShardIterator: 'it-1' })
      .resolves({ Records: [], NextShardIterator: 'it-2' })
      .on(GetRecordsCommand, { ShardIterator: 'it-2' })
      .resolves({
        Records: [streamRecord('100'), streamRecord('101'), streamRecord('102')],
        NextShardIterator: 'it-3',
      });
    const deliver = vi.fn(ok);

    expect(await replayFailuresFrom(source(), deliver)).toEqual({ replayed: 1, failed: 0, problems: [] });
    expect(streams.commandCalls(GetShardIteratorCommand)[0]!.args[0].input).toEqual({
      StreamArn: STREAM,
      ShardId: 'shardId-0001',
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: '100',
    });
    const event = deliver.mock.calls[0]![0];
    expect(event.Records.map((r) => r.dynamodb?.SequenceNumber)).toEqual(['100', '101']);
    // Lambda's shape: the stream's own time in epoch seconds (an out-of-band change is recorded at it), the source.
    expect(event.Records[0]).toMatchObject({
      eventID: 'event-100',
      eventSource: 'aws:dynamodb',
      eventSourceARN: STREAM,
      awsRegion: 'eu-central-1',
      dynamodb: { ApproximateCreationDateTime: Date.parse('2026-12-07T08:59:30.000Z') / 1000 },
    });
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input).toMatchObject({
      QueueUrl: QUEUE,
      VisibilityTimeout: 300,
    });
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE, ReceiptHandle: 'receipt-m1' },
    ]);
  });

  it('a batch that fails again stays on the queue: no DeleteMessage', async () => {
    queueOf(failureMessage('m1', '100', '100', 1));
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    streams.on(GetRecordsCommand).resolves({ Records: [streamRecord('100')], NextShardIterator: 'it-2' });
    const failing = async () => ({ batchItemFailures: [{ itemIdentifier: '100' }] });

    const result = await replayFailuresFrom(source(), failing);
    expect(result).toMatchObject({ replayed: 0, failed: 1 });
    expect(result.problems[0]).toMatch(/^m1: 1 of 1 records failed again/);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  });

  it('a range the stream no longer holds (past 24 h) stays, and nothing is delivered', async () => {
    queueOf(failureMessage('old', '5', '6'));
    streams.on(GetShardIteratorCommand).rejects(new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} }));
    const deliver = vi.fn(ok);
    const result = await replayFailuresFrom(source(), deliver);
    expect(result).toMatchObject({ replayed: 0, failed: 1 });
    expect(result.problems[0]).toMatch(/^old: trimmed/);
    expect(deliver).not.toHaveBeenCalled();
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  });

  it('a message that is not a stream batch stays, the others are re-driven', async () => {
    queueOf(
      { MessageId: 'junk', ReceiptHandle: 'receipt-junk', Body: '{"hello":1}' },
      failureMessage('m2', '7', '7', 1),
    );
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    streams.on(GetRecordsCommand).resolves({ Records: [streamRecord('7')], NextShardIterator: 'it-2' });
    const result = await replayFailuresFrom(source(), ok);
    expect(result).toMatchObject({ replayed: 1, failed: 1 });
    expect(result.problems[0]).toMatch(/^junk: Not a DynamoDB stream on-failure message/);
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual(['receipt-m2']);
  });

  it('a message received again in the same run (its visibility ran out) is tried once', async () => {
    const message = failureMessage('m1', '100', '100', 1);
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message] })
      .resolvesOnce({ Messages: [message] })
      .resolves({ Messages: [] });
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    streams.on(GetRecordsCommand).resolves({ Records: [streamRecord('100')], NextShardIterator: 'it-2' });
    const failing = vi.fn(async () => ({ batchItemFailures: [{ itemIdentifier: '100' }] }));
    expect(await replayFailuresFrom(source(), failing)).toMatchObject({ replayed: 0, failed: 1 });
    expect(failing).toHaveBeenCalledTimes(1);
  });
});
