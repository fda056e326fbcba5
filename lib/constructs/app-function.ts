import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  type CfnFunction,
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { FUNCTIONS, functionDefinition, ROUTES, type FunctionId, type TableAccess } from '#platform/routes';
import { TABLES, type TableId } from '#platform/tables';

/** The project root: entries in FUNCTIONS are relative to it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * ESM bundles still meet CommonJS dependencies that call `require` (some AWS SDK and Powertools
 * internals); esbuild's ESM output has no `require`, so the bundle defines one.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * The bundle budget of the functions API Gateway calls (isApiFunction): their main file, `index.mjs`, is at most
 * this many bytes. test/cdk/api-stack.test.ts checks it (listing the functions still over it with their own cap);
 * the bundles bench (scripts/bench/bundles.bench.ts) reports it.
 */
export const API_BUNDLE_BUDGET_BYTES = 500_000;

const API_FUNCTIONS: ReadonlySet<FunctionId> = new Set<FunctionId>([
  ...ROUTES.map((route) => route.function),
  'fallback',
  'authorizer',
]);

/** Whether API Gateway calls the function: it serves a route, or it is the fallback or the authorizer. */
export const isApiFunction = (functionId: FunctionId): boolean => API_FUNCTIONS.has(functionId);

/**
 * The one policy holding X-Ray's write actions, shared by every traced function's role of the stack: those actions
 * support no resource-level permissions, so this policy alone carries that `Resource: *`, acknowledged on it alone.
 */
function xrayWritePolicy(stack: Stack): Policy {
  const id = 'XRayWrite';
  const existing = stack.node.tryFindChild(id);
  if (existing) return existing as Policy;
  const policy = new Policy(stack, id, {
    statements: [
      new PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }),
    ],
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
  });
  return policy;
}

/** IAM actions per TableAccess (functions/platform/routes.ts). Stream reads are granted by the stream consumers, not here. */
const READ_ACTIONS = [
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
] as const;
const WRITE_ACTIONS = [...READ_ACTIONS, 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

export const TABLE_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  describe: ['dynamodb:DescribeTable'],
  read: READ_ACTIONS,
  scan: [...READ_ACTIONS, 'dynamodb:Scan'],
  // The authorizer's counters: UpdateItem with conditions, never a Put that could overwrite a revocation marker.
  counters: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
  // TransactWriteItems is authorised per contained Put/Update/ConditionCheck, so it needs no action of its own.
  write: WRITE_ACTIONS,
  writeScan: [...WRITE_ACTIONS, 'dynamodb:Scan'],
  readWrite: [...WRITE_ACTIONS, 'dynamodb:DeleteItem'],
  // The audit table: read the chain head and put new records (also inside TransactWriteItems,
  // which IAM authorises per PutItem). No UpdateItem, DeleteItem or BatchWriteItem: nothing is ever rewritten.
  append: [
    'dynamodb:DescribeTable',
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:ConditionCheckItem',
    'dynamodb:PutItem',
  ],
};

/** What DynamoDB asks KMS for on the caller's behalf when it reads or writes a CMK-encrypted table. */
const KEY_READ = ['kms:Decrypt', 'kms:DescribeKey'] as const;
const KEY_WRITE = [...KEY_READ, 'kms:Encrypt', 'kms:GenerateDataKey'] as const;
export const TABLE_KEY_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  describe: [],
  read: KEY_READ,
  scan: KEY_READ,
  counters: KEY_WRITE,
  write: KEY_WRITE,
  writeScan: KEY_WRITE,
  readWrite: KEY_WRITE,
  append: KEY_WRITE,
};

export interface AppFunctionProps {
  /** Which FUNCTIONS entry this is: entry, memory, timeout and description come from there. */
  readonly functionId: FunctionId;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** The stage's LOG_LEVEL: also Lambda's application log level, or JSON logging would drop DEBUG (default INFO). */
  readonly logLevel?: keyof typeof ApplicationLogLevel;
  /** X-Ray active tracing (default on). */
  readonly tracing?: boolean;
  /**
   * `NODE_OPTIONS=--enable-source-maps`: stack traces point into the sources (default off). Node then reads and
   * parses the bundle's source map at init, which multiplies the cold import time (docs/performance.md), so only a
   * stage that asks for it (`-c sourceMapsAtRuntime=true`) gets it. The `.map` is in the asset either way.
   */
  readonly sourceMapsAtRuntime?: boolean;
  /** Merged over the defaults; `bindTable` adds the table names on top. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Any other NodejsFunction setting; its `environment` is merged too, never a replacement. */
  readonly overrides?: Omit<
    NodejsFunctionProps,
    'entry' | 'runtime' | 'architecture' | 'bundling' | 'role' | 'logGroup'
  >;
}

/**
 * A Lambda function of this project, with the defaults every one of them shares: Node.js 24 on arm64,
 * bundled by the local esbuild into minified ESM with the AWS SDK inside (a pinned SDK, not the runtime's),
 * its source map and esbuild's metafile next to it in the asset (`index.mjs.map`, `index.meta.json`; not read at
 * run time unless `sourceMapsAtRuntime`), a log group with retention, an own role that may write only to that
 * log group, and table access granted together with the table's env var.
 */
