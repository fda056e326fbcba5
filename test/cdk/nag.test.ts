import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { PROD_REQUIRED_CONTEXT } from '#lib/stage-config';
import { cdkJsonContext, PROD_CONTEXT, synthesize, type SynthesizedApp } from './helpers';

/**
 * cdk-nag 3 runs as a CDK validation plugin: unacknowledged findings become violations in the cloud
 * assembly's validation-report.json and synthesis throws (ValidationFailed); warnings fail too because
 * lib/app.ts turns on `@aws-cdk/core:strictCfnValidateErrors`.
 * The packs can also be run directly with `validateScope`, which returns the same violations.
 */
describe.each(['dev', 'prod'] as const)('cdk-nag on the %s app', (stage) => {
  let built: SynthesizedApp;

  beforeAll(() => {
    // synthesize() calls app.synth(), which throws on any unacknowledged AwsSolutions or Serverless finding.
    built = synthesize(stage);
  }, 420_000); // bundling every function (25) on a busy 2-core machine can outlast the default hook timeout

  afterAll(() => built?.cleanup());

  it('leaves no unacknowledged AwsSolutions or Serverless finding', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(built.app);
      expect(
        report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      ).toEqual([]);
      expect(report.success).toBe(true);
    }
  });

  it('mails reports from the configured sender with links to the configured API URL (prod)', () => {
    if (stage !== 'prod') return;
    for (const functionId of ['reports', 'report-runner'] as const) {
      const id = built.api.getLogicalId(built.api.fn(functionId).node.defaultChild as never);
      const fn = built.apiTemplate.toJSON().Resources[id] as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      };
      expect(fn.Properties.Environment.Variables).toMatchObject({
        PUBLIC_BASE_URL: PROD_CONTEXT.apiBaseUrl,
        REPORTS_SENDER: `reports@${PROD_CONTEXT.reportsSender}`,
      });
    }
    built.apiTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: PROD_CONTEXT.alarmEmail,
    });
  });

  it("applies the stage's retention and protection", () => {
    const retention = stage === 'prod' ? 365 : 14;
    built.apiTemplate.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: retention });
    built.apiTemplate.allResources('AWS::Logs::LogGroup', { DeletionPolicy: stage === 'prod' ? 'Retain' : 'Delete' });
    if (stage === 'prod')
      built.dataTemplate.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
    else built.dataTemplate.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

/**
 * The operations switches add resources of their own (WAF web ACL, log subscription filters and their
 * role or invoke permissions, the e-mail subscription's DLQ): the packs must stay clean with them on.
 * Bundling is skipped (`aws:cdk:bundling-stacks: []`): the rules look at templates, not function code.
 */
describe.each([
  ['Firehose', 'arn:aws:firehose:eu-central-1:123456789012:deliverystream/charge-records-logs'],
  ['Lambda shipper', 'arn:aws:lambda:eu-central-1:123456789012:function:ship-to-opensearch'],
])('cdk-nag on the prod app with WAF, alarm e-mail and log forwarding to a %s', (_kind, logDestination) => {
  let built: SynthesizedApp;

  beforeAll(() => {
    built = synthesize('prod', {
      'aws:cdk:bundling-stacks': [],
      waf: 'true',
      alarmEmail: 'ops@example.com',
      logDestination,
    });
  }, 180_000);

  afterAll(() => built?.cleanup());

  it('leaves no unacknowledged AwsSolutions or Serverless finding, and APIG3 is met by the web ACL', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(built.app);
      expect(
        report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      ).toEqual([]);
    }
    // The APIG3 acknowledgement is only given without WAF, so the rule really ran against the association.
    const acknowledged = JSON.stringify(built.api.api.node.metadata);
    expect(acknowledged).toContain('AwsSolutions-COG4');
    expect(acknowledged).not.toContain('AwsSolutions-APIG3');
    built.apiTemplate.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: Match.anyValue() });
  });
});

