import type { CfnElement } from 'aws-cdk-lib';
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { Policy, Role } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINARY_MEDIA_TYPES, LIVE_ALIAS } from '#lib/api-stack';
import { isApiFunction } from '#lib/constructs/app-function';
import { FUNCTION_SETTINGS, STAGE_CONTEXT_KEYS, stageConfig } from '#lib/stage-config';
import { EnvSchema } from '#platform/config';
import { FUNCTIONS, type FunctionId } from '#platform/routes';
import { synthesize, type SynthesizedApp } from './helpers';

/**
 * What a first deploy needs to work, and to be safe to deploy again: binary downloads, stage settings that reach the
 * functions, releases through CodeDeploy with rollback, throttles, teardown of dev, least privilege. The templates
 * are under test, not the code: no bundling.
 */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const FUNCTION_IDS = Object.keys(FUNCTIONS) as FunctionId[];
const API_FUNCTION_IDS = FUNCTION_IDS.filter(isApiFunction);

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] }>;
const resourcesOf = (template: Template) => template.toJSON().Resources as Resources;
const logicalId = (built: SynthesizedApp, construct: IConstruct) =>
  built.api.getLogicalId(construct.node.defaultChild as CfnElement);
const variablesOf = (built: SynthesizedApp, functionId: FunctionId) =>
  (
    resourcesOf(built.apiTemplate)[logicalId(built, built.api.fn(functionId))]!.Properties as {
      Environment: { Variables: Record<string, unknown> };
    }
  ).Environment.Variables;

const built: Partial<Record<'dev' | 'prod' | 'tuned', SynthesizedApp>> = {};
const dev = () => built.dev!;
const prod = () => built.prod!;

/** Stage settings as cdk.json would carry them: numbers, JSON values, strings. */
const TUNED = {
  rateLimitPerMinute: 250,
  accessTokenTtlSeconds: '600',
  loginMaxFailures: 3,
  oidcProviders: [
    { issuer: 'https://login.example.com', audience: 'charge-records', jwksUri: 'https://login.example.com/jwks' },
  ],
  healthExternalChecks: '[{"name":"erp","url":"https://erp.example.com/health"}]',
  jwtIssuer: 'https://api.example.com/v1',
  reservedConcurrency: '{"auth":40}',
  releaseTraffic: 'linear',
  waf: 'false',
  logLevel: 'warn',
};

beforeAll(() => {
  built.dev = synthesize('dev', NO_BUNDLING);
  built.prod = synthesize('prod', NO_BUNDLING);
  built.tuned = synthesize('prod', { ...NO_BUNDLING, ...TUNED });
}, 300_000);

afterAll(() => {
  for (const app of Object.values(built)) app?.cleanup();
});

describe('file downloads', () => {
  it('treats every response as possibly binary, so base64 bodies (PDF, XLSX, CSV) go out as bytes', () => {
    expect(BINARY_MEDIA_TYPES).toEqual(['*/*']);
    for (const app of [dev(), prod()]) {
      app.apiTemplate.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'] });
    }
  });
});

