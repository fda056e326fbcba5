import { readFileSync } from 'node:fs';
import { CfnOutput, Duration, Names, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  Deployment,
  EndpointType,
  IdentitySource,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestAuthorizer,
  ResponseType,
  RestApi,
  Stage,
  type StageOptions,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Alias, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ERROR_STATUS, type ErrorCode, UNAVAILABLE_RETRY_AFTER_SECONDS } from '#platform/errors';
import { SECURITY_HEADERS } from '#platform/http/headers';
import { FUNCTIONS, ROUTES, functionDefinition, type FunctionId } from '#platform/routes';
import { AUDITED_TABLE_IDS, type TableId } from '#platform/tables';
import { AppFunction, isApiFunction, PROJECT_ROOT } from '#lib/constructs/app-function';
import { SigningKeys } from '#lib/constructs/signing-keys';
import { AuditTrail } from '#lib/constructs/audit-trail';
import { Analytics } from '#lib/constructs/analytics';
import { AttributionKey } from '#lib/constructs/attribution-key';
import { AuditDigests } from '#lib/constructs/audit-digests';
import { Reports } from '#lib/constructs/reports';
import {
  ApiRoutes,
  LambdaProxyIntegration,
  addRouteMethods,
  resourcePaths,
  routeTableHash,
  topSegment,
} from '#lib/constructs/api-routes';

/** Every attribute of an external user item and its identity claims (functions/users/store.ts). */
export const EXTERNAL_USER_ATTRIBUTES = [
  'pk',
  'kind',
  'userId',
  'username',
  'disabled',
  'source',
  'tokensValidAfter',
  'version',
  'createdAt',
  'createdBy',
  'updatedAt',
  'updatedBy',
  'updatedByName',
  'reason',
  'requestId',
];
import type { StageConfig } from './stage-config';

export const API_STAGE_NAME = 'v1';
/** The alias API Gateway invokes; CodeDeploy moves it from version to version (lib/constructs/releases.ts). */
export const LIVE_ALIAS = 'live';
/**
 * Every response may be binary: API Gateway decides by the request's first Accept value, which a browser or curl
 * never sets to the file's type. Responses the functions send with `isBase64Encoded: false` (all JSON) pass through
 * as they are; request bodies then arrive base64-encoded, which the router decodes (parseJsonBody).
 */
export const BINARY_MEDIA_TYPES = ['*/*'];
const PACKAGE_VERSION = (JSON.parse(readFileSync(`${PROJECT_ROOT}package.json`, 'utf8')) as { version: string })
  .version;

export interface ApiStackProps extends StackProps {
  readonly config: StageConfig;
  readonly tables: Readonly<Record<TableId, ITable>>;
}

/** API Gateway's own error answers (no Lambda ran), in the API's error shape. */
interface GatewayError {
  readonly type: ResponseType;
  readonly code: ErrorCode;
  readonly message: string;
  /** DEFAULT_4XX/5XX cover several statuses: keep the one API Gateway chose. */
  readonly keepStatus?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  /** Headers mapped from request context (no quotes), e.g. the authorizer's context on a Deny. */
  readonly mapped?: Readonly<Record<string, string>>;
}

/**
 * A Deny from the authorizer carries the caller's rate-limit window in its context
 * (functions/auth/authorizer.ts), so the 403 has X-RateLimit-* like every other authenticated answer.
 */
const DENY_RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': 'context.authorizer.rateLimit',
  'X-RateLimit-Remaining': 'context.authorizer.rateRemaining',
  'X-RateLimit-Reset': 'context.authorizer.rateReset',
} as const;

const UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable; retry later';

