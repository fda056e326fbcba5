import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE } from '#platform/powertools';
import { FUNCTIONS, type FunctionId } from '#platform/routes';
import { isApiFunction, PROJECT_ROOT } from '#lib/constructs/app-function';
import { SECURITY_HEADERS } from '#platform/http/headers';
import {
  APP_METRICS,
  AUTHORIZER_FAILURES_EXPRESSION,
  Observability,
  WAF_RATE_LIMIT_PER_5_MINUTES,
} from '#lib/constructs/observability';
import { stageConfig, type StageName } from '#lib/stage-config';
import { KEY_AGE_PROBE } from '#signing/rotation-probe';
import { cdkJsonContext, synthesize, type SynthesizedApp } from './helpers';

/**
 * Operations (alarms, dashboard, log forwarding, WAF) in the API stack. Observability does not depend on the functions' code, so these
 * apps skip esbuild bundling (`aws:cdk:bundling-stacks: []`); synthesize() still runs cdk-nag.
 */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const FIREHOSE_ARN = 'arn:aws:firehose:eu-central-1:123456789012:deliverystream/charge-records-logs';
const SHIPPER_ARN = 'arn:aws:lambda:eu-central-1:123456789012:function:ship-to-opensearch';
const FUNCTION_IDS = Object.keys(FUNCTIONS) as FunctionId[];

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }>;
const resourcesOf = (template: Template) => template.toJSON().Resources as Resources;
const logicalIdsOf = (template: Template, type: string) =>
  Object.entries(resourcesOf(template))
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);

/** The logical id of the function `functionId` (AppFunction ids are `<functionId>Function`). */
function functionLogicalId(template: Template, functionId: FunctionId): string {
  const prefix = `${functionId.replace(/[^A-Za-z0-9]/g, '')}Function`;
  const found = logicalIdsOf(template, 'AWS::Lambda::Function').filter(
    (id) => id.startsWith(prefix) && !id.includes('Logs'),
  );
  expect(found, `function ${functionId}`).toHaveLength(1);
  return found[0]!;
}

function logGroupLogicalId(template: Template, functionId: FunctionId): string {
  const prefix = `${functionId.replace(/[^A-Za-z0-9]/g, '')}FunctionLogs`;
  const found = logicalIdsOf(template, 'AWS::Logs::LogGroup').filter((id) => id.startsWith(prefix));
  expect(found, `log group of ${functionId}`).toHaveLength(1);
  return found[0]!;
}

const topicRef = (template: Template) => {
  const [topic] = logicalIdsOf(template, 'AWS::SNS::Topic');
  return { Ref: topic };
};

/** Alarm and OK notifications both go to the alarm topic. */
const notifies = (template: Template) => ({
  AlarmActions: [topicRef(template)],
  OKActions: [topicRef(template)],
});

/** The dashboard body with its tokens (function names, API name) rendered as placeholders. */
function dashboardBody(template: Template): string {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]!.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof body === 'string') return body;
  return body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '"<token>"')).join('');
}

/** A Powertools metric of one stage's service (`charge-records-<stage>`, the functions' SERVICE_NAME). */
const appMetric = (name: string, stage: StageName = 'prod') => ({
  Namespace: METRICS_NAMESPACE,
  MetricName: name,
  Dimensions: [{ Name: 'service', Value: `${DEFAULT_SERVICE_NAME}-${stage}` }],
});

