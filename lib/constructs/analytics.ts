import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ANALYTICS_STREAM_SETTINGS } from '#analytics/stream-settings';
import { SendOnlySqsDlq } from './send-only-queue';

export interface AnalyticsProps {
  /** The `analytics-stream` function (its analytics-table grant comes from FUNCTIONS: `analytics: 'write'`). */
  readonly consumer: IFunction;
  /** The charges table, whose NEW_AND_OLD_IMAGES stream the aggregates are kept from. */
  readonly charges: ITable;
  /** Encrypts the failure queues; default: a new customer-managed key with rotation. */
  readonly encryptionKey?: IKey;
  readonly removalPolicy?: RemovalPolicy;
  /** The stage, for alarm descriptions. */
  readonly stage?: string;
}

/** Oldest unprocessed charges-stream record of the analytics consumer before it alarms, in milliseconds. */
export const ANALYTICS_ITERATOR_AGE_ALARM_MS = 5 * 60_000;

/**
 * The analytics feed: a second consumer of the charges table stream (the audit trail is the first), with its own
 * event source mapping, on-failure queue and alarms, so a failing aggregate never holds back the audit trail:
 * - batch item failures are reported and the batch bisected on error; each record is applied once (its marker), so
 *   retries and redeliveries are harmless;
 * - after `retryAttempts` retries or `maxRecordAge`, the record's stream position goes to an encrypted, TLS-only SQS
 *   on-failure queue (with a DLQ of its own); the queues' alarms come from Observability (`deadLetterQueues`), the
 *   iterator-age alarm from here; `npm run analytics:rebuild` puts the aggregates right after a loss.
 */
export class Analytics extends Construct {
  readonly failureQueue: Queue;
  readonly failureDeadLetterQueue: Queue;
  readonly encryptionKey: IKey;
  /** The consumer lags behind the charges stream (aggregates not current). */
  readonly iteratorAgeAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AnalyticsProps) {
    super(scope, id);
    this.encryptionKey =
      props.encryptionKey ??
      new Key(this, 'QueueKey', {
        enableKeyRotation: true,
        description: 'Encrypts the analytics-stream on-failure queues',
        removalPolicy: props.removalPolicy,
      });
    const queueDefaults = {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    };
    this.failureDeadLetterQueue = new Queue(this, 'OnFailureDlq', queueDefaults);
    Validations.of(this.failureDeadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'The terminal dead-letter queue of the analytics on-failure queue; a queue behind it would only move the problem.',
    });
    this.failureQueue = new Queue(this, 'OnFailure', {
      ...queueDefaults,
      deadLetterQueue: { queue: this.failureDeadLetterQueue, maxReceiveCount: 5 },
    });

    Validations.of(props.consumer).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        "Invoked by a DynamoDB Streams event source mapping, not asynchronously: failed batches go to the mapping's SQS on-failure destination.",
    });
    props.consumer.addEventSource(
      new DynamoEventSource(props.charges, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: ANALYTICS_STREAM_SETTINGS.batchSize,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: ANALYTICS_STREAM_SETTINGS.retryAttempts,
        maxRecordAge: Duration.seconds(ANALYTICS_STREAM_SETTINGS.maxRecordAgeSeconds),
        parallelizationFactor: ANALYTICS_STREAM_SETTINGS.parallelizationFactor,
        onFailure: new SendOnlySqsDlq(this.failureQueue),
      }),
    );
    const consumerPolicy = props.consumer.role?.node.tryFindChild('DefaultPolicy');
    if (consumerPolicy) {
      Validations.of(consumerPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'dynamodb:ListStreams (part of reading a table stream) supports no resource-level permissions.',
      });
    }

    this.iteratorAgeAlarm = new Alarm(this, 'IteratorAge', {
      metric: props.consumer.metric('IteratorAge', { period: Duration.minutes(5), statistic: Stats.MAXIMUM }),
      threshold: ANALYTICS_ITERATOR_AGE_ALARM_MS,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `${props.stage ? `[${props.stage}] ` : ''}The analytics consumer lags more than ` +
        `${ANALYTICS_ITERATOR_AGE_ALARM_MS / 60_000} minutes behind the charges stream: dashboards are not current ` +
        '(runbook: analytics lag).',
    });
  }
}
