import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { adapterSet } from '#platform/adapters';
import { config } from '#platform/config';
import { SqsStreamFailures, type StreamFailureSource } from './replay';

/** The on-failure queue CDK names in AUDIT_FAILURE_QUEUE_URL (a new reader per replay: it keeps receipts). */
export function awsStreamFailures(): StreamFailureSource {
  const cfg = config();
  if (!cfg.AUDIT_FAILURE_QUEUE_URL) throw new Error('AUDIT_FAILURE_QUEUE_URL is not set: this function has no queue');
  return new SqsStreamFailures(
    new SQSClient({ region: cfg.AWS_REGION }),
    new DynamoDBStreamsClient({ region: cfg.AWS_REGION }),
    cfg.AUDIT_FAILURE_QUEUE_URL,
  );
}

const adapters = adapterSet<() => StreamFailureSource>(() => awsStreamFailures);

/** Where the audit stream's failures wait: a fresh reader of them. */
export const streamFailures = () => adapters.get()();
/** Installs another (the local runtime: the on-failure file). */
export const useStreamFailures = adapters.use;
