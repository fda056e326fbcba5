import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ANALYTICS_STREAM_SETTINGS } from '#analytics/stream-settings';
import { TABLES, type TableDefinition } from '#platform/tables';
import { AppFunction } from '#lib/constructs/app-function';
import { Analytics, ANALYTICS_ITERATOR_AGE_ALARM_MS } from '#lib/constructs/analytics';
import {
  expectEncryptedFailureQueue,
  expectStreamMapping,
  nagFindingsOn,
  tablesFromDefinitions,
} from './support/stream-consumer';

let template: Template;
let app: App;

/** The analytics consumer and API function as the API stack builds them, on tables from the shared definitions. */
beforeAll(() => {
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'AnalyticsTest', { env: { account: '111111111111', region: 'eu-central-1' } });
  const key = new Key(stack, 'TableKey', { enableKeyRotation: true });
  const tables = tablesFromDefinitions(stack, key);
  const fn = (functionId: 'analytics-stream' | 'analytics', id: string) => {
    const f = new AppFunction(stack, id, {
      functionId,
      logRetention: RetentionDays.ONE_MONTH,
      logRemovalPolicy: RemovalPolicy.DESTROY,
    });
    f.bindTables(tables);
    return f;
  };
  const consumer = fn('analytics-stream', 'AnalyticsStreamFunction');
  fn('analytics', 'AnalyticsFunction');
  new Analytics(stack, 'Analytics', { consumer, charges: tables.charges, stage: 'dev' });
  template = Template.fromStack(stack);
});

/** Every action the role of a function has on a table (by the table construct's id). */
function actionsOn(rolePrefix: string, tableId: string): string[] {
  const role = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith(rolePrefix));
  expect(role, rolePrefix).toBeDefined();
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(role!))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
    .filter((s) => JSON.stringify(s.Resource).includes(`${tableId}Table`))
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

describe('Analytics construct', () => {
  it('maps the charges stream to the analytics consumer with bisect, retries, max age, batch failures and an SQS on-failure destination', () => {
    expectStreamMapping(template, {
      table: 'charges',
      consumer: 'AnalyticsStreamFunction',
      failureQueue: 'AnalyticsOnFailure',
      settings: ANALYTICS_STREAM_SETTINGS,
    });
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(1);
  });

  it('its on-failure queue is KMS-encrypted, TLS-only, with a DLQ of its own', () => {
    expectEncryptedFailureQueue(template, 'Analytics');
  });

  it('alarms when the consumer lags behind the charges stream', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^AnalyticsStreamFunction') } }],
      Threshold: ANALYTICS_ITERATOR_AGE_ALARM_MS,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('least privilege: the consumer puts and updates aggregates (never deletes or scans) and touches no other table', () => {
    const onAnalytics = actionsOn('AnalyticsStreamFunctionRole', 'analytics');
    expect(onAnalytics).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem']));
    for (const a of ['dynamodb:DeleteItem', 'dynamodb:Scan', 'dynamodb:BatchWriteItem', 'dynamodb:*']) {
      expect(onAnalytics).not.toContain(a);
    }
    // On charges only the stream read of the mapping (no item access); nothing on audit, users, reports.
    const streamRead = [
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
    ];
    expect(actionsOn('AnalyticsStreamFunctionRole', 'charges').filter((a) => !streamRead.includes(a))).toEqual([]);
    for (const other of ['audit', 'users', 'reports', 'auth-state']) {
      expect(actionsOn('AnalyticsStreamFunctionRole', other)).toEqual([]);
    }
  });

  it('least privilege: the API function only reads aggregates, keeps dashboards, never writes the audit trail; never scans', () => {
    const onAnalytics = actionsOn('AnalyticsFunctionRole', 'analytics');
    expect(onAnalytics).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem']));
    for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan']) {
      expect(onAnalytics).not.toContain(write);
    }
    const onDashboards = actionsOn('AnalyticsFunctionRole', 'dashboards');
    expect(onDashboards).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem']));
    expect(onDashboards).not.toContain('dynamodb:Scan');
    // Dashboard changes reach the audit trail from the dashboards table's stream, stamped with the attribution MAC.
    expect(actionsOn('AnalyticsFunctionRole', 'audit')).toEqual([]);
    expect(actionsOn('AnalyticsFunctionRole', 'charges')).toEqual([]);
  });

  it('cdk-nag AwsSolutions and Serverless report nothing on the construct or its functions', () => {
    expect(nagFindingsOn(app, ['/Analytics/', '/AnalyticsStreamFunction'])).toEqual([]);
  });
});

describe('the analytics and dashboards tables', () => {
  it('analytics is defined once for CDK and local: pk/sk strings, TTL on expiresAt (markers), no stream, no index', () => {
    expect(TABLES.analytics).toMatchObject({
      partitionKey: { name: 'pk', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      indexes: [],
      ttlAttribute: 'expiresAt',
    });
    // Aggregates change with every charge write: a stream on them would invoke the audit function for nothing.
    expect((TABLES.analytics as TableDefinition).stream).toBeUndefined();
  });

  it('dashboards have a table of their own, whose stream feeds the audit trail (functions/analytics/audited.ts)', () => {
    expect(TABLES.dashboards).toMatchObject({ partitionKey: { name: 'pk' }, sortKey: { name: 'sk' } });
    expect(TABLES.dashboards.stream).toBe('NEW_AND_OLD_IMAGES');
  });
});
