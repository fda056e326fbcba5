import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from '#platform/zod';
import { parseOidcProviders } from '#auth/oidc';
import { parseExternalChecks } from '#ops/detailed-health';
import { EnvSchema } from '#platform/config';
import { DEFAULT_SERVICE_NAME } from '#platform/powertools';
import { FUNCTIONS, ROUTES, type FunctionId, type HttpMethod } from '#platform/routes';

/** Deployment stages, chosen by context: `-c stage=prod` selects prod; anything unset is dev. */
export const STAGES = ['dev', 'prod'] as const;
export type StageName = (typeof STAGES)[number];

export interface StageConfig {
  readonly stage: StageName;
  /**
   * `charge-records-<stage>`: the functions' SERVICE_NAME (Powertools' `service` metric dimension), the alarms'
   * and dashboard's selector on it, and the REST API's name (the `ApiName` dimension), so dev and prod in one
   * account never count each other's metrics.
   */
  readonly serviceName: string;
  /** prod keeps data when a stack or resource is deleted; dev is meant to be torn down. */
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly logRetention: RetentionDays;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** API stage throttling, per second across all callers (per-user limits live in the authorizer). */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** X-Ray on API Gateway and Lambda. */
  readonly tracing: boolean;
  /**
   * `-c sourceMapsAtRuntime=true`: the functions run with `NODE_OPTIONS=--enable-source-maps`, so stack traces in
   * the logs point into the sources. Off unless asked for: it multiplies every cold start's import time. The maps
   * are in the assets either way, for symbolicating a minified trace offline (docs/performance.md).
   */
  readonly sourceMapsAtRuntime: boolean;
  /** How long the KMS key waits before deletion once its stack removes it. */
  readonly keyPendingWindow: Duration;
  /** Operations switches from context, the same for every stage unless given. */
  readonly operations: OperationsConfig;
  /** How scheduled reports are mailed, from context. */
  readonly reportMail: ReportMailConfig;
  /**
   * The functions' settings given by context (FUNCTION_SETTINGS: `-c rateLimitPerMinute=200` sets
   * RATE_LIMIT_PER_MINUTE), checked against the config schema at synth; every function gets them.
   */
  readonly functionEnvironment: Readonly<Record<string, string>>;
  /**
   * Reserved concurrency per function: what a runaway of that function (a flood of exports, many report runs at
   * once) may take, so the rest keep theirs. `-c reservedConcurrency='{"reports":10}'`; `{}` for none.
   */
  readonly reservedConcurrency: Readonly<Partial<Record<FunctionId, number>>>;
  /** Per-route throttles (API Gateway method settings) in front of the stage-wide one. */
  readonly routeThrottles: readonly RouteThrottle[];
  /** How CodeDeploy moves the API functions' `live` alias to a new version (`-c releaseTraffic=canary`). */
  readonly releaseTraffic: ReleaseTraffic;
  /** AWS Backup of the audit table into a locked vault (`-c auditBackup=true|false`); undefined: none. */
  readonly auditBackup?: AuditBackupConfig;
  /** The account's Lambda concurrency quota (`-c lambdaConcurrencyLimit=…`): alarmed at 80 %. */
  readonly lambdaConcurrencyLimit: number;
}

