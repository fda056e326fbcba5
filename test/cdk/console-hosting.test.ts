import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONSOLE_BUILD_DIR,
  CONSOLE_CSP,
  CONSOLE_PLACEHOLDER_DIR,
  ConsoleHosting,
  consoleSourceDir,
} from '#lib/constructs/console-hosting';
import { grantSsoClientSecrets } from '#lib/constructs/sso-secrets';

/**
 * The console in AWS: a private bucket behind CloudFront (origin access control), the API as the same
 * distribution's default origin, strict security headers on the console. The construct is synthesized in a stack
 * of its own next to a REST API, as lib/app.ts places it, with the cdk-nag packs as validation plugins: the synth
 * throws on any finding left unacknowledged.
 */

interface Hosted {
  app: App;
  stack: Stack;
  hosting: ConsoleHosting;
  template: Template;
}

function hostConsole(removalPolicy: RemovalPolicy): Hosted {
  const app = new App({ context: { '@aws-cdk/core:strictCfnValidateErrors': true } });
  const apiStack = new Stack(app, 'Api');
  const api = new RestApi(apiStack, 'Api', { deployOptions: { stageName: 'v1' }, cloudWatchRole: false });
  api.root.addMethod('GET', new MockIntegration());
  // A stand-in for the real API, whose own findings api-stack.test.ts and nag.test.ts cover: only the console is checked.
  Validations.of(apiStack).acknowledge(
    ...[
      'AwsSolutions-APIG1',
      'AwsSolutions-APIG2',
      'AwsSolutions-APIG3',
      'AwsSolutions-APIG4',
      'AwsSolutions-APIG6',
      'AwsSolutions-COG4',
      'Serverless-APIGWXrayEnabled',
      'Serverless-APIGWDefaultThrottling',
      'Serverless-APIGWStructuredLogging',
      'Serverless-APIGWAccessLogging',
    ].map((id) => ({ id, reason: 'A stand-in for the real API.' })),
  );
  const stack = new Stack(app, 'Console');
  const hosting = new ConsoleHosting(stack, 'Console', { api, stageName: 'v1', removalPolicy });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, hosting, template: Template.fromStack(stack) };
}

interface Behavior {
  PathPattern?: string;
  TargetOriginId: string;
  CachePolicyId: unknown;
  OriginRequestPolicyId?: unknown;
  ResponseHeadersPolicyId?: unknown;
  ViewerProtocolPolicy: string;
  AllowedMethods?: string[];
}
interface DistributionConfig {
  DefaultCacheBehavior: Behavior;
  CacheBehaviors: Behavior[];
  Origins: Array<{
    Id: string;
    DomainName: unknown;
    OriginPath?: string;
    OriginAccessControlId?: unknown;
    S3OriginConfig?: { OriginAccessIdentity?: string };
    CustomOriginConfig?: { OriginProtocolPolicy: string };
  }>;
  Logging?: unknown;
}

// Managed policy ids (the same in every account).
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

