import type { RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { AUDIT_STREAM_SETTINGS } from '#audit/stream-settings';
import { StreamConsumer } from './stream-consumer';

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
 * The audit feed: the audited tables' streams → the audit-stream function, wired so that nothing is dropped
 * silently (stream-consumer.ts: bisect, batch item failures, an encrypted on-failure queue with its own DLQ) —
 * alarm on that queue and replay from there; one batch per shard at a time (parallelization 1) keeps each
 * entity's changes in order.
 */
export class AuditTrail extends StreamConsumer {
  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id, { ...props, settings: AUDIT_STREAM_SETTINGS, feed: 'audit' });
    // The re-drive (`npm run audit:replay -- --aws`): receive and delete the queue's messages, read the stream back.
    this.failureQueue.grantConsumeMessages(props.consumer);
    props.consumer.addEnvironment('AUDIT_FAILURE_QUEUE_URL', this.failureQueue.queueUrl);
  }
}