/**
 * With `-c account=… -c region=…` the key-glob resources are written with the real account and region, not
 * pseudo parameters: the acknowledgements must name them the same way (lib/constructs/signing-keys.ts).
 */
describe('cdk-nag on the prod app with a pinned account and region', () => {
  let built: SynthesizedApp;

  beforeAll(() => {
    built = synthesize('prod', { 'aws:cdk:bundling-stacks': [], account: '123456789012', region: 'eu-central-1' });
  }, 180_000);

  afterAll(() => built?.cleanup());

  it('leaves no unacknowledged finding, the KMS key glob included', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(built.app);
      expect(
        report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      ).toEqual([]);
    }
    expect(JSON.stringify(built.apiTemplate.toJSON())).toContain('arn:aws:kms:eu-central-1:123456789012:key/*');
  });
});

describe('prod refuses to synthesise without its required context', () => {
  const build = (context: Record<string, unknown>) => () =>
    buildApp({
      outdir: mkdtempSync(join(tmpdir(), 'cdk-prod-')),
      context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], stage: 'prod', ...context },
    });

  it('names every missing key', () => {
    expect(PROD_REQUIRED_CONTEXT).toEqual(['alarmEmail', 'reportsSender', 'apiBaseUrl']);
    expect(build({})).toThrow(/stage=prod needs -c alarmEmail=… -c reportsSender=… -c apiBaseUrl=…/);
    expect(build({ alarmEmail: PROD_CONTEXT.alarmEmail })).toThrow(/missing: reportsSender, apiBaseUrl/);
    expect(build({ alarmEmail: PROD_CONTEXT.alarmEmail, reportsSender: PROD_CONTEXT.reportsSender })).toThrow(
      /missing: apiBaseUrl;/,
    );
    expect(build({ ...PROD_CONTEXT, apiBaseUrl: 'api.example.com' })).toThrow(/apiBaseUrl must be/);
  });

  it('builds with them, and dev needs none', () => {
    expect(build(PROD_CONTEXT)).not.toThrow();
    expect(() =>
      buildApp({
        outdir: mkdtempSync(join(tmpdir(), 'cdk-dev-')),
        context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
      }),
    ).not.toThrow();
  });
});

describe('cdk-nag is not vacuous', () => {
  /** A bucket without TLS enforcement, access logs or encryption settings breaks several AwsSolutions rules. */
  function appWithInsecureBucket(acknowledge = false) {
    const app = new App({ context: { ...cdkJsonContext() } });
    const stack = new Stack(app, 'Bad');
    const bucket = new Bucket(stack, 'Insecure');
    if (acknowledge) {
      Validations.of(bucket).acknowledge(
        { id: 'AwsSolutions-S1', reason: 'test: access logs' },
        { id: 'AwsSolutions-S10', reason: 'test: TLS' },
      );
    }
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    return { app, stack };
  }

  it('fails synthesis of the real app when a non-compliant resource joins it', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-nag-'));
    try {
      // No bundling: the rules read templates, not function code.
      const { app, data } = buildApp({
        outdir,
        context: { ...cdkJsonContext(), stage: 'dev', 'aws:cdk:bundling-stacks': [] },
      });
      new Bucket(data, 'Insecure');
      expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
    // A whole-app synth with both packs: well past the default 30 s on a busy 2-core machine.
  }, 120_000);

  it('fails synthesis on a non-compliant resource and names the rule', () => {
    const { app } = appWithInsecureBucket();
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
  });

  it('reports exactly the acknowledged rules as gone', () => {
    const { app } = appWithInsecureBucket(true);
    const report = new AwsSolutionsChecks().validateScope(app);
    const rules = report.violations.map((v) => v.ruleName);
    expect(rules).not.toContain('AwsSolutions-S1');
    expect(rules).not.toContain('AwsSolutions-S10');

    const { app: unacknowledged } = appWithInsecureBucket();
    const before = new AwsSolutionsChecks().validateScope(unacknowledged).violations.map((v) => v.ruleName);
    expect(before).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});
