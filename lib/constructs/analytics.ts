import type { RemovalPolicy } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { ANALYTICS_STREAM_SETTINGS } from '#analytics/stream-settings';
import { StreamConsumer } from './stream-consumer';

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
 * event source mapping, on-failure queue and alarms (stream-consumer.ts), so a failing aggregate never holds back
 * the audit trail:
 * - batch item failures are reported and the batch bisected on error; each record is applied once (its marker), so
 *   retries and redeliveries are harmless;
 * - after `retryAttempts` retries or `maxRecordAge`, the record's stream position goes to an encrypted, TLS-only SQS
 *   on-failure queue (with a DLQ of its own); the queues' alarms come from Observability (`deadLetterQueues`), the
 *   iterator-age alarm from here; `npm run analytics:rebuild` puts the aggregates right after a loss.
 */
export class Analytics extends StreamConsumer {
  /** The consumer lags behind the charges stream (aggregates not current). */
  declare readonly iteratorAgeAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AnalyticsProps) {
    super(scope, id, {
      consumer: props.consumer,
      tables: [props.charges],
      settings: ANALYTICS_STREAM_SETTINGS,
      feed: 'analytics',
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
      iteratorAgeAlarm: {
        thresholdMs: ANALYTICS_ITERATOR_AGE_ALARM_MS,
        description:
          `${props.stage ? `[${props.stage}] ` : ''}The analytics consumer lags more than ` +
          `${ANALYTICS_ITERATOR_AGE_ALARM_MS / 60_000} minutes behind the charges stream: dashboards are not current ` +
          '(runbook: analytics lag).',
      },
    });
  }
}
