import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppFunction } from '#lib/constructs/app-function';
import { Reports, senderIdentities } from '#lib/constructs/reports';
import { cdkJsonContext } from './helpers';

let app: App;
let stack: Stack;
let template: Template;
let reports: Reports;

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

/** Every statement of the inline policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(rolePrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const actionsOf = (statements: Statement[]) =>
  statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

beforeAll(() => {
  // cdk.json's feature flags (access logs via bucket policy among them); no esbuild bundling: the template is under test.
  app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'ReportsTest', { env: { account: '111111111111', region: 'eu-central-1' } });
  const fn = (functionId: 'reports' | 'report-runner' | 'password-reset', id: string) =>
    new AppFunction(stack, id, {
      functionId,
      logRetention: RetentionDays.ONE_MONTH,
      logRemovalPolicy: RemovalPolicy.DESTROY,
    });
  const reportsFunction = fn('reports', 'ReportsFunction');
  const runnerFunction = fn('report-runner', 'RunnerFunction');
  // As lib/api-stack.ts does for every API-routed function.
  Validations.of(reportsFunction).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason: 'Invoked synchronously by API Gateway.',
  });
  const resetFunction = fn('password-reset', 'PasswordResetFunction');
  Validations.of(resetFunction).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason: 'Invoked synchronously by API Gateway.',
  });
  reports = new Reports(stack, 'Reports', {
    reportsFunction,
    runnerFunction,
    mailFunctions: [resetFunction],
    senderIdentity: 'example.com',
    senderAddress: 'reports@example.com',
    publicBaseUrl: 'https://api.example.com/v1',
    serviceName: 'charge-records-dev',
    alarmTopic: new Topic(stack, 'Alarms', { enforceSSL: true, masterKey: undefined }),
  });
  template = Template.fromStack(stack);
});

describe('Reports construct', () => {
  it('bucket: KMS-encrypted with the reports key, versioned, private, logged, with lifecycle expiry', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
            BucketKeyEnabled: true,
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'reports/' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'exports', Prefix: 'exports/', ExpirationInDays: 1, Status: 'Enabled' }),
          Match.objectLike({
            Id: 'runs',
            Prefix: 'runs/',
            ExpirationInDays: 90,
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          }),
          Match.objectLike({
            Id: 'runs-delete-markers',
            Prefix: 'runs/',
            ExpiredObjectDeleteMarker: true,
            Status: 'Enabled',
          }),
        ]),
      },
    });
  });

  it('bucket policies refuse plain HTTP', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      );
    }
  });

  it('the fonts layer is on both functions, which know where everything is', () => {
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleRuntimes: ['nodejs24.x'],
      CompatibleArchitectures: ['arm64'],
    });
    const layerId = stack.getLogicalId(reports.layer.node.defaultChild as never);
    const fns = Object.values(
      template.findResources('AWS::Lambda::Function', { Properties: { Layers: [{ Ref: layerId }] } }),
    );
    expect(fns).toHaveLength(2);
    for (const fn of fns) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        REPORTS_BUCKET: { Ref: expect.stringMatching(/^ReportsFiles/) },
        REPORTS_SENDER: 'reports@example.com',
        REPORT_FONTS_DIR: '/opt/fonts',
        PUBLIC_BASE_URL: 'https://api.example.com/v1',
      });
    }
    const reportsFn = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('ReportsFunction'),
    )?.[1];
    expect(reportsFn?.Properties.Environment.Variables).toMatchObject({
      REPORTS_SCHEDULE_GROUP: expect.anything(),
      REPORT_RUNNER_ARN: { 'Fn::GetAtt': [expect.stringMatching(/^RunnerFunction/), 'Arn'] },
      REPORTS_SCHEDULER_ROLE_ARN: expect.anything(),
      REPORTS_SCHEDULER_DLQ_ARN: expect.anything(),
    });
  });

  it('the schedule group, and a scheduler role that may invoke the runner and nothing else', () => {
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' }, ArnLike: Match.anyValue() },
          }),
        ],
      },
    });
    const statements = statementsOf('ReportsSchedulerRole');
    const invoke = statements.filter((s) => actionsOf([s]).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(invoke[0]?.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RunnerFunction/), 'Arn'] });
    expect(actionsOf(statements).filter((a) => !a.startsWith('sqs:') && !a.startsWith('kms:'))).toEqual([
      'lambda:InvokeFunction',
    ]);
  });

  it('the reports function may manage schedules in the group only and pass the scheduler role only', () => {
    const statements = statementsOf('ReportsFunctionRole');
    const scheduler = statements.find((s) => actionsOf([s]).includes('scheduler:CreateSchedule'));
    expect(actionsOf([scheduler as Statement]).sort()).toEqual([
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:GetSchedule',
      'scheduler:UpdateSchedule',
    ]);
    expect(scheduler?.Resource).toBe(
      `arn:aws:scheduler:eu-central-1:111111111111:schedule/${reports.scheduleGroup.scheduleGroupName}/*`,
    );
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: reports.scheduleGroup.scheduleGroupName });
    const pass = statements.find((s) => actionsOf([s]).includes('iam:PassRole'));
    expect(pass?.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ReportsSchedulerRole/), 'Arn'] });
    expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    // The runner neither manages schedules nor passes roles.
    const runner = actionsOf(statementsOf('RunnerFunctionRole'));
    expect(runner.some((a) => a.startsWith('scheduler:') || a === 'iam:PassRole')).toBe(false);
  });

  it('SES sending is limited to the From address, on its address identity and its domain identity', () => {
    for (const role of ['ReportsFunctionRole', 'RunnerFunctionRole', 'PasswordResetFunctionRole']) {
      const ses = statementsOf(role).filter((s) => actionsOf([s]).some((a) => a.startsWith('ses:')));
      expect(ses).toHaveLength(1);
      expect(actionsOf(ses)).toEqual(['ses:SendEmail']);
      // SES authorises against the address's own identity when that is verified, else the domain's: both, or a
      // later verification of the address would make every send AccessDenied.
      const resources = JSON.stringify(ses[0]?.Resource);
      expect(resources).toContain(':identity/example.com"');
      expect(resources).toContain(':identity/reports@example.com"');
      expect(ses[0]?.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'reports@example.com' } });
    }
  });

  it('a mail function (password-reset: reset links) gets the sender and SES, and nothing of the bucket or the schedules', () => {
    const actions = actionsOf(statementsOf('PasswordResetFunctionRole'));
    expect(actions).toContain('ses:SendEmail');
    expect(actions.some((a) => a.startsWith('s3:') || a.startsWith('scheduler:') || a === 'iam:PassRole')).toBe(false);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          REPORTS_SENDER: 'reports@example.com',
          PUBLIC_BASE_URL: 'https://api.example.com/v1',
        }),
      },
      Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PasswordResetFunctionRole'), 'Arn'] },
    });
  });

  it('derives the From address and both identities, whether the sender is a domain or an address', () => {
    expect(senderIdentities('example.com')).toEqual({
      fromAddress: 'reports@example.com',
      identities: ['reports@example.com', 'example.com'],
    });
    expect(senderIdentities('ops@example.com')).toEqual({
      fromAddress: 'ops@example.com',
      identities: ['ops@example.com', 'example.com'],
    });
    expect(senderIdentities('Example.com', 'reports@example.COM').fromAddress).toBe('reports@example.COM');
    expect(senderIdentities('example.com', 'lab@example.com').identities).toEqual(['lab@example.com', 'example.com']);
    // A From address the identity does not cover is refused at synth, not at the first send.
    expect(() => senderIdentities('example.com', 'reports@other.example')).toThrow(/not covered by the SES identity/);
    expect(() => senderIdentities('ops@example.com', 'lab@example.com')).toThrow(/not covered by the SES identity/);
  });

  it('grants only the KMS actions S3 and SQS use: no kms:ReEncrypt*, no kms:GenerateDataKey*, no kms:Encrypt', () => {
    for (const role of ['ReportsFunctionRole', 'RunnerFunctionRole', 'ReportsSchedulerRole']) {
      const kms = actionsOf(statementsOf(role)).filter((a) => a.startsWith('kms:'));
      expect(kms.sort(), role).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    }
  });

  it("a failed run goes to the dead-letter queue (no Lambda retries on top of the runner's), and both failure paths are alarmed", () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^RunnerFunction') },
      MaximumRetryAttempts: 0,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReportsDeadLetters'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ReportRunFailed',
      Namespace: 'ChargeRecords',
      Dimensions: [{ Name: 'service', Value: 'charge-records-dev' }],
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
  });

  it('cdk-nag AwsSolutions and Serverless report nothing on the construct and the report functions', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(app);
      const ours = report.violations
        .map((v) => ({
          rule: v.ruleName,
          paths: v.violatingResources
            .map((r) => `${r.constructPath ?? ''} ${r.locations?.join(',') ?? ''}`)
            .filter((p) => p.includes('/Reports/') || p.includes('/RunnerFunction') || p.includes('/ReportsFunction')),
        }))
        .filter((v) => v.paths.length > 0);
      expect(ours).toEqual([]);
    }
  });
});