describe('observability with every switch on (prod, waf, alarm e-mail, Firehose log forwarding)', () => {
  let built: SynthesizedApp;
  let template: Template;

  beforeAll(() => {
    // synthesize() throws on any unacknowledged cdk-nag finding: this is the nag check with WAF and forwarding on.
    built = synthesize('prod', {
      ...NO_BUNDLING,
      waf: 'true',
      alarmEmail: 'ops@example.com',
      logDestination: FIREHOSE_ARN,
    });
    template = built.apiTemplate;
  }, 180_000);
  afterAll(() => built?.cleanup());

  it('has a KMS-encrypted, TLS-only alarm topic with the e-mail subscription and its DLQ', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: topicRef(template),
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    // CloudWatch must be able to use the topic's key, or every notification is dropped.
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey*']),
          }),
        ]),
      },
    });
  });

  it("lets this account's CloudWatch alarms publish to the topic (its policy replaces SNS's default one)", () => {
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(1);
    const policy = policies[0]!.Properties as {
      Topics: unknown[];
      PolicyDocument: { Statement: Record<string, unknown>[] };
    };
    expect(policy.Topics).toEqual([topicRef(template)]);
    const allows = policy.PolicyDocument.Statement.filter((st) => st.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Sid: 'CloudWatchAlarmsOfThisAccountPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topicRef(template),
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    // Still TLS-only for everyone, CloudWatch included.
    expect(policy.PolicyDocument.Statement.filter((st) => st.Effect === 'Deny')).toHaveLength(1);
  });

  it('alarms on the API 5xx rate above 1 % (metric math over 5 minutes)', () => {
    const metrics = new Capture();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifies(template),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      Metrics: metrics,
    });
    const expression = metrics.asArray().find((m: { Expression?: string }) => m.Expression) as { Expression: string };
    expect(expression.Expression).toBe('IF(requests > 0, 100 * errors / requests, 0)');
    const byId = Object.fromEntries(
      metrics
        .asArray()
        .map((m: { Id: string; MetricStat?: { Metric: { MetricName: string }; Period: number } }) => [
          m.Id,
          m.MetricStat,
        ]),
    );
    // The stage's API only (restApiName `charge-records-<stage>`): dev's 5xx must not count toward prod's rate.
    const apiName = [{ Name: 'ApiName', Value: 'charge-records-prod' }];
    expect(byId.errors).toMatchObject({
      Metric: { Namespace: 'AWS/ApiGateway', MetricName: '5XXError', Dimensions: apiName },
      Period: 300,
      Stat: 'Sum',
    });
    expect(byId.requests).toMatchObject({
      Metric: { Namespace: 'AWS/ApiGateway', MetricName: 'Count', Dimensions: apiName },
      Period: 300,
      Stat: 'Sum',
    });
  });

  it.each(FUNCTION_IDS)('alarms on errors and throttles of the %s function', (functionId) => {
    const fn = functionLogicalId(template, functionId);
    // The authorizer's Errors alarm is metric math (next test).
    for (const metricName of functionId === 'authorizer' ? ['Throttles'] : ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...notifies(template),
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it("alarms on the authorizer's errors minus its 401s, not on every rejected token", () => {
    const metrics = new Capture();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifies(template),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      // The 401 count is an EMF metric that arrives after Lambda's Errors: one period evaluated early must not
      // page, so two of three periods, and no data is no failure.
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('Function authorizer failed'),
      Metrics: metrics,
    });
    const byId = Object.fromEntries(
      metrics
        .asArray()
        .map((m: { Id: string; Expression?: string; MetricStat?: unknown }) => [m.Id, m.Expression ?? m.MetricStat]),
    );
    expect(Object.values(byId)).toContain(AUTHORIZER_FAILURES_EXPRESSION);
    expect(byId.errors).toMatchObject({
      Metric: {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(template, 'authorizer') } }],
      },
      Period: 300,
      Stat: 'Sum',
    });
    expect(byId.unauthorized).toMatchObject({
      Metric: {
        Namespace: METRICS_NAMESPACE,
        MetricName: 'AuthorizerUnauthorized',
        Dimensions: [{ Name: 'service', Value: 'charge-records-prod' }],
      },
      Period: 300,
      Stat: 'Sum',
    });
    // And no plain Errors alarm on the authorizer besides it.
    const plain = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: {
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(template, 'authorizer') } }],
      },
    });
    expect(plain).toEqual({});
  });

  it('alarms when the audit on-failure queue, its DLQ or the alarm e-mail DLQ holds a message', () => {
    const queues = built.api.auditTrail;
    const [emailDlq] = logicalIdsOf(template, 'AWS::SQS::Queue').filter((id) => id.includes('AlarmEmailDlq'));
    const queueIds = [
      ...[queues.failureQueue, queues.failureDeadLetterQueue].map((queue) =>
        built.api.getLogicalId(queue.node.defaultChild as never),
      ),
      emailDlq!,
    ];
    for (const logicalId of queueIds) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...notifies(template),
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId, 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms when the audit stream lags more than 60 s behind', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifies(template),
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(template, 'audit-stream') } }],
      Statistic: 'Maximum',
      Threshold: 60_000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
    });
  });

  it('alarms on a failed-login spike, a failed key rotation, a key older than 35 days and failed report runs', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifies(template),
      ...appMetric('LoginFailed'),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 50,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifies(template),
      ...appMetric('SigningKeyRotationFailed'),
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifies(template),
      ...appMetric('SigningKeyAgeSeconds'),
      Statistic: 'Maximum',
      Threshold: 35 * 86_400,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: 3600,
      // The hourly key-age probe must report: three silent hours alarm too.
      EvaluationPeriods: 3,
      TreatMissingData: 'breaching',
    });
    // The probe that feeds it: an hourly rule invoking the rotation function with the key-age probe event.
    const rotateKeys = functionLogicalId(template, 'rotate-keys');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [rotateKeys, 'Arn'] }, Input: JSON.stringify(KEY_AGE_PROBE) })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [rotateKeys, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: {
        'Fn::GetAtt': [logicalIdsOf(template, 'AWS::Events::Rule').find((id) => id.includes('KeyAgeProbe')), 'Arn'],
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifies(template),
      ...appMetric('ReportRunFailed'),
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms on throttled reads or writes of every table', () => {
    const tables = built.data.tables;
    for (const [name, table] of Object.entries(tables)) {
      const metrics = new Capture();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...notifies(template),
        AlarmDescription: Match.stringLikeRegexp(`throttled reads or writes of the ${name} table`),
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        Metrics: metrics,
      });
      const byId = Object.fromEntries(
        metrics
          .asArray()
          .map((m: { Id: string; Expression?: string; MetricStat?: unknown }) => [m.Id, m.Expression ?? m.MetricStat]),
      );
      expect(byId.expr ?? Object.values(byId).find((v) => typeof v === 'string')).toBe(
        'FILL(reads, 0) + FILL(writes, 0)',
      );
      const tableImport = JSON.stringify(built.api.resolve(table.tableName));
      for (const [id, metricName] of [
        ['reads', 'ReadThrottleEvents'],
        ['writes', 'WriteThrottleEvents'],
      ] as const) {
        expect(byId[id]).toMatchObject({
          Metric: { Namespace: 'AWS/DynamoDB', MetricName: metricName },
          Stat: 'Sum',
          Period: 300,
        });
        expect(JSON.stringify(byId[id])).toContain(tableImport);
      }
    }
  });

  it('alarms at 80 % of the account concurrency and of each reserved concurrency (prod: reports, report-runner)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifies(template),
      Namespace: 'AWS/Lambda',
      MetricName: 'ConcurrentExecutions',
      Dimensions: Match.absent(),
      Statistic: 'Maximum',
      Threshold: 800,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
    });
    for (const [functionId, reserved] of [
      ['reports', 10],
      ['report-runner', 5],
    ] as const) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: FUNCTIONS[functionId].description,
        ReservedConcurrentExecutions: reserved,
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...notifies(template),
        Namespace: 'AWS/Lambda',
        MetricName: 'ConcurrentExecutions',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(template, functionId) } }],
        Threshold: Math.floor(reserved * 0.8),
      });
    }
  });

  it('alarms on dropped asynchronous events and failed on-failure deliveries of the functions not behind the API', () => {
    // Invoked by schedules, EventBridge, Secrets Manager or a stream: rotate-keys, report-runner, audit-stream, …
    const notBehindTheApi = FUNCTION_IDS.filter((id) => !isApiFunction(id));
    expect(notBehindTheApi).toEqual(expect.arrayContaining(['rotate-keys', 'report-runner', 'audit-stream']));
    for (const functionId of notBehindTheApi) {
      for (const metricName of ['AsyncEventsDropped', 'DestinationDeliveryFailures']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...notifies(template),
          Namespace: 'AWS/Lambda',
          MetricName: metricName,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(template, functionId) } }],
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
      }
    }
    // API functions are invoked synchronously: nothing to drop, no destination.
    const dropped = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: 'AsyncEventsDropped' },
    });
    expect(Object.keys(dropped)).toHaveLength(notBehindTheApi.length);
  });

  it('sends every alarm to the topic, on ALARM and on OK', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties).toMatchObject(notifies(template));
    }
  });

  it('has one dashboard with every widget operations need', () => {
    const body = dashboardBody(template);
    for (const title of [
      'API latency p50 / p99',
      'API requests, 4xx and 5xx',
      'Authorizer denials and rate-limit rejections',
      'Logins failed and lockouts',
      'Audit lag (ms) and stream iterator age',
      'Dead-letter and on-failure queues',
      'Report runs and failures',
      'Signing key age',
      'Lambda errors per function',
      'Lambda throttles per function',
      'Lambda duration p99 per function',
    ]) {
      expect(body).toContain(`"title":"${title}`);
    }
    for (const metric of [
      'Latency',
      '4XXError',
      '5XXError',
      'AuthorizerDenied',
      'RateLimited',
      'LoginFailed',
      'Lockout',
      'AuditLag',
      'IteratorAge',
      'ApproximateNumberOfMessagesVisible',
      'ReportRunSucceeded',
      'ReportRunFailed',
      'SigningKeyAgeSeconds',
      'Errors',
      'Throttles',
      'Duration',
    ]) {
      expect(body).toContain(`"${metric}"`);
    }
    expect(body).toContain('"stat":"p50"');
    expect(body).toContain('"stat":"p99"');
    // One line per function in each Lambda widget, labelled with its id.
    for (const functionId of FUNCTION_IDS) expect(body).toContain(`"label":"${functionId}"`);
    expect(body).toContain('"type":"alarm"');
  });

  it('forwards every function log group and the access and execution log groups to the Firehose stream', () => {
    const api = built.api;
    const logGroups = [
      ...FUNCTION_IDS.map((id) => logGroupLogicalId(template, id)),
      api.getLogicalId(api.accessLogs.node.defaultChild as never),
      api.getLogicalId(api.executionLogs.node.defaultChild as never),
    ];
    const role = new Capture();
    for (const logGroup of logGroups) {
      template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
        LogGroupName: { Ref: logGroup },
        DestinationArn: FIREHOSE_ARN,
        FilterPattern: '',
        RoleArn: role,
      });
    }
    // Nothing else is forwarded: exactly the function log groups plus the access log group.
    const forwarded = Object.values(template.findResources('AWS::Logs::SubscriptionFilter')).map(
      (f) => (f.Properties.LogGroupName as { Ref: string }).Ref,
    );
    expect(forwarded.sort()).toEqual([...logGroups].sort());
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'], Resource: FIREHOSE_ARN }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('LogForwardingRole') }],
    });
  });

  it('every log group has an explicit retention (one year in prod) and is retained', () => {
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain' });
  });

  it('keeps queues, keys and the topic in prod', () => {
    for (const type of ['AWS::SQS::Queue', 'AWS::KMS::Key', 'AWS::SNS::Topic']) {
      template.allResources(type, { DeletionPolicy: 'Retain' });
    }
    built.dataTemplate.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
  });

  it('puts a regional WebACL with the managed rule groups and a per-IP rate rule on the API stage', () => {
    const acl = new Capture();
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: acl,
    });
    const rules = acl.asArray() as {
      Name: string;
      Statement: Record<string, Record<string, unknown>>;
      Action?: unknown;
    }[];
    const byName = Object.fromEntries(rules.map((rule) => [rule.Name, rule]));
    expect(byName.AWSManagedRulesCommonRuleSet?.Statement).toMatchObject({
      ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' },
    });
    expect(byName.AWSManagedRulesKnownBadInputsRuleSet?.Statement).toMatchObject({
      ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' },
    });
    expect(byName.RateLimitPerIp).toMatchObject({
      Statement: { RateBasedStatement: { Limit: WAF_RATE_LIMIT_PER_5_MINUTES, AggregateKeyType: 'IP' } },
      Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
    });

    const [restApi] = logicalIdsOf(template, 'AWS::ApiGateway::RestApi');
    const [stage] = logicalIdsOf(template, 'AWS::ApiGateway::Stage');
    const [webAcl] = logicalIdsOf(template, 'AWS::WAFv2::WebACL');
    const arn = new Capture();
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: { 'Fn::GetAtt': [webAcl, 'Arn'] },
      ResourceArn: arn,
    });
    const rendered = JSON.stringify(arn.asObject());
    expect(rendered).toContain(`{"Ref":"${restApi}"}`);
    expect(rendered).toContain(`/stages/`);
    expect(rendered).toContain(`{"Ref":"${stage}"}`);
  });

  it("answers WAF's own 429 in the API's error shape with Retry-After and the security headers", () => {
    const acl = new Capture();
    template.hasResourceProperties('AWS::WAFv2::WebACL', { Rules: acl, CustomResponseBodies: Match.anyValue() });
    const rule = (acl.asArray() as { Name: string; Statement: unknown; Action?: unknown }[]).find(
      (r) => r.Name === 'RateLimitPerIp',
    );
    const response = (rule?.Action as { Block: { CustomResponse: Record<string, unknown> } }).Block.CustomResponse;

    // WAF counts over a 5-minute window: a blocked client is told to wait that long.
    expect(rule?.Statement).toMatchObject({ RateBasedStatement: { EvaluationWindowSec: 300 } });
    expect(response).toMatchObject({ ResponseCode: 429, CustomResponseBodyKey: 'RateLimited' });
    const headers = response.ResponseHeaders as { Name: string; Value: string }[];
    expect(Object.fromEntries(headers.map((h) => [h.Name, h.Value]))).toEqual({
      ...SECURITY_HEADERS,
      'Retry-After': '300',
    });
    // WAF's limits on a custom header: names of [A-Za-z0-9._$-], values of 1-255 characters, no duplicates.
    for (const { Name, Value } of headers) {
      expect(Name).toMatch(/^[a-zA-Z0-9._$-]{1,64}$/);
      expect(Value.length, Name).toBeGreaterThan(0);
      expect(Value.length, Name).toBeLessThanOrEqual(255);
    }
    expect(new Set(headers.map((h) => h.Name.toLowerCase())).size).toBe(headers.length);

    const body = new Capture();
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      CustomResponseBodies: { RateLimited: { ContentType: 'APPLICATION_JSON', Content: body } },
    });
    expect(JSON.parse(body.asString())).toMatchObject({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
  });
});