/** The SDK module every client takes its default credentials from, and what Lambda bundles get instead. */
export const DEFAULT_CREDENTIAL_CHAIN = '@aws-sdk/credential-provider-node';
export const LAMBDA_CREDENTIALS = './functions/platform/lambda-credentials.ts';
/**
 * SDK code reached only through a dynamic `import()` that no operation of this project takes: event-stream
 * serialisation (≈ 20 KB per bundle) loads only for streaming operations (S3 Select, Lambda's response streams).
 * Left out of every bundle but those of functions that make an S3 client (`s3Client`), which imports it at once;
 * test/cdk/api-stack.test.ts checks that no bundle imports it, or anything else left out, statically.
 */
export const UNUSED_SDK_MODULES = ['@smithy/core/event-streams'];

/** What esbuild leaves out of this function's bundle. */
export const externalModulesOf = (functionId: FunctionId): string[] =>
  functionDefinition(functionId).s3Client ? [] : UNUSED_SDK_MODULES;

export class AppFunction extends NodejsFunction {
  readonly functionId: FunctionId;
  readonly serviceRole: Role;
  readonly logGroupResource: LogGroup;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const definition = FUNCTIONS[props.functionId];
    const tracing = props.tracing ?? true;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole, whose logs:* reach every log group.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${definition.description} (${props.functionId})`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      ...props.overrides,
      entry: `${PROJECT_ROOT}${definition.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: definition.description,
      memorySize: definition.memorySize,
      timeout: Duration.seconds(definition.timeoutSeconds),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      role,
      // Active tracing is set below: CDK's would put X-Ray's `Resource: *` into each role's own policy.
      tracing: Tracing.DISABLED,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      // With JSON logs Lambda filters by level itself (AWS_LAMBDA_LOG_LEVEL, INFO unless set) and Powertools follows
      // it: the stage's LOG_LEVEL must be set here too. Platform lines only from WARN.
      applicationLogLevelV2: ApplicationLogLevel[props.logLevel ?? 'INFO'],
      systemLogLevelV2: SystemLogLevel.WARN,
      environment: {
        ...(props.sourceMapsAtRuntime ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...props.environment,
        ...props.overrides?.environment,
      },
      bundling: {
        forceDockerBundling: false,
        // The AWS SDK is bundled too instead of relying on the runtime's copy; only code no call reaches stays out.
        externalModules: externalModulesOf(props.functionId),
        minify: true,
        // The map stays in the asset (and in cdk.out) for offline symbolication; Node reads it only with
        // --enable-source-maps (sourceMapsAtRuntime).
        sourceMap: true,
        // index.meta.json: what went into the bundle, byte by byte (test/cdk/api-stack.test.ts checks that no
        // local-runtime or test code does; esbuild's analyzer reads it too).
        metafile: true,
        target: 'node24',
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // Lambda's credentials are always in the environment: the SDK's default chain (SSO, STS, profiles,
        // container credentials) would add ~135 KB to every bundle for nothing.
        esbuildArgs: { [`--alias:${DEFAULT_CREDENTIAL_CHAIN}`]: LAMBDA_CREDENTIALS },
      },
    });
    this.functionId = props.functionId;
    this.serviceRole = role;
    this.logGroupResource = logGroup;

    if (tracing) {
      (this.node.defaultChild as CfnFunction).tracingConfig = { mode: Tracing.ACTIVE };
      xrayWritePolicy(Stack.of(this)).attachToRole(role);
    } else {
      Validations.of(this).acknowledge({
        id: 'Serverless-LambdaTracing',
        reason: 'X-Ray tracing switched off for this stage by context (tracing=false).',
      });
    }
  }

  /**
   * Gives this function `access` to the table and tells it the table's name through the env var
   * TABLES names, in one call so the two cannot drift apart. Index ARNs are listed one by one from
   * the shared definition, so the policy holds no wildcard; KMS use is limited to DynamoDB's calls.
   */
  bindTable(tableId: TableId, table: ITable, access: TableAccess): void {
    this.addEnvironment(TABLES[tableId].envVar, table.tableName);
    const indexArns =
      access === 'describe' ? [] : TABLES[tableId].indexes.map((index) => `${table.tableArn}/index/${index.indexName}`);
    Grant.addToPrincipal({
      grantee: this,
      actions: [...TABLE_ACTIONS[access]],
      resourceArns: [table.tableArn, ...indexArns],
    });
    const keyActions = TABLE_KEY_ACTIONS[access];
    if (table.encryptionKey && keyActions.length > 0) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: [...keyActions],
          resources: [table.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
  }

  /** Applies every table grant the FUNCTIONS registry lists for this function. */
  bindTables(tables: Readonly<Record<TableId, ITable>>): void {
    const wanted: Partial<Record<TableId, TableAccess>> = FUNCTIONS[this.functionId].tables;
    for (const [tableId, access] of Object.entries(wanted) as [TableId, TableAccess][]) {
      this.bindTable(tableId, tables[tableId], access);
    }
  }
}