export interface RouteThrottle {
  readonly method: HttpMethod;
  /** A path of ROUTES. */
  readonly path: string;
  /** Requests per second across all callers. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** all-at-once: no bake time; canary: 10 % for 10 minutes, then the rest; linear: 10 % more every minute. */
export const RELEASE_TRAFFIC = ['all-at-once', 'canary', 'linear'] as const;
export type ReleaseTraffic = (typeof RELEASE_TRAFFIC)[number];

export interface AuditBackupConfig {
  /** How long each daily recovery point is kept. */
  readonly retention: Duration;
  /** The vault lock: no recovery point can be deleted before this age, by anyone. */
  readonly lockMinRetention: Duration;
  /** Compliance mode: the lock can be changed or removed only this long after the first deploy, then never. */
  readonly lockChangeableFor: Duration;
}

/**
 * The function settings a stage sets by CDK context: context key → environment variable (functions/platform/config.ts
 * describes each). docs/configuration.md lists them.
 */
export const FUNCTION_SETTINGS = {
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  accessTokenTtlSeconds: 'ACCESS_TOKEN_TTL_SECONDS',
  refreshTokenTtlSeconds: 'REFRESH_TOKEN_TTL_SECONDS',
  signingKeyOverlapSeconds: 'SIGNING_KEY_OVERLAP_SECONDS',
  rateLimitPerMinute: 'RATE_LIMIT_PER_MINUTE',
  loginMaxFailures: 'LOGIN_MAX_FAILURES',
  lockoutSeconds: 'LOCKOUT_SECONDS',
  loginRateLimitPerMinute: 'LOGIN_RATE_LIMIT_PER_MINUTE',
  oidcProviders: 'OIDC_PROVIDERS',
  sessionIdleSeconds: 'SESSION_IDLE_SECONDS',
  consoleBaseUrl: 'CONSOLE_BASE_URL',
  healthExternalChecks: 'HEALTH_EXTERNAL_CHECKS',
  reportInlineMaxBytes: 'REPORT_INLINE_MAX_BYTES',
} as const satisfies Record<string, keyof typeof EnvSchema.shape>;
export type FunctionSettingKey = keyof typeof FUNCTION_SETTINGS;

/** Logins hash a password (Argon2id, ~1 s of CPU) and readiness calls every table: both cost far more than a read. */
const ROUTE_THROTTLES: Record<StageName, readonly RouteThrottle[]> = {
  dev: [
    { method: 'POST', path: '/auth/login', rateLimit: 5, burstLimit: 10 },
    { method: 'GET', path: '/status/health/readiness', rateLimit: 2, burstLimit: 5 },
  ],
  prod: [
    { method: 'POST', path: '/auth/login', rateLimit: 20, burstLimit: 40 },
    { method: 'GET', path: '/status/health/readiness', rateLimit: 5, burstLimit: 10 },
  ],
};

export interface ReportMailConfig {
  /** `-c reportsSender=example.com` (or an address): the SES identity reports are sent from. */
  readonly senderIdentity?: string;
  /** `-c reportsFrom=reports@example.com`: the From address, when not derived from the identity. */
  readonly fromAddress?: string;
  /** `-c apiBaseUrl=https://api.example.com/v1`: the public API URL in mailed download links (PUBLIC_BASE_URL). */
  readonly publicBaseUrl?: string;
}

/** Where `-c logDestination=<arn>` ships every log group, told apart by the ARN's service. */
export interface LogDestination {
  readonly kind: 'firehose' | 'lambda';
  readonly arn: string;
}

export interface OperationsConfig {
  /** `-c alarmEmail=ops@example.com`: e-mail subscription on the alarm topic. */
  readonly alarmEmail?: string;
  /** `-c logDestination=arn:aws:firehose:…` (Kinesis Data Firehose) or `arn:aws:lambda:…` (a shipper to OpenSearch). */
  readonly logDestination?: LogDestination;
  /** `-c waf=true`: a WAFv2 web ACL on the API stage. */
  readonly waf: boolean;
}

/** The GMP audit trail: a year of daily recovery points that nobody, root included, can delete early. */
const AUDIT_BACKUP: AuditBackupConfig = {
  retention: Duration.days(365),
  lockMinRetention: Duration.days(30),
  lockChangeableFor: Duration.days(3),
};

const BASE: Record<StageName, StageConfig> = {
  dev: {
    stage: 'dev',
    serviceName: `${DEFAULT_SERVICE_NAME}-dev`,
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    logRetention: RetentionDays.TWO_WEEKS,
    logLevel: 'DEBUG',
    throttle: { rateLimit: 50, burstLimit: 100 },
    tracing: true,
    sourceMapsAtRuntime: false,
    keyPendingWindow: Duration.days(7),
    operations: { waf: false },
    reportMail: {},
    functionEnvironment: {},
    // None: a new account's Lambda quota can be as low as 10, and reserving any needs 100 left unreserved.
    reservedConcurrency: {},
    routeThrottles: ROUTE_THROTTLES.dev,
    releaseTraffic: 'all-at-once',
    // A locked vault keeps its recovery points past a teardown, which dev is for.
    auditBackup: undefined,
    lambdaConcurrencyLimit: 1000,
  },
  prod: {
    stage: 'prod',
    serviceName: `${DEFAULT_SERVICE_NAME}-prod`,
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    logRetention: RetentionDays.ONE_YEAR,
    logLevel: 'INFO',
    throttle: { rateLimit: 500, burstLimit: 1000 },
    tracing: true,
    sourceMapsAtRuntime: false,
    keyPendingWindow: Duration.days(30),
    operations: { waf: true },
    reportMail: {},
    functionEnvironment: {},
    reservedConcurrency: { reports: 10, 'report-runner': 5 },
    routeThrottles: ROUTE_THROTTLES.prod,
    releaseTraffic: 'canary',
    auditBackup: AUDIT_BACKUP,
    lambdaConcurrencyLimit: 1000,
  },
};

const LOG_DESTINATION_SERVICES: Readonly<Record<string, LogDestination['kind']>> = {
  firehose: 'firehose',
  lambda: 'lambda',
};

function logDestination(value: unknown): LogDestination | undefined {
  if (value === undefined || value === '') return undefined;
  const service = typeof value === 'string' && value.startsWith('arn:') ? value.split(':')[2] : undefined;
  const kind = service === undefined ? undefined : LOG_DESTINATION_SERVICES[service];
  if (!kind) {
    throw new Error(
      `logDestination must be a Kinesis Firehose or Lambda ARN (arn:aws:firehose:… or arn:aws:lambda:…), got "${String(value)}"`,
    );
  }
  return { kind, arn: value as string };
}

function alarmEmail(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
    throw new Error(`alarmEmail must be an e-mail address, got "${String(value)}"`);
  }
  return value;
}