describe('observability by default (dev, no switches)', () => {
  let built: SynthesizedApp;
  let template: Template;

  beforeAll(() => {
    built = synthesize('dev', NO_BUNDLING);
    template = built.apiTemplate;
  }, 180_000);
  afterAll(() => built?.cleanup());

  it('has the alarms and the dashboard, but no e-mail subscription, log forwarding or WAF', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...appMetric('LoginFailed', 'dev'),
      ...notifies(template),
    });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'ChargeRecords-dev' });
    expect(template.findResources('AWS::SNS::Subscription')).toEqual({});
    expect(template.findResources('AWS::Logs::SubscriptionFilter')).toEqual({});
    expect(template.findResources('AWS::WAFv2::WebACL')).toEqual({});
    expect(template.findResources('AWS::WAFv2::WebACLAssociation')).toEqual({});
  });

  it('lets dev be torn down: log groups, queues, keys and the topic are deleted with the stack', () => {
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    for (const type of ['AWS::Logs::LogGroup', 'AWS::SQS::Queue', 'AWS::KMS::Key', 'AWS::SNS::Topic']) {
      template.allResources(type, { DeletionPolicy: 'Delete' });
    }
    built.dataTemplate.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });
});

describe('log forwarding to a Lambda shipper (OpenSearch)', () => {
  let built: SynthesizedApp;

  beforeAll(() => {
    built = synthesize('dev', { ...NO_BUNDLING, logDestination: SHIPPER_ARN });
  }, 180_000);
  afterAll(() => built?.cleanup());

  it('subscribes every function log group and lets CloudWatch Logs invoke the shipper for exactly that group', () => {
    const template = built.apiTemplate;
    for (const functionId of FUNCTION_IDS) {
      const logGroup = logGroupLogicalId(template, functionId);
      template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
        LogGroupName: { Ref: logGroup },
        DestinationArn: SHIPPER_ARN,
        RoleArn: Match.absent(),
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        FunctionName: SHIPPER_ARN,
        Action: 'lambda:InvokeFunction',
        Principal: 'logs.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [logGroup, 'Arn'] },
      });
    }
  });
});

