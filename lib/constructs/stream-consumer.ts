import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SendOnlySqsDlq } from './send-only-queue';

/** How a consumer reads its streams: the numbers its event source mappings share with the local poller. */
export interface StreamSettings {
  readonly batchSize: number;
  readonly retryAttempts: number;
  readonly maxRecordAgeSeconds: number;
  readonly parallelizationFactor: number;
}

export interface StreamConsumerProps {
  /** The function the streams feed. */
  readonly consumer: IFunction;
  /** The tables whose NEW_AND_OLD_IMAGES streams it reads, one event source mapping each. */
  readonly tables: readonly ITable[];
  readonly settings: StreamSettings;
  /** What the consumer keeps ("audit", "analytics"): names the key and the acknowledgements. */
  readonly feed: string;
  /** Encrypts the failure queues; default: a new customer-managed key with rotation. */
  readonly encryptionKey?: IKey;
  /** For the queues and their key: prod keeps them (they hold unreplayed failures), dev destroys them. Default: CDK's. */
  readonly removalPolicy?: RemovalPolicy;
  /** An alarm when the oldest unprocessed record is older than `thresholdMs` (two 5-minute periods in a row). */
  readonly iteratorAgeAlarm?: { readonly thresholdMs: number; readonly description: string };
}

/**
 * A table-stream consumer wired so that nothing is dropped silently:
 * - batch item failures are reported, and the batch is bisected on error, so one poisoned record is isolated
 *   instead of blocking or failing its neighbours;
 * - after `retryAttempts` retries or `maxRecordAge`, the record's stream position goes to an encrypted, TLS-only
 *   SQS on-failure queue (which itself has a DLQ), send-only for the mapping (send-only-queue.ts);
 * - optionally an iterator-age alarm, for a consumer whose lag people see.
 * Its resources sit directly in this construct's scope (`QueueKey`, `OnFailure`, `OnFailureDlq`, `IteratorAge`).
 */
export class StreamConsumer extends Construct {
  readonly failureQueue: Queue;
  readonly failureDeadLetterQueue: Queue;
  readonly encryptionKey: IKey;
  /** The consumer lags behind its streams (with `iteratorAgeAlarm` only). */
  readonly iteratorAgeAlarm?: Alarm;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    this.encryptionKey =
      props.encryptionKey ??
      new Key(this, 'QueueKey', {
        enableKeyRotation: true,
        description: `Encrypts the ${props.feed}-stream on-failure queues`,
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
      reason: `The terminal dead-letter queue of the ${props.feed} on-failure queue; a queue behind it would only move the problem.`,
    });
    this.failureQueue = new Queue(this, 'OnFailure', {
      ...queueDefaults,
      deadLetterQueue: { queue: this.failureDeadLetterQueue, maxReceiveCount: 5 },
    });

    Validations.of(props.consumer).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        "Invoked by DynamoDB Streams event source mappings, not asynchronously: failed batches go to the mappings' SQS on-failure destination.",
    });
    const { settings } = props;
    for (const table of props.tables) {
      props.consumer.addEventSource(
        new DynamoEventSource(table, {
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: settings.batchSize,
          bisectBatchOnError: true,
          reportBatchItemFailures: true,
          retryAttempts: settings.retryAttempts,
          maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds),
          parallelizationFactor: settings.parallelizationFactor,
          // sqs:SendMessage and the producer's two key actions, no more (send-only-queue.ts).
          onFailure: new SendOnlySqsDlq(this.failureQueue),
        }),
      );
    }
    // The stream read grant includes dynamodb:ListStreams, which has no resource: acknowledged on that policy only.
    const consumerPolicy = props.consumer.role?.node.tryFindChild('DefaultPolicy');
    if (consumerPolicy) {
      Validations.of(consumerPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'dynamodb:ListStreams (part of reading a table stream) supports no resource-level permissions.',
      });
    }

    if (props.iteratorAgeAlarm) {
      this.iteratorAgeAlarm = new Alarm(this, 'IteratorAge', {
        metric: props.consumer.metric('IteratorAge', { period: Duration.minutes(5), statistic: Stats.MAXIMUM }),
        threshold: props.iteratorAgeAlarm.thresholdMs,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: props.iteratorAgeAlarm.description,
      });
    }
  }
}