const GATEWAY_ERRORS: readonly GatewayError[] = [
  {
    type: ResponseType.UNAUTHORIZED,
    code: 'UNAUTHORIZED',
    message: 'A valid bearer token is required',
    headers: { 'WWW-Authenticate': 'Bearer' },
  },
  {
    // Only reachable for a path with no resource at all; answered like an anonymous unknown route.
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    code: 'UNAUTHORIZED',
    message: 'A valid bearer token is required',
    headers: { 'WWW-Authenticate': 'Bearer' },
  },
  {
    type: ResponseType.EXPIRED_TOKEN,
    code: 'UNAUTHORIZED',
    message: 'A valid bearer token is required',
    headers: { 'WWW-Authenticate': 'Bearer' },
  },
  {
    type: ResponseType.ACCESS_DENIED,
    code: 'FORBIDDEN',
    message: 'Missing permission for this operation',
    mapped: DENY_RATE_LIMIT_HEADERS,
  },
  { type: ResponseType.THROTTLED, code: 'RATE_LIMITED', message: 'Too many requests', headers: { 'Retry-After': '1' } },
  {
    type: ResponseType.QUOTA_EXCEEDED,
    code: 'RATE_LIMITED',
    message: 'Too many requests',
    headers: { 'Retry-After': '60' },
  },
  { type: ResponseType.REQUEST_TOO_LARGE, code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' },
  { type: ResponseType.UNSUPPORTED_MEDIA_TYPE, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported content type' },
  { type: ResponseType.BAD_REQUEST_BODY, code: 'BAD_REQUEST', message: 'The request body is malformed' },
  { type: ResponseType.BAD_REQUEST_PARAMETERS, code: 'BAD_REQUEST', message: 'The request parameters are malformed' },
  // A managed WAF rule blocked the request (with `-c waf=true`); without this it fell back to DEFAULT_4XX,
  // a 403 with code BAD_REQUEST, a pair the error table does not have.
  {
    type: ResponseType.WAF_FILTERED,
    code: 'FORBIDDEN',
    message: 'The request was blocked by the web application firewall',
  },
  // The authorizer fails closed when it cannot read the caller's state (DynamoDB unreachable or throttled), and
  // API Gateway reports a thrown error, a timeout or a throttled authorizer Lambda as one of these two: a 503
  // the client may retry, as the local server answers any authorizer failure (local/server.ts).
  { type: ResponseType.AUTHORIZER_FAILURE, code: 'UNAVAILABLE', message: UNAVAILABLE_MESSAGE },
  { type: ResponseType.AUTHORIZER_CONFIGURATION_ERROR, code: 'UNAVAILABLE', message: UNAVAILABLE_MESSAGE },
  { type: ResponseType.INTEGRATION_FAILURE, code: 'UNAVAILABLE', message: UNAVAILABLE_MESSAGE },
  { type: ResponseType.INTEGRATION_TIMEOUT, code: 'UNAVAILABLE', message: UNAVAILABLE_MESSAGE },
  {
    type: ResponseType.DEFAULT_4XX,
    code: 'BAD_REQUEST',
    message: 'The request could not be processed',
    keepStatus: true,
  },
  { type: ResponseType.DEFAULT_5XX, code: 'INTERNAL_ERROR', message: 'An unexpected error occurred', keepStatus: true },
];

/**
 * A gateway response's header values are mapping expressions, and a static one is wrapped in single quotes.
 * Quotes inside need no escaping (there is none): the value is what lies between the outer pair, so the CSP
 * goes out as `'default-src 'none'; frame-ancestors 'none''`. Deployed APIs send `default-src 'self'` from
 * DEFAULT_4XX exactly this way (DataBiosphere/azul, src/azul/terraform.py, checked by its integration test
 * against the deployed API).
 */
const quoted = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, `'${value}'`]));

/**
 * Mapped, not static (no quotes): API Gateway's request id, which is also the body's `error.id`. A gateway
 * response cannot validate the caller's `X-Request-ID` and fall back, so it never echoes it: it sends its own
 * UUID, the rule's "else a new UUID".
 */
const GATEWAY_REQUEST_ID = { 'X-Request-ID': 'context.requestId' } as const;

/** 503s tell the client when to come back, as the handlers' do (functions/platform/errors.ts). */
const retryAfterFor = (code: ErrorCode): Record<string, string> =>
  ERROR_STATUS[code] === 503 ? { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } : {};

/** Every header of a gateway response: the security headers, the error's own, and the request id. */
function gatewayResponseHeaders(error: Pick<GatewayError, 'code' | 'headers' | 'mapped'>): Record<string, string> {
  return {
    ...quoted({ ...SECURITY_HEADERS, ...retryAfterFor(error.code), ...error.headers }),
    ...error.mapped,
    ...GATEWAY_REQUEST_ID,
  };
}