describe('Observability with the reports construct wired in', () => {
  /** A small stack of its own: the construct's contract, without the whole app. */
  function build(withReports: boolean) {
    const app = new App({ context: cdkJsonContext() });
    const stack = new Stack(app, 'Ops');
    const api = new RestApi(stack, 'Api');
    api.root.addMethod('GET', new MockIntegration());
    const logGroup = new LogGroup(stack, 'FnLogs', { retention: RetentionDays.ONE_WEEK });
    const fn = Object.assign(
      new LambdaFunction(stack, 'Fn', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => 1;'),
        logGroup,
      }),
      { logGroupResource: logGroup },
    );
    const deadLetterQueue = new Queue(stack, 'ReportsDlq');
    const failedRunsAlarm = new Alarm(stack, 'ReportsRunFailed', {
      metric: Observability.appMetric('charge-records-dev', 'ReportRunFailed'),
      threshold: 1,
      evaluationPeriods: 1,
    });
    const deadLetterAlarm = new Alarm(stack, 'ReportsDlqAlarm', {
      metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
      threshold: 1,
      evaluationPeriods: 1,
    });
    new Observability(stack, 'Observability', {
      config: stageConfig({ stage: 'dev' }),
      api,
      functions: new Map([['health' as FunctionId, fn]]),
      streamConsumer: fn,
      deadLetterQueues: {},
      reports: withReports ? { failedRunsAlarm, deadLetterAlarm, deadLetterQueue } : undefined,
    });
    return { template: Template.fromStack(stack), stack, failedRunsAlarm, deadLetterAlarm };
  }

  it('adopts the reports alarms (ALARM and OK to the topic) instead of a second ReportRunFailed alarm, and graphs its DLQ', () => {
    const { template, stack, failedRunsAlarm, deadLetterAlarm } = build(true);
    for (const alarm of [failedRunsAlarm, deadLetterAlarm]) {
      const logicalId = stack.getLogicalId(alarm.node.defaultChild as never);
      expect(template.toJSON().Resources[logicalId].Properties).toMatchObject(notifies(template));
    }
    expect(
      Object.keys(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ReportRunFailed' } })),
    ).toEqual([stack.getLogicalId(failedRunsAlarm.node.defaultChild as never)]);
    expect(dashboardBody(template)).toContain('"label":"ReportsDlq"');
  });

  it('makes its own ReportRunFailed alarm while there is no reports construct', () => {
    const { template, stack, failedRunsAlarm } = build(false);
    const own = Object.keys(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ReportRunFailed' } }),
    );
    expect(own).toHaveLength(2);
    expect(own).toContain(stack.getLogicalId(failedRunsAlarm.node.defaultChild as never));
    // The unadopted alarm stays without actions: only adoption sends it to the topic.
    expect(
      template.toJSON().Resources[stack.getLogicalId(failedRunsAlarm.node.defaultChild as never)].Properties
        .AlarmActions,
    ).toBeUndefined();
  });
});