describe('stage settings by context', () => {
  it('every function setting is a variable of the config schema and a context key buildApp reads', () => {
    for (const [key, variable] of Object.entries(FUNCTION_SETTINGS)) {
      expect(Object.keys(EnvSchema.shape)).toContain(variable);
      expect(STAGE_CONTEXT_KEYS).toContain(key);
    }
    for (const variable of [
      'OIDC_PROVIDERS',
      'HEALTH_EXTERNAL_CHECKS',
      'RATE_LIMIT_PER_MINUTE',
      'LOGIN_MAX_FAILURES',
      'LOCKOUT_SECONDS',
      'LOGIN_RATE_LIMIT_PER_MINUTE',
      'ACCESS_TOKEN_TTL_SECONDS',
      'REFRESH_TOKEN_TTL_SECONDS',
      'SIGNING_KEY_OVERLAP_SECONDS',
    ]) {
      expect(Object.values(FUNCTION_SETTINGS)).toContain(variable);
    }
  });

  it('a context value reaches the environment of every function', () => {
    for (const functionId of FUNCTION_IDS) {
      expect(variablesOf(built.tuned!, functionId), functionId).toMatchObject({
        RATE_LIMIT_PER_MINUTE: '250',
        ACCESS_TOKEN_TTL_SECONDS: '600',
        LOGIN_MAX_FAILURES: '3',
        OIDC_PROVIDERS: JSON.stringify(TUNED.oidcProviders),
        HEALTH_EXTERNAL_CHECKS: TUNED.healthExternalChecks,
        JWT_ISSUER: 'https://api.example.com/v1',
        LOG_LEVEL: 'WARN',
      });
    }
    // Unset keys leave the schema's defaults: no variable at all.
    expect(variablesOf(dev(), 'auth')).not.toHaveProperty('RATE_LIMIT_PER_MINUTE');
    expect(variablesOf(dev(), 'auth')).toMatchObject({ JWT_ISSUER: 'urn:charge-records:dev' });
  });

  it('refuses a malformed value at synth, naming the context key', () => {
    expect(() => stageConfig({ rateLimitPerMinute: 'lots' })).toThrow(/-c rateLimitPerMinute: /);
    expect(() => stageConfig({ accessTokenTtlSeconds: 0 })).toThrow(/-c accessTokenTtlSeconds: /);
    expect(() => stageConfig({ oidcProviders: '[{"issuer":"x"}]' })).toThrow(/OIDC_PROVIDERS is not valid/);
    expect(() => stageConfig({ healthExternalChecks: 'not json' })).toThrow(/HEALTH_EXTERNAL_CHECKS is not valid JSON/);
    expect(() => stageConfig({ reservedConcurrency: '{"nope":1}' })).toThrow(/reservedConcurrency must be/);
    expect(() => stageConfig({ reservedConcurrency: '{"reports":0}' })).toThrow(/reservedConcurrency must be/);
    expect(() => stageConfig({ releaseTraffic: 'yolo' })).toThrow(/releaseTraffic must be one of/);
    expect(() => stageConfig({ logLevel: 'chatty' })).toThrow(/logLevel must be one of/);
    expect(stageConfig({ stage: 'prod', logLevel: 'debug' }).logLevel).toBe('DEBUG');
  });
});

describe('safe releases', () => {
  it('API Gateway invokes the live alias of each API function, which points at the current version', () => {
    const app = prod();
    const template = app.apiTemplate;
    expect([...app.api.aliases.keys()].sort()).toEqual([...API_FUNCTION_IDS].sort());
    for (const [functionId, alias] of app.api.aliases) {
      template.hasResourceProperties('AWS::Lambda::Alias', {
        Name: LIVE_ALIAS,
        FunctionName: { Ref: logicalId(app, app.api.fn(functionId)) },
        FunctionVersion: { 'Fn::GetAtt': [Match.stringLikeRegexp(`CurrentVersion`), 'Version'] },
      });
      // Every integration of the function's routes goes through the alias, never the bare function.
      const aliasRef = { Ref: logicalId(app, alias) };
      const bare = { 'Fn::GetAtt': [logicalId(app, app.api.fn(functionId)), 'Arn'] };
      // The methods live in the route stacks (lib/constructs/api-routes.ts), read here merged into the API stack.
      const uris = Object.values(app.apiWithRoutesTemplate.findResources('AWS::ApiGateway::Method'))
        .map((m) => JSON.stringify((m.Properties as { Integration?: { Uri?: unknown } }).Integration?.Uri))
        .filter((uri) => uri.includes(JSON.stringify(aliasRef)) || uri.includes(JSON.stringify(bare)));
      // The authorizer has no method of its own: its alias is checked on the authorizer below.
      if (functionId !== 'authorizer') expect(uris.length, functionId).toBeGreaterThan(0);
      expect(uris.every((uri) => !uri.includes(JSON.stringify(bare)))).toBe(true);
    }
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerUri: { 'Fn::Join': ['', Match.arrayWith([{ Ref: logicalId(app, app.api.live('authorizer')) }])] },
    });
    // Functions not behind the API (schedules, streams, Secrets Manager) have no alias.
    expect(Object.keys(template.findResources('AWS::Lambda::Alias'))).toHaveLength(API_FUNCTION_IDS.length);
  });

  it.each([
    ['prod', 'CodeDeployDefault.LambdaCanary10Percent10Minutes'],
    ['tuned', 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute'],
  ] as const)(
    '%s: CodeDeploy shifts each alias (%s) and rolls back on the function errors or the API 5xx rate',
    (stage, config) => {
      const app = built[stage]!;
      const template = app.apiTemplate;
      const api5xx = logicalId(app, app.observability.api5xxAlarm);
      expect(Object.keys(template.findResources('AWS::CodeDeploy::DeploymentGroup'))).toHaveLength(
        API_FUNCTION_IDS.length,
      );
      for (const [functionId, alias] of app.api.aliases) {
        const group = app.releases.groups.get(functionId)!;
        template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
          DeploymentConfigName: config,
          DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
          AutoRollbackConfiguration: {
            Enabled: true,
            Events: Match.arrayWith(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM']),
          },
          AlarmConfiguration: {
            Enabled: true,
            Alarms: [
              { Name: { Ref: logicalId(app, app.observability.errorAlarms.get(functionId)!) } },
              { Name: { Ref: api5xx } },
            ],
          },
          ServiceRoleArn: { 'Fn::GetAtt': [logicalId(app, app.releases.role), 'Arn'] },
        });
        template.hasResource('AWS::Lambda::Alias', {
          Properties: Match.objectLike({ Name: LIVE_ALIAS }),
          UpdatePolicy: {
            CodeDeployLambdaAliasUpdate: {
              ApplicationName: { Ref: logicalId(app, app.releases.application) },
              DeploymentGroupName: { Ref: logicalId(app, group) },
            },
          },
        });
        expect(alias.aliasName).toBe(LIVE_ALIAS);
      }
    },
  );

  it('dev: all at once, rolled back only when the deployment fails or is stopped (no bake time for an alarm)', () => {
    const app = dev();
    const template = app.apiTemplate;
    for (const group of Object.values(template.findResources('AWS::CodeDeploy::DeploymentGroup'))) {
      expect(group.Properties).toMatchObject({
        DeploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
        AutoRollbackConfiguration: { Enabled: true, Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'] },
      });
      expect(group.Properties.AlarmConfiguration).toBeUndefined();
    }
    expect(Object.keys(template.findResources('AWS::CodeDeploy::DeploymentGroup'))).toHaveLength(
      API_FUNCTION_IDS.length,
    );
  });
});