describe.each([
  ['dev', RemovalPolicy.DESTROY],
  ['prod', RemovalPolicy.RETAIN],
] as const)('console hosting (%s)', (_stage, removalPolicy) => {
  let hosted: Hosted;
  let template: Template;
  let distribution: DistributionConfig;

  beforeAll(() => {
    hosted = hostConsole(removalPolicy);
    template = hosted.template;
    const distributions = template.findResources('AWS::CloudFront::Distribution');
    expect(Object.keys(distributions)).toHaveLength(1);
    distribution = (Object.values(distributions)[0] as { Properties: { DistributionConfig: DistributionConfig } })
      .Properties.DistributionConfig;
  }, 120_000);

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(hosted.stack);
      expect(
        report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
      ).toEqual([]);
    }
  });

  it('keeps the console bucket private, encrypted, TLS-only and logged', () => {
    const consoleBucket = hosted.stack.getLogicalId(hosted.hosting.bucket.node.defaultChild as never);
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'console-bucket/' }),
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      }),
    });
    // No website hosting, and the bucket policy grants reads to CloudFront only, for this distribution only.
    const bucket = template.toJSON().Resources[consoleBucket] as { Properties: Record<string, unknown> };
    expect(bucket.Properties.WebsiteConfiguration).toBeUndefined();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: consoleBucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('reaches the bucket through origin access control, not an origin access identity', () => {
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    const s3Origin = distribution.Origins.find((o) => o.S3OriginConfig)!;
    expect(s3Origin.OriginAccessControlId).toBeDefined();
    expect(s3Origin.S3OriginConfig?.OriginAccessIdentity ?? '').toBe('');
  });

  it('sends everything but /console/* to the API stage, uncached, with every viewer header but Host', () => {
    const def = distribution.DefaultCacheBehavior;
    const apiOrigin = distribution.Origins.find((o) => o.Id === def.TargetOriginId)!;
    expect(apiOrigin.OriginPath).toBe('/v1');
    expect(apiOrigin.CustomOriginConfig?.OriginProtocolPolicy).toBe('https-only');
    expect(JSON.stringify(apiOrigin.DomainName)).toContain('execute-api');
    expect(def.CachePolicyId).toBe(CACHING_DISABLED);
    expect(def.OriginRequestPolicyId).toBe(ALL_VIEWER_EXCEPT_HOST_HEADER);
    expect(def.AllowedMethods).toEqual(expect.arrayContaining(['POST', 'PATCH', 'DELETE', 'PUT']));
    expect(def.ViewerProtocolPolicy).toBe('https-only');
    // The API's own security headers stand: no console policy overrides them.
    expect(def.ResponseHeadersPolicyId).toBeUndefined();
  });

  it('serves /console/* from the bucket, cached, with the SPA fallback and the security headers', () => {
    const consoleBehavior = distribution.CacheBehaviors.find((b) => b.PathPattern === '/console/*')!;
    expect(consoleBehavior).toBeDefined();
    const origin = distribution.Origins.find((o) => o.Id === consoleBehavior.TargetOriginId)!;
    expect(origin.S3OriginConfig).toBeDefined();
    expect(consoleBehavior.CachePolicyId).toBe(CACHING_OPTIMIZED);
    expect(consoleBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(consoleBehavior.ResponseHeadersPolicyId).toBeDefined();
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: Match.stringLikeRegexp("request.uri = '/console/index.html'"),
    });
  });

  it('sets a strict CSP (no inline script) and HSTS on the console', () => {
    const policies = template.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    expect(Object.keys(policies)).toHaveLength(1);
    const security = (
      Object.values(policies)[0] as {
        Properties: { ResponseHeadersPolicyConfig: { SecurityHeadersConfig: Record<string, Record<string, unknown>> } };
      }
    ).Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = String(security.ContentSecurityPolicy!.ContentSecurityPolicy);
    // The very policy the local server sends and the browser tests run under.
    expect(csp).toBe(CONSOLE_CSP);
    const directives = new Map(csp.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    // object-src falls back to default-src when not named.
    expect(directives.get('object-src') ?? directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(["'self'", "'none'"]).toContain(directives.get('base-uri')?.join(' '));
    expect(security.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 730 * 86_400,
      IncludeSubdomains: true,
      Override: true,
    });
    expect(security.FrameOptions).toMatchObject({ FrameOption: 'DENY' });
    expect(security.ContentTypeOptions).toMatchObject({ Override: true });
  });

  it('logs the distribution and deploys the console build under console/', () => {
    expect(distribution.Logging).toMatchObject({ Prefix: 'cloudfront/' });
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketKeyPrefix: 'console/',
      DistributionPaths: ['/console/*'],
    });
  });

  it('passes the viewer host to the API as X-Forwarded-Host (the SSO flow redirects back to it)', () => {
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: Match.stringLikeRegexp("request.headers\\['x-forwarded-host'\\]"),
    });
  });
});

describe('the directory deployed as the console', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'console-build-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the build when there is one, else the placeholder (synth never builds the console)', () => {
    expect(consoleSourceDir(join(dir, 'missing'))).toBe(CONSOLE_PLACEHOLDER_DIR);
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    expect(consoleSourceDir(dir)).toBe(dir);
    expect(consoleSourceDir()).toMatch(new RegExp(`^(${CONSOLE_BUILD_DIR}|${CONSOLE_PLACEHOLDER_DIR})$`));
  });
});

describe('SSO client secrets', () => {
  it('lets the function read exactly the secrets OIDC_PROVIDERS names', () => {
    const stack = new Stack(new App(), 'Grants', { env: { account: '123456789012', region: 'eu-central-1' } });
    const fn = new LambdaFunction(stack, 'Auth', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => {};'),
    });
    const provider = (id: string, clientSecretRef?: string) => ({
      id,
      issuer: `https://${id}.example.com`,
      audience: 'charge-records',
      jwksUri: `https://${id}.example.com/jwks`,
      clientId: 'charge-records',
      ...(clientSecretRef ? { clientSecretRef } : {}),
    });
    grantSsoClientSecrets(
      fn,
      JSON.stringify([
        provider('corp', 'charge-records/sso/corp'),
        provider('partner', 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:partner-AbCdEf'),
        provider('public'),
      ]),
    );
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    const statements = (policies[0] as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties
      .PolicyDocument.Statement;
    expect(statements).toHaveLength(1);
    const [statement] = statements as Array<{ Effect: string; Action: string; Resource: unknown[] }>;
    expect(statement).toMatchObject({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue' });
    // A name gets the six-character suffix Secrets Manager appends; the ARN stays as given; no secret, no grant.
    expect(statement!.Resource).toHaveLength(2);
    expect(JSON.stringify(statement!.Resource[0])).toMatch(
      /:secretsmanager:eu-central-1:123456789012:secret:charge-records\/sso\/corp-\?\?\?\?\?\?"/,
    );
    expect(statement!.Resource[1]).toBe('arn:aws:secretsmanager:eu-central-1:123456789012:secret:partner-AbCdEf');
  });
});