/** The API's error body, filled by API Gateway's own context variables. */
export const gatewayErrorTemplate = (code: ErrorCode, message: string) =>
  JSON.stringify({
    error: {
      id: '$context.requestId',
      code,
      message,
      timestamp: '$context.requestTime',
      // As the handlers answer (functions/platform/http/error-response.ts): details on every 4xx.
      ...(ERROR_STATUS[code] < 500 ? { details: {} } : {}),
    },
  });

/**
 * The REST API, built entirely from FUNCTIONS and ROUTES (functions/platform/routes.ts):
 * a new feature adds its function and routes there and this stack picks them up.
 */
export class ApiStack extends Stack {
  readonly api: RestApi;
  readonly authorizer: RequestAuthorizer;
  /** Every function of FUNCTIONS by id, for constructs that must grant more (keys, buckets, queues). */
  readonly functions: ReadonlyMap<FunctionId, AppFunction>;
  readonly signingKeys: SigningKeys;
  readonly auditTrail: AuditTrail;
  /** The analytics aggregates' stream consumer: event source mapping, on-failure queues, lag alarm. */
  readonly analytics: Analytics;
  /** The key that MACs who made each change (GenerateMac: the writing functions; VerifyMac: the audit stream). */
  readonly attributionKey: AttributionKey;
  /** Signed digests of the audit chains in an Object Lock bucket, written on a schedule. */
  readonly auditDigests: AuditDigests;
  readonly reports: Reports;
  /** The stage's access log group (forwarded with the function logs when log forwarding is on). */
  readonly accessLogs: LogGroup;
  /** The log group API Gateway writes the stage's execution logs to, made here so it has a retention. */
  readonly executionLogs: LogGroup;
  /** The `live` alias of every function API Gateway calls (isApiFunction): what releases shift traffic on. */
  readonly aliases: ReadonlyMap<FunctionId, Alias>;
  /** The API's resources and methods, one nested stack per top-level path (the root's stay here). */
  readonly routeStacks: readonly ApiRoutes[];
  /** The deployment the `v1` stage serves; its logical id changes with the route table (routeTableHash). */
  readonly deployment: Deployment;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, tables } = props;

    const commit = this.node.tryGetContext('commit') as string | undefined;
    const functions = new Map<FunctionId, AppFunction>();
    for (const functionId of Object.keys(FUNCTIONS) as FunctionId[]) {
      const fn = new AppFunction(this, `${functionId}Function`, {
        functionId,
        logRetention: config.logRetention,
        logRemovalPolicy: config.removalPolicy,
        logLevel: config.logLevel,
        tracing: config.tracing,
        sourceMapsAtRuntime: config.sourceMapsAtRuntime,
        overrides: { reservedConcurrentExecutions: config.reservedConcurrency[functionId] },
        environment: {
          // The stage's settings from context (FUNCTION_SETTINGS), below what CDK itself must set.
          ...config.functionEnvironment,
          STAGE: config.stage,
          LOG_LEVEL: config.logLevel,
          // Per stage (config.serviceName): Powertools puts it in the metrics' `service` dimension, which the
          // alarms and the dashboard select by, so dev's metrics never reach prod's alarms in a shared account.
          SERVICE_NAME: config.serviceName,
          POWERTOOLS_SERVICE_NAME: config.serviceName,
          BUILD_VERSION: PACKAGE_VERSION,
          // The token issuer cannot be the stage URL (the functions would depend on the API that depends on
          // them): a custom domain's URL comes in by context, else a stable URN per stage.
          JWT_ISSUER: config.functionEnvironment.JWT_ISSUER ?? `urn:charge-records:${config.stage}`,
          // CI passes `-c commit=$GITHUB_SHA`; health reports it (config.ts defaults to "unknown").
          ...(commit ? { BUILD_COMMIT: commit } : {}),
        },
      });
      fn.bindTables(tables);
      functions.set(functionId, fn);
    }
    this.functions = functions;
    this.aliases = new Map(
      [...functions]
        .filter(([functionId]) => isApiFunction(functionId))
        .map(([functionId, fn]) => [
          functionId,
          new Alias(this, `${functionId}Live`, { aliasName: LIVE_ALIAS, version: fn.currentVersion }),
        ]),
    );
    this.signingKeys = this.addSigningKeys(config);
    this.attributionKey = new AttributionKey(this, 'AttributionKey', {
      removalPolicy: config.removalPolicy,
      keyPendingWindow: config.keyPendingWindow,
    });
    for (const [functionId, fn] of this.functions) {
      const access = functionDefinition(functionId).attribution;
      if (access) this.attributionKey.grant(fn, access);
    }
    this.auditDigests = new AuditDigests(this, 'AuditDigests', {
      digestFunction: this.fn('audit-digest'),
      interval: Duration.seconds(Number(config.functionEnvironment.AUDIT_DIGEST_INTERVAL_SECONDS ?? 900)),
      retentionYears: Number(config.functionEnvironment.AUDIT_RETENTION_YEARS ?? 10),
      removalPolicy: config.removalPolicy,
      keyPendingWindow: config.keyPendingWindow,
    });
    for (const [functionId, fn] of this.functions) {
      if (functionDefinition(functionId).digests === 'read') this.auditDigests.grant(fn, 'read');
    }
    this.auditTrail = new AuditTrail(this, 'AuditTrail', {
      consumer: this.fn('audit-stream'),
      tables: AUDITED_TABLE_IDS.map((id) => tables[id]),
      removalPolicy: config.removalPolicy,
    });
    // The second consumer of the charges stream; its queues share the audit queues' key.
    this.analytics = new Analytics(this, 'Analytics', {
      consumer: this.fn('analytics-stream'),
      charges: tables.charges,
      encryptionKey: this.auditTrail.encryptionKey,
      removalPolicy: config.removalPolicy,
      stage: config.stage,
    });
    this.grantExternalUserCreation(tables.users);
    this.reports = new Reports(this, 'Reports', {
      reportsFunction: this.fn('reports'),
      runnerFunction: this.fn('report-runner'),
      // Password reset links (functions/auth/password-reset.ts) go out like report mails.
      mailFunctions: [this.fn('password-reset')],
      // The SES identity (a verified domain or address) reports are sent from; From is pinned to it. prod must
      // name it (requireStageContext); dev falls back to a placeholder that only fails at send time.
      senderIdentity: config.reportMail.senderIdentity ?? 'example.com',
      senderAddress: config.reportMail.fromAddress,
      // Links in e-mails (PUBLIC_BASE_URL): the API's public URL comes by context (the stage URL would make a
      // dependency cycle); required for prod.
      publicBaseUrl: config.reportMail.publicBaseUrl,
      serviceName: config.serviceName,
      removalPolicy: config.removalPolicy,
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.accessLogs = accessLogs;

    this.api = new RestApi(this, 'Api', {
      binaryMediaTypes: BINARY_MEDIA_TYPES,
      // Per stage: the name is CloudWatch's `ApiName` dimension (Api5xxRate, the dashboard).
      restApiName: config.serviceName,
      description: `Charge Records API (${config.stage})`,
      endpointTypes: [EndpointType.REGIONAL],
      // Execution logs (AwsSolutions-APIG6) need the account-level CloudWatch role.
      cloudWatchRole: true,
      // The role is account-wide (AWS::ApiGateway::Account, one per account and region): whichever stage deployed
      // last owns the setting. Retained in every stage, so tearing down dev cannot delete the role prod's
      // execution and access logging rely on.
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      // The deployment and stage are made below, after the nested stacks that hold the methods.
      deploy: false,
    });
    const stageOptions: StageOptions = {
      stageName: API_STAGE_NAME,
      accessLogDestination: new LogGroupLogDestination(accessLogs),
      accessLogFormat: AccessLogFormat.custom(
        JSON.stringify({
          requestId: AccessLogField.contextRequestId(),
          ip: AccessLogField.contextIdentitySourceIp(),
          requestTime: AccessLogField.contextRequestTime(),
          httpMethod: AccessLogField.contextHttpMethod(),
          resourcePath: AccessLogField.contextResourcePath(),
          path: AccessLogField.contextPath(),
          status: AccessLogField.contextStatus(),
          protocol: AccessLogField.contextProtocol(),
          responseLength: AccessLogField.contextResponseLength(),
          responseLatency: AccessLogField.contextResponseLatency(),
          integrationLatency: AccessLogField.contextIntegrationLatency(),
          authorizerError: AccessLogField.contextAuthorizerError(),
          principalId: AccessLogField.contextAuthorizerPrincipalId(),
          errorType: AccessLogField.contextErrorResponseType(),
        }),
      ),
      throttlingRateLimit: config.throttle.rateLimit,
      throttlingBurstLimit: config.throttle.burstLimit,
      tracingEnabled: config.tracing,
      // Errors only: execution logs at INFO would repeat every request already in the access log.
      loggingLevel: MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      metricsEnabled: true,
      // A method setting replaces the stage's for that method: logging and metrics are repeated.
      methodOptions: Object.fromEntries(
        config.routeThrottles.map((t) => [
          `${t.path}/${t.method}`,
          {
            throttlingRateLimit: t.rateLimit,
            throttlingBurstLimit: t.burstLimit,
            loggingLevel: MethodLoggingLevel.ERROR,
            dataTraceEnabled: false,
            metricsEnabled: true,
          },
        ]),
      ),
    };
    // API Gateway creates this group on first use, without retention; made first, it has the stage's.
    this.executionLogs = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE_NAME}`,
      retention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });

    this.authorizer = new RequestAuthorizer(this, 'Authorizer', {
      handler: this.live('authorizer'),
      identitySources: [IdentitySource.header('Authorization')],
      // No result cache: a cached "allow" would let a revoked token through for the cache's lifetime.
      resultsCacheTtl: Duration.seconds(0),
    });

    this.routeStacks = this.addRoutes();
    this.addGatewayResponses();

    // Made as `deploy: true` would (same ids under the RestApi, so the stage keeps its logical id), but after the
    // nested stacks: a deployment snapshots the methods, so it waits for all of them, and its logical id carries
    // the route table's hash so that a route change makes a new deployment.
    this.deployment = new Deployment(this.api, 'Deployment', {
      api: this.api,
      description: `Charge Records API (${config.stage})`,
    });
    this.deployment.addToLogicalId({
      routes: routeTableHash({
        stacks: this.routeStacks.map((s) => s.paths),
        gatewayResponses: GATEWAY_ERRORS.map((e) => [
          e.type.responseType,
          e.code,
          e.message,
          gatewayResponseHeaders(e),
        ]),
      }),
    });
    for (const routeStack of this.routeStacks) this.deployment.node.addDependency(routeStack);
    this.api.deploymentStage = new Stage(this.api, `DeploymentStage.${API_STAGE_NAME}`, {
      deployment: this.deployment,
      ...stageOptions,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogs);

    // The stage URL under a fixed key: CI's smoke test reads it from `cdk deploy --outputs-file`.
    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the API stage' });
    new CfnOutput(this, 'AuditStreamFunctionName', {
      value: this.fn('audit-stream').functionName,
      description: 'Re-drives failed audit stream records: npm run audit:replay -- --aws <this name>',
    });
    this.acknowledgeApiFindings(config);
  }

  /**
   * The authorizer creates an external (OIDC) user on first sight: a PutItem on the users table, restricted by
   * `dynamodb:Attributes` to the fields such a user has — never `roles` or `passwordHash`, which only the users
   * function writes.
   */
  private grantExternalUserCreation(users: ITable): void {
    this.fn('authorizer').addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [users.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': EXTERNAL_USER_ATTRIBUTES },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
  }

  /** Signing keys and their rotation (lib/constructs/signing-keys.ts); grants follow FUNCTIONS' `signingKeys`. */
  private addSigningKeys(config: StageConfig): SigningKeys {
    const signingKeys = new SigningKeys(this, 'SigningKeys', {
      appTag: config.serviceName,
      rotationFunction: this.fn('rotate-keys'),
      removalPolicy: config.removalPolicy,
      keyPendingWindow: config.keyPendingWindow,
    });
    for (const [functionId, fn] of this.functions) {
      const access = functionDefinition(functionId).signingKeys;
      if (access) signingKeys.grant(fn, access);
    }
    return signingKeys;
  }

  /** What API Gateway invokes for this function: its `live` alias. */
  live(functionId: FunctionId): IFunction {
    const alias = this.aliases.get(functionId);
    if (!alias) throw new Error(`Function "${functionId}" is not called by API Gateway: it has no live alias`);
    return alias;
  }

  /** The function with this id; throws for an id FUNCTIONS does not have. */
  fn(functionId: FunctionId): AppFunction {
    const fn = this.functions.get(functionId);
    if (!fn) throw new Error(`No function "${functionId}" in FUNCTIONS`);
    return fn;
  }

  /**
   * The root's methods here, every other resource and method in a nested stack per top-level path (ApiRoutes): a
   * method and a resource are one CloudFormation resource each, and a stack may hold 500. Each function API Gateway
   * calls gets one invoke permission for the whole API, here, whichever stacks its methods are in.
   */
  private addRoutes(): ApiRoutes[] {
    const called = new Set<FunctionId>(['fallback', ...ROUTES.map((r) => r.function)]);
    for (const functionId of called) {
      const handler = this.live(functionId);
      // The id and scope LambdaIntegration gives an API-scoped permission (scopePermissionToMethod: false).
      handler.addPermission(
        `ApiPermission.ApiScoped.${Names.nodeUniqueId(handler.node)}.${Names.nodeUniqueId(this.api.node)}`,
        {
          principal: new ServicePrincipal('apigateway.amazonaws.com'),
          scope: this.api,
          sourceArn: this.api.arnForExecuteApi(),
        },
      );
    }
    const integrations = new Map<FunctionId, LambdaProxyIntegration>();
    addRouteMethods(this.api.root, {
      paths: ['/'],
      authorizer: this.authorizer,
      integration: (functionId) => {
        let found = integrations.get(functionId);
        if (!found) {
          found = new LambdaProxyIntegration(this.live(functionId));
          integrations.set(functionId, found);
        }
        return found;
      },
    });
    const segments = [...new Set(resourcePaths().map(topSegment))];
    return segments.map(
      (segment) =>
        new ApiRoutes(this, `Routes-${segment}`, {
          restApiId: this.api.restApiId,
          rootResourceId: this.api.restApiRootResourceId,
          segment,
          handler: (functionId) => this.live(functionId),
          authorizer: this.authorizer,
        }),
    );
  }

  private addGatewayResponses(): void {
    for (const error of GATEWAY_ERRORS) {
      this.api.addGatewayResponse(`GatewayResponse${error.type.responseType}`, {
        type: error.type,
        statusCode: error.keepStatus ? undefined : String(ERROR_STATUS[error.code]),
        responseHeaders: gatewayResponseHeaders(error),
        templates: { 'application/json': gatewayErrorTemplate(error.code, error.message) },
      });
    }
  }

  private acknowledgeApiFindings(config: StageConfig): void {
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason: 'Requests are validated by each handler with zod, which answers in the API error shape.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'The Lambda REQUEST authorizer verifies our own KMS-signed JWTs; there is no Cognito pool.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level logging role needs this AWS policy; it is what APIG6 execution logs require.",
      },
    );
    if (!config.operations.waf) {
      // With `-c waf=true` lib/constructs/observability.ts associates a web ACL with the stage instead.
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: 'WAF is optional and switched off for this deployment (enable with -c waf=true).',
      });
    }
    // API Gateway invokes these synchronously and sees every failure: a dead-letter queue would never fill.
    const synchronous = new Set<FunctionId>(['authorizer', 'fallback', ...ROUTES.map((r) => r.function)]);
    for (const functionId of synchronous) {
      Validations.of(this.fn(functionId)).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by API Gateway, which receives every error; a DLQ applies to async invokes only.',
      });
    }
    if (!config.tracing) {
      Validations.of(this.api).acknowledge({
        id: 'Serverless-APIGWXrayEnabled',
        reason: 'X-Ray tracing switched off for this stage by context (tracing=false).',
      });
    }
  }
}