describe('throttles and concurrency', () => {
  it('throttles POST /auth/login and the readiness probe per route, below the stage, with logging kept', () => {
    const settings = new Capture();
    prod().apiTemplate.hasResourceProperties('AWS::ApiGateway::Stage', { MethodSettings: settings });
    const byPath = Object.fromEntries(
      (settings.asArray() as { ResourcePath: string; HttpMethod: string }[]).map((s) => [
        `${s.HttpMethod} ${s.ResourcePath}`,
        s,
      ]),
    );
    expect(byPath['POST /~1auth~1login']).toMatchObject({
      ThrottlingRateLimit: 20,
      ThrottlingBurstLimit: 40,
      LoggingLevel: 'ERROR',
      MetricsEnabled: true,
      DataTraceEnabled: false,
    });
    expect(byPath['GET /~1status~1health~1readiness']).toMatchObject({
      ThrottlingRateLimit: 5,
      ThrottlingBurstLimit: 10,
      LoggingLevel: 'ERROR',
    });
    expect(byPath['* /*']).toMatchObject({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
  });

  it('reserves concurrency by stage setting: none in dev (a new account may have a quota of 10), context overrides', () => {
    const reserved = (app: SynthesizedApp) =>
      Object.fromEntries(
        FUNCTION_IDS.map((id) => [
          id,
          (resourcesOf(app.apiTemplate)[logicalId(app, app.api.fn(id))]!.Properties as Record<string, unknown>)
            .ReservedConcurrentExecutions,
        ]).filter(([, n]) => n !== undefined),
      );
    expect(reserved(dev())).toEqual({});
    expect(reserved(prod())).toEqual({ reports: 10, 'report-runner': 5 });
    expect(reserved(built.tuned!)).toEqual({ auth: 40 });
  });
});

describe('prod defaults', () => {
  it('has WAF on in prod unless context turns it off; dev has none', () => {
    expect(Object.keys(prod().apiTemplate.findResources('AWS::WAFv2::WebACLAssociation'))).toHaveLength(1);
    expect(built.tuned!.apiTemplate.findResources('AWS::WAFv2::WebACL')).toEqual({});
    expect(dev().apiTemplate.findResources('AWS::WAFv2::WebACL')).toEqual({});
  });
});

describe('logs', () => {
  it("makes the stage's execution-log group before the stage, with the stage's retention", () => {
    for (const [app, days] of [
      [dev(), 14],
      [prod(), 365],
    ] as const) {
      const group = logicalId(app, app.api.executionLogs);
      const restApi = logicalId(app, app.api.api);
      app.apiTemplate.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: restApi }, '/v1']] },
        RetentionInDays: days,
      });
      const stage = resourcesOf(app.apiTemplate)[logicalId(app, app.api.api.deploymentStage)]!;
      expect(stage.DependsOn).toContain(group);
    }
  });
});