describe('operations context', () => {
  it('tells Firehose and Lambda destinations apart by the ARN and refuses anything else', () => {
    expect(stageConfig({ logDestination: FIREHOSE_ARN }).operations.logDestination).toEqual({
      kind: 'firehose',
      arn: FIREHOSE_ARN,
    });
    expect(stageConfig({ logDestination: SHIPPER_ARN }).operations.logDestination).toEqual({
      kind: 'lambda',
      arn: SHIPPER_ARN,
    });
    expect(() => stageConfig({ logDestination: 'arn:aws:s3:::bucket' })).toThrow(/Kinesis Firehose or Lambda ARN/);
    expect(() => stageConfig({ logDestination: 'my-stream' })).toThrow(/Kinesis Firehose or Lambda ARN/);
    expect(stageConfig({}).operations).toEqual({ waf: false, alarmEmail: undefined, logDestination: undefined });
  });

  it('takes waf as a flag and alarmEmail only as an address', () => {
    expect(stageConfig({ waf: 'true' }).operations.waf).toBe(true);
    expect(stageConfig({ waf: 'false' }).operations.waf).toBe(false);
    expect(stageConfig({ alarmEmail: 'ops@example.com' }).operations.alarmEmail).toBe('ops@example.com');
    expect(() => stageConfig({ alarmEmail: 'not-an-address' })).toThrow(/alarmEmail/);
  });
});

