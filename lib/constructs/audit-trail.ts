import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AUDIT_STREAM_SETTINGS } from '#audit/stream-settings';
import { SendOnlySqsDlq } from './send-only-queue';

export interface AuditTrailProps {
  /**
   * The `audit-stream` function (its audit-table grant comes from FUNCTIONS: `audit: 'append'`). It also re-drives
   * the on-failure queue when invoked with `{"replay": "on-failure-queue"}` (functions/audit/replay.ts).
   */
  readonly consumer: IFunction & { addEnvironment(key: string, value: string): unknown };
  /** The tables whose NEW_AND_OLD_IMAGES streams feed the audit trail (AUDITED_TABLE_IDS). */
  readonly tables: readonly ITable[];
  /** Encrypts the failure queues; default: a new customer-managed key with rotation. */
  readonly encryptionKey?: IKey;
  /** For the queues and their key: prod keeps them (they hold unreplayed failures), dev destroys them. Default: CDK's. */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The audit feed: the charges and users table streams → the audit-stream function, with the
 * event source mapping settings that make sure nothing is dropped silently:
 * - batch item failures are reported, and the batch is bisected on error, so one poisoned record is
 *   isolated instead of blocking or failing its neighbours;
 * - after `retryAttempts` retries or `maxRecordAge`, the record's stream position goes to an encrypted,
 *   TLS-only SQS on-failure queue (which itself has a DLQ) — alarm on it and replay from there;
 * - one batch per shard at a time (parallelization 1) keeps each entity's changes in order.
 */
export class AuditTrail extends Construct {
  readonly failureQueue: Queue;
  readonly failureDeadLetterQueue: Queue;
  readonly encryptionKey: IKey;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    this.encryptionKey =
      props.encryptionKey ??
      new Key(this, 'QueueKey', {
        enableKeyRotation: true,
        description: 'Encrypts the audit-stream on-failure queues',
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
        'This is the terminal dead-letter queue of the audit on-failure queue; a queue behind it would only move the problem.',
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

    for (const table of props.tables) {
      props.consumer.addEventSource(
        new DynamoEventSource(table, {
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: AUDIT_STREAM_SETTINGS.batchSize,
          bisectBatchOnError: true,
          reportBatchItemFailures: true,
          retryAttempts: AUDIT_STREAM_SETTINGS.retryAttempts,
          maxRecordAge: Duration.seconds(AUDIT_STREAM_SETTINGS.maxRecordAgeSeconds),
          parallelizationFactor: AUDIT_STREAM_SETTINGS.parallelizationFactor,
          // sqs:SendMessage and the producer's two key actions, no more (send-only-queue.ts).
          onFailure: new SendOnlySqsDlq(this.failureQueue),
        }),
      );
    }
    // The re-drive (`npm run audit:replay -- --aws`): receive and delete the queue's messages, read the stream back.
    this.failureQueue.grantConsumeMessages(props.consumer);
    props.consumer.addEnvironment('AUDIT_FAILURE_QUEUE_URL', this.failureQueue.queueUrl);

    // The stream read grant includes dynamodb:ListStreams, which has no resource: acknowledged on that policy only.
    const consumerPolicy = props.consumer.role?.node.tryFindChild('DefaultPolicy');
    if (consumerPolicy) {
      Validations.of(consumerPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'dynamodb:ListStreams (part of reading a table stream) supports no resource-level permissions.',
      });
    }
  }
}