function apiBaseUrl(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(value)) {
    throw new Error(
      `apiBaseUrl must be the API's public http(s) URL, e.g. https://api.example.com/v1, got "${String(value)}"`,
    );
  }
  // Links are built as `${base}/reports/…`: no trailing slash.
  return value.replace(/\/+$/, '');
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

/** A context value as an environment variable: cdk.json may hold numbers, lists and objects, `-c` gives strings. */
const asEnvValue = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** FUNCTION_SETTINGS from context, checked as the functions will check them, so a bad value fails synth, not a cold start. */
export function functionEnvironment(context: Readonly<Record<string, unknown>>): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [key, variable] of Object.entries(FUNCTION_SETTINGS)) {
    const value = context[key];
    if (value === undefined || value === '') continue;
    environment[variable] = asEnvValue(value);
  }
  const names = Object.keys(environment) as (keyof typeof EnvSchema.shape)[];
  const schema = z.pick(EnvSchema, Object.fromEntries(names.map((name) => [name, true])) as never) as z.core.$ZodType;
  const parsed = z.safeParse(schema, environment);
  const contextKey = (variable: PropertyKey) =>
    Object.entries(FUNCTION_SETTINGS).find(([, v]) => v === variable)?.[0] ?? String(variable);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `-c ${contextKey(i.path[0] ?? '')}: ${i.message}`);
    throw new Error(`Invalid function settings: ${problems.join('; ')}`);
  }
  if (environment.OIDC_PROVIDERS) parseOidcProviders(environment.OIDC_PROVIDERS);
  if (environment.HEALTH_EXTERNAL_CHECKS) parseExternalChecks(environment.HEALTH_EXTERNAL_CHECKS);
  return environment;
}

function reservedConcurrency(value: unknown): Partial<Record<FunctionId, number>> | undefined {
  if (value === undefined || value === '') return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
  }
  const entries = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed) : undefined;
  const valid = entries?.every(
    ([id, n]) => id in FUNCTIONS && (typeof n === 'number' || typeof n === 'string') && /^[1-9]\d*$/.test(String(n)),
  );
  if (!entries || !valid) {
    throw new Error(
      `reservedConcurrency must be a JSON object of function id → positive integer, e.g. {"reports":10}, got ${asEnvValue(value)}`,
    );
  }
  return Object.fromEntries(entries.map(([id, n]) => [id, Number(n)]));
}

function releaseTraffic(value: unknown): ReleaseTraffic | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(RELEASE_TRAFFIC as readonly unknown[]).includes(value)) {
    throw new Error(`releaseTraffic must be one of ${RELEASE_TRAFFIC.join(', ')}, got "${String(value)}"`);
  }
  return value as ReleaseTraffic;
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

