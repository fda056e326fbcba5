import { type App, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AttributeType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { expect } from 'vitest';
import { TABLES, type TableId } from '#platform/tables';
import type { StreamSettings } from '#lib/constructs/stream-consumer';

/** Every table of the shared definitions as the data stack builds it (keys, encryption, streams), construct id `<id>Table`. */
export function tablesFromDefinitions(stack: Stack, key: IKey): Record<TableId, Table> {
  return Object.fromEntries(
    (Object.keys(TABLES) as TableId[]).map((id) => {
      const def = TABLES[id];
      const table = new Table(stack, `${id}Table`, {
        partitionKey: { name: def.partitionKey.name, type: AttributeType.STRING },
        ...('sortKey' in def
          ? {
              sortKey: {
                name: def.sortKey.name,
                type: def.sortKey.type === 'N' ? AttributeType.NUMBER : AttributeType.STRING,
              },
            }
          : {}),
        encryption: TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        ...('stream' in def ? { stream: StreamViewType.NEW_AND_OLD_IMAGES } : {}),
        removalPolicy: RemovalPolicy.DESTROY,
      });
      return [id, table];
    }),
  ) as Record<TableId, Table>;
}

/**
 * The mapping of a table's stream to a consumer (logical ids by prefix): trim horizon, the settings' batch size,
 * retries and max age, bisect on error, batch item failures, and the consumer's SQS on-failure queue.
 */
export function expectStreamMapping(
  template: Template,
  m: {
    table: string;
    consumer: string;
    failureQueue: string;
    settings: StreamSettings;
    parallelizationFactor?: number;
  },
): void {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${m.table}Table`), 'StreamArn'] },
    FunctionName: { Ref: Match.stringLikeRegexp(`^${m.consumer}`) },
    StartingPosition: 'TRIM_HORIZON',
    BatchSize: m.settings.batchSize,
    BisectBatchOnFunctionError: true,
    MaximumRetryAttempts: m.settings.retryAttempts,
    MaximumRecordAgeInSeconds: m.settings.maxRecordAgeSeconds,
    ...(m.parallelizationFactor === undefined ? {} : { ParallelizationFactor: m.parallelizationFactor }),
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    DestinationConfig: {
      OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${m.failureQueue}[0-9A-F]`), 'Arn'] } },
    },
  });
}

/**
 * A consumer's on-failure queue `<prefix>OnFailure`: encrypted with `<prefix>QueueKey`, redriven to
 * `<prefix>OnFailureDlq` after 5 receives; and every queue policy of the template denies non-TLS access.
 * Returns the queue policies.
 */
export function expectEncryptedFailureQueue(template: Template, prefix: string) {
  template.hasResourceProperties('AWS::SQS::Queue', {
    KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${prefix}QueueKey`), 'Arn'] },
    RedrivePolicy: {
      deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${prefix}OnFailureDlq`), 'Arn'] },
      maxReceiveCount: 5,
    },
  });
  const policies = template.findResources('AWS::SQS::QueuePolicy');
  for (const policy of Object.values(policies)) {
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  }
  return policies;
}

/** The cdk-nag AwsSolutions and Serverless findings on constructs whose path contains one of `fragments`. */
export function nagFindingsOn(app: App, fragments: readonly string[]): { rule: string; paths: string[] }[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.map((v) => ({
        rule: v.ruleName,
        paths: v.violatingResources
          .map((r) => r.constructPath ?? '')
          .filter((p) => fragments.some((f) => p.includes(f))),
      }))
      .filter((v) => v.paths.length > 0),
  );
}
