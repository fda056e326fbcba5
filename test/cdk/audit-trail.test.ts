import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_STREAM_SETTINGS } from '#audit/stream-settings';
import { AUDITED_TABLE_IDS } from '#platform/tables';
import { AppFunction } from '#lib/constructs/app-function';
import { AuditTrail } from '#lib/constructs/audit-trail';
import {
  expectEncryptedFailureQueue,
  expectStreamMapping,
  nagFindingsOn,
  tablesFromDefinitions,
} from './support/stream-consumer';

let template: Template;
let stack: Stack;
let app: App;

beforeAll(() => {
  // No esbuild bundling in unit tests: the template, not the bundle, is under test.
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'AuditTrailTest', { env: { account: '111111111111', region: 'eu-central-1' } });
  const key = new Key(stack, 'TableKey', { enableKeyRotation: true });
  const tables = tablesFromDefinitions(stack, key);
  const consumer = new AppFunction(stack, 'AuditStreamFunction', {
    functionId: 'audit-stream',
    logRetention: RetentionDays.ONE_MONTH,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  });
  consumer.bindTables(tables);
  new AuditTrail(stack, 'AuditTrail', { consumer, tables: AUDITED_TABLE_IDS.map((id) => tables[id]) });
  template = Template.fromStack(stack);
});

describe('AuditTrail construct', () => {
  it.each(['charges', 'users', 'reports', 'dashboards'])(
    'maps the %s stream to the audit function with bisect, retries, max age, batch failures and an SQS on-failure destination',
    (id) => {
      expectStreamMapping(template, {
        table: id,
        consumer: 'AuditStreamFunction',
        failureQueue: 'AuditTrailOnFailure',
        settings: AUDIT_STREAM_SETTINGS,
        parallelizationFactor: 1,
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
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(4);
    expect(AUDITED_TABLE_IDS).toEqual(['charges', 'users', 'reports', 'dashboards']);
  });

  it('the on-failure queue is KMS-encrypted, TLS-only and has its own DLQ', () => {
    const policies = expectEncryptedFailureQueue(template, 'AuditTrail');
    expect(Object.keys(policies)).toHaveLength(2);
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
    const ours = nagFindingsOn(app, ['/AuditTrail/', '/AuditStreamFunction']);
    expect(ours).toEqual([]);
    // The stream consumer needs no function DLQ: its failures go to the mapping's on-failure queue.
    expect(ours.filter((v) => v.rule === 'Serverless-LambdaDLQ')).toEqual([]);
    expect(stack.node.tryFindChild('AuditTrail')).toBeDefined();
  });
});