function logLevel(value: unknown): StageConfig['logLevel'] | undefined {
  if (value === undefined || value === '') return undefined;
  const level = String(value).toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got "${String(value)}"`);
  }
  return level as StageConfig['logLevel'];
}

function positiveInteger(key: string, value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[1-9]\d*$/.test(String(value))) throw new Error(`${key} must be a positive integer, got "${String(value)}"`);
  return Number(value);
}

const flag = (value: unknown) => value === true || value === 'true';

function isStage(value: unknown): value is StageName {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

export interface StageContext {
  readonly stage?: unknown;
  readonly tracing?: unknown;
  readonly sourceMapsAtRuntime?: unknown;
  readonly alarmEmail?: unknown;
  readonly logDestination?: unknown;
  readonly waf?: unknown;
  readonly reportsSender?: unknown;
  readonly reportsFrom?: unknown;
  readonly apiBaseUrl?: unknown;
  readonly reservedConcurrency?: unknown;
  readonly releaseTraffic?: unknown;
  readonly auditBackup?: unknown;
  readonly lambdaConcurrencyLimit?: unknown;
  readonly logLevel?: unknown;
  /** FUNCTION_SETTINGS' keys. */
  readonly [setting: string]: unknown;
}

/** The context keys stageConfig reads, for buildApp to collect. */
export const STAGE_CONTEXT_KEYS = [
  'stage',
  'tracing',
  'sourceMapsAtRuntime',
  'alarmEmail',
  'logDestination',
  'waf',
  'reportsSender',
  'reportsFrom',
  'apiBaseUrl',
  'reservedConcurrency',
  'releaseTraffic',
  'auditBackup',
  'lambdaConcurrencyLimit',
  'logLevel',
  ...(Object.keys(FUNCTION_SETTINGS) as FunctionSettingKey[]),
] as const satisfies readonly (keyof StageContext)[];

/**
 * Context prod cannot do without: alarms that reach nobody and report mails from an unverified
 * sender with links to localhost are deploys that look fine and are not.
 */
export const PROD_REQUIRED_CONTEXT = ['alarmEmail', 'reportsSender', 'apiBaseUrl'] as const;

/** Throws, naming every missing key, when a prod config lacks PROD_REQUIRED_CONTEXT (dev needs none). */
export function requireStageContext(config: StageConfig): void {
  if (config.stage !== 'prod') return;
  const given: Record<(typeof PROD_REQUIRED_CONTEXT)[number], string | undefined> = {
    alarmEmail: config.operations.alarmEmail,
    reportsSender: config.reportMail.senderIdentity,
    apiBaseUrl: config.reportMail.publicBaseUrl,
  };
  const missing = PROD_REQUIRED_CONTEXT.filter((key) => !given[key]);
  if (missing.length > 0) {
    throw new Error(
      `stage=prod needs ${missing.map((key) => `-c ${key}=…`).join(' ')} (missing: ${missing.join(', ')}; see docs/operations.md "Stages")`,
    );
  }
}

/**
 * The stage's settings from CDK context: `stage` (dev|prod, default dev), optionally `tracing`
 * (`-c tracing=false` turns X-Ray off, e.g. in a sandbox account), `sourceMapsAtRuntime` (`-c sourceMapsAtRuntime=true`
 * turns on source-mapped stack traces, see StageConfig) and the operations switches
 * `alarmEmail`, `logDestination` and `waf` (see OperationsConfig), and the report mail settings `reportsSender`,
 * `reportsFrom` and `apiBaseUrl` (see ReportMailConfig). buildApp checks prod's required ones (requireStageContext).
 */
export function stageConfig(context: StageContext): StageConfig {
  const name = context.stage ?? 'dev';
  if (!isStage(name)) throw new Error(`Unknown stage "${String(name)}": use -c stage=${STAGES.join('|')}`);
  const base = BASE[name];
  const tracing = context.tracing === undefined ? base.tracing : flag(context.tracing);
  const sourceMapsAtRuntime =
    context.sourceMapsAtRuntime === undefined ? base.sourceMapsAtRuntime : flag(context.sourceMapsAtRuntime);
  const operations: OperationsConfig = {
    alarmEmail: alarmEmail(context.alarmEmail),
    logDestination: logDestination(context.logDestination),
    // On in prod unless `-c waf=false`.
    waf: context.waf === undefined ? base.operations.waf : flag(context.waf),
  };
  const reportMail: ReportMailConfig = {
    senderIdentity: text(context.reportsSender),
    fromAddress: text(context.reportsFrom),
    publicBaseUrl: apiBaseUrl(context.apiBaseUrl),
  };
  const backup =
    context.auditBackup === undefined ? base.auditBackup : flag(context.auditBackup) ? AUDIT_BACKUP : undefined;
  for (const throttle of base.routeThrottles) {
    if (!ROUTES.some((r) => r.method === throttle.method && r.path === throttle.path)) {
      throw new Error(`Route throttle for ${throttle.method} ${throttle.path}: no such route`);
    }
  }
  return {
    ...base,
    tracing,
    sourceMapsAtRuntime,
    operations,
    reportMail,
    // LOG_LEVEL and Lambda's own level filter both follow it (lib/api-stack.ts, lib/constructs/app-function.ts).
    logLevel: logLevel(context.logLevel) ?? base.logLevel,
    functionEnvironment: functionEnvironment(context),
    reservedConcurrency: reservedConcurrency(context.reservedConcurrency) ?? base.reservedConcurrency,
    releaseTraffic: releaseTraffic(context.releaseTraffic) ?? base.releaseTraffic,
    auditBackup: backup,
    lambdaConcurrencyLimit:
      positiveInteger('lambdaConcurrencyLimit', context.lambdaConcurrencyLimit) ?? base.lambdaConcurrencyLimit,
  };
}