describe('metric names', () => {
  /**
   * Candidate metric names: the string literals of function modules that call `addMetric(` (some pass
   * the name through a lookup table, e.g. functions/auth/security-events.ts).
   */
  function emittedMetricNames(): Set<string> {
    const names = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) {
          const source = readFileSync(path, 'utf8');
          if (!source.includes('addMetric(')) continue;
          for (const match of source.matchAll(/'([A-Z][A-Za-z0-9]+)'/g)) names.add(match[1]!);
        }
      }
    };
    walk(join(PROJECT_ROOT, 'functions'));
    return names;
  }

  it('alarms and the dashboard only read metrics the functions really emit', () => {
    const emitted = emittedMetricNames();
    expect(APP_METRICS.filter((name) => !emitted.has(name))).toEqual([]);
  });
});

/**
 * Stack names carry the stage so dev and prod can share an account (lib/app.ts): then nothing per-account may
 * mix them. Each stage's functions report, and its alarms and dashboard select, its own service and API name,
 * and the account-wide API Gateway CloudWatch role survives a dev teardown.
 */
describe('dev and prod in one account', () => {
  const built: Partial<Record<StageName, SynthesizedApp>> = {};
  const templateOf = (stage: StageName) => built[stage]!.apiTemplate;

  beforeAll(() => {
    built.dev = synthesize('dev', NO_BUNDLING);
    built.prod = synthesize('prod', NO_BUNDLING);
  }, 180_000);
  afterAll(() => {
    built.dev?.cleanup();
    built.prod?.cleanup();
  });

  /** Every value of the `service` dimension in the stage's alarms and dashboard. */
  function serviceDimensions(stage: StageName): Set<string> {
    const json = JSON.stringify(templateOf(stage).toJSON());
    const inAlarms = [...json.matchAll(/\{"Name":"service","Value":"([^"]+)"\}/g)].map((m) => m[1]!);
    // Dashboard metrics are arrays: [namespace, metricName, "service", value, …].
    const inDashboard = [...dashboardBody(templateOf(stage)).matchAll(/"service","([^"]+)"/g)].map((m) => m[1]!);
    return new Set([...inAlarms, ...inDashboard]);
  }

  it('gives each stage its own service name and API name, and keeps the API Gateway CloudWatch role', () => {
    for (const stage of ['dev', 'prod'] as const) {
      const template = templateOf(stage);
      const name = `charge-records-${stage}`;
      const variables = Object.values(template.findResources('AWS::Lambda::Function'))
        .map((fn) => fn.Properties.Environment?.Variables as Record<string, unknown> | undefined)
        .filter((v): v is Record<string, unknown> => v?.STAGE !== undefined);
      expect(variables).toHaveLength(FUNCTION_IDS.length);
      for (const v of variables)
        expect({ service: v.SERVICE_NAME, powertools: v.POWERTOOLS_SERVICE_NAME }).toEqual({
          service: name,
          powertools: name,
        });
      expect(serviceDimensions(stage)).toEqual(new Set([name]));
      template.hasResourceProperties('AWS::ApiGateway::RestApi', { Name: name });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: Match.arrayWith([
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ Dimensions: [{ Name: 'ApiName', Value: name }] }),
            }),
          }),
        ]),
      });
      // Account-wide (AWS::ApiGateway::Account): a dev teardown must not delete the role prod logs through.
      template.allResources('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
      const accountRole = template.findResources('AWS::ApiGateway::Account');
      expect(Object.keys(accountRole)).toHaveLength(1);
      const roleId = (
        Object.values(accountRole)[0]!.Properties.CloudWatchRoleArn as { 'Fn::GetAtt': [string, string] }
      )['Fn::GetAtt'][0];
      expect(template.toJSON().Resources[roleId].DeletionPolicy).toBe('Retain');
    }
    expect(serviceDimensions('dev')).not.toEqual(serviceDimensions('prod'));
  });
});