describe('least privilege', () => {
  /** Every statement of every IAM policy of the API stack. */
  const statements = (app: SynthesizedApp) =>
    Object.values(resourcesOf(app.apiTemplate))
      .filter((r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
      .flatMap((r) => (r.Properties!.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement);
  const actions = (app: SynthesizedApp) => statements(app).flatMap((s) => [s.Action].flat());

  it('grants no kms:ReEncrypt* and no kms:GenerateDataKey* anywhere: sending to queues and S3 needs neither', () => {
    for (const app of [dev(), prod()]) {
      expect(actions(app)).not.toContain('kms:ReEncrypt*');
      expect(actions(app)).not.toContain('kms:GenerateDataKey*');
    }
  });

  it('keeps X-Ray in one policy, the only one acknowledged for Resource::* besides named role policies', () => {
    const app = prod();
    const xray = app.api.node.findChild('XRayWrite') as Policy;
    const document = resourcesOf(app.apiTemplate)[logicalId(app, xray)]!.Properties as {
      PolicyDocument: unknown;
      Roles: { Ref: string }[];
    };
    expect(document.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' }],
    });
    expect(document.Roles.map((r) => r.Ref).sort()).toEqual(
      FUNCTION_IDS.map((id) => logicalId(app, app.api.fn(id).serviceRole)).sort(),
    );
    // No role's own policy carries the X-Ray actions.
    const others = statements(app).filter((s) => [s.Action].flat().includes('xray:PutTraceSegments'));
    expect(others).toHaveLength(1);

    // Acknowledgements of Resource::* sit on single policies, never on a whole role.
    const acknowledged: IConstruct[] = [];
    const visit = (node: IConstruct) => {
      if (JSON.stringify(node.node.metadata).includes('AwsSolutions-IAM5[Resource::*]')) acknowledged.push(node);
      node.node.children.forEach(visit);
    };
    visit(app.app);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const node of acknowledged) {
      expect(node instanceof Role, node.node.path).toBe(false);
      expect(node instanceof Policy, node.node.path).toBe(true);
    }
    // The console stack's one: the role policy of CDK's BucketDeployment function (CloudFront invalidations).
    const deployPolicy = /^Console\/Custom::CDKBucketDeployment[^/]+\/ServiceRole\/DefaultPolicy$/;
    const paths = acknowledged.map((n) => n.node.path);
    expect(paths.filter((path) => deployPolicy.test(path))).toHaveLength(1);
    expect(paths.filter((path) => !deployPolicy.test(path)).sort()).toEqual(
      [
        'Api/XRayWrite',
        'Api/analytics-streamFunctionRole/DefaultPolicy',
        'Api/audit-streamFunctionRole/DefaultPolicy',
        'Api/rotate-keysFunctionRole/DefaultPolicy',
      ].sort(),
    );
  });

  it('names the roles that sign and verify in SIGNING_KEY_ROLES, for the key policy of each new key', () => {
    const app = prod();
    const variables = variablesOf(app, 'rotate-keys');
    const rendered = JSON.stringify(variables.SIGNING_KEY_ROLES);
    const roleRef = (id: FunctionId) =>
      JSON.stringify({ 'Fn::GetAtt': [logicalId(app, app.api.fn(id).serviceRole), 'Arn'] });
    const withAccess = Object.entries(FUNCTIONS).filter(([, f]) => 'signingKeys' in f) as [
      FunctionId,
      { signingKeys: string },
    ][];
    expect(withAccess.length).toBeGreaterThan(0);
    for (const [functionId] of [...withAccess, ['rotate-keys'] as const])
      expect(rendered).toContain(roleRef(functionId as FunctionId));
    // Nothing lists the account's keys any more: the rotation finds its key through the secret version.
    expect(actions(app)).not.toContain('kms:ListKeys');
    expect(actions(app)).not.toContain('kms:ListResourceTags');
  });
});

describe('dev teardown', () => {
  it('empties the versioned report buckets on delete in dev only', () => {
    const buckets = (app: SynthesizedApp) =>
      [app.api.reports.bucket, app.api.reports.accessLogsBucket].map((b) => ({ Ref: logicalId(app, b) }));
    for (const bucket of buckets(dev())) {
      dev().apiTemplate.hasResourceProperties('Custom::S3AutoDeleteObjects', { BucketName: bucket });
    }
    dev().apiTemplate.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    expect(prod().apiTemplate.findResources('Custom::S3AutoDeleteObjects')).toEqual({});
    prod().apiTemplate.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });
});

describe('outputs', () => {
  it('names the API URL under a fixed key, for the smoke test after a deploy', () => {
    const app = dev();
    app.apiTemplate.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
  });

  it('names the audit-stream function, which the audit replay invokes', () => {
    const app = dev();
    const fnId = app.api.getLogicalId(app.api.fn('audit-stream').node.defaultChild as CfnElement);
    app.apiTemplate.hasOutput('AuditStreamFunctionName', { Value: { Ref: fnId } });
  });
});
