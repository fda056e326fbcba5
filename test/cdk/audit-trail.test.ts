import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_STREAM_SETTINGS } from '#audit/stream-settings';
import { AUDITED_TABLE_IDS, TABLES, type TableId } from '#platform/tables';
import { AppFunction } from '#lib/constructs/app-function';
import { AuditTrail } from '#lib/constructs/audit-trail';

let template: Template;
let stack: Stack;
let app: App;

beforeAll(() => {
  // No esbuild bundling in unit tests: the template, not the bundle, is under test.
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'AuditTrailTest', { env: { account: '111111111111', region: 'eu-central-1' } });
  const key = new Key(stack, 'TableKey', { enableKeyRotation: true });
  const tables = Object.fromEntries(
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
  const consumer = new AppFunction(stack, 'AuditStreamFunction', {
    functionId: 'audit-stream',
    logRetention: RetentionDays.ONE_MONTH,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  });
  consumer.bindTables(tables);
  new AuditTrail(stack, 'AuditTrail', { consumer, tables: AUDITED_TABLE_IDS.map((id) => tables[id]) });
  template = Template.fromStack(stack);
});

const streamOf = (id: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${id}Table`), 'StreamArn'] });

describe('AuditTrail construct', () => {
  it.each(['charges', 'users', 'reports'])(
    'maps the %s stream to the audit function with bisect, retries, max age, batch failures and an SQS on-failure destination',
    (id) => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: streamOf(id),
        FunctionName: { Ref: Match.stringLikeRegexp('^AuditStreamFunction') },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: AUDIT_STREAM_SETTINGS.batchSize,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: AUDIT_STREAM_SETTINGS.retryAttempts,
        MaximumRecordAgeInSeconds: AUDIT_STREAM_SETTINGS.maxRecordAgeSeconds,
        ParallelizationFactor: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuditTrailOnFailure[0-9A-F]'), 'Arn'] } },
        },
      });
    },
  );

  it('the audit function may re-drive the on-failure queue: receive and delete its messages, and knows its URL', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const onQueue = statements.filter((s) => /AuditTrailOnFailure[0-9A-F]/.test(JSON.stringify(s.Resource)));
    const actions = onQueue.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage']));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          AUDIT_FAILURE_QUEUE_URL: { Ref: Match.stringLikeRegexp('^AuditTrailOnFailure[0-9A-F]') },
        }),
      },
    });
  });

  it('has no other event source mappings (the audit table itself is not streamed into itself)', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(3);
    expect(AUDITED_TABLE_IDS).toEqual(['charges', 'users', 'reports']);
  });

  it('the on-failure queue is KMS-encrypted, TLS-only and has its own DLQ', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuditTrailQueueKey'), 'Arn'] },
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuditTrailOnFailureDlq'), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      Description: Match.stringLikeRegexp('on-failure'),
    });
  });

  it('the audit function may read and PutItem on the audit table, and never UpdateItem, DeleteItem or BatchWriteItem', () => {
    const role = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) =>
      id.startsWith('AuditStreamFunctionRole'),
    );
    expect(role).toBeDefined();
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(role![0]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const onAudit = statements.filter((s) => JSON.stringify(s.Resource).includes('auditTable'));
    const actions = onAudit.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:GetItem']));
    for (const forbidden of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:*']) {
      expect(actions).not.toContain(forbidden);
    }
    // Nothing but describe on charges/users (for their names), apart from the stream read of the mappings.
    const onCharges = statements.filter((s) => JSON.stringify(s.Resource).includes('chargesTable'));
    const chargeActions = onCharges.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(chargeActions.filter((a) => !a.startsWith('dynamodb:') || /Put|Update|Delete|Write/.test(a))).toEqual([]);
    // It may send its failures to the on-failure queue.
    expect(
      statements.some(
        (s) =>
          JSON.stringify(s.Action).includes('sqs:SendMessage') &&
          JSON.stringify(s.Resource).includes('AuditTrailOnFailure'),
      ),
    ).toBe(true);
  });

  it('cdk-nag AwsSolutions and Serverless report nothing on the construct', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(app);
      const ours = report.violations
        .map((v) => ({
          rule: v.ruleName,
          paths: v.violatingResources
            .map((r) => r.constructPath)
            .filter((p) => p?.includes('/AuditTrail/') || p?.includes('/AuditStreamFunction')),
        }))
        .filter((v) => v.paths.length > 0);
      expect(ours).toEqual([]);
      // The stream consumer needs no function DLQ: its failures go to the mapping's on-failure queue.
      const dlqFindings = report.violations.filter(
        (v) =>
          v.ruleName === 'Serverless-LambdaDLQ' &&
          v.violatingResources.some((r) => r.constructPath?.includes('AuditStreamFunction')),
      );
      expect(dlqFindings).toEqual([]);
    }
    expect(stack.node.tryFindChild('AuditTrail')).toBeDefined();
  });
});
