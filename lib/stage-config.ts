import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DEFAULT_SERVICE_NAME } from '#platform/powertools';

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
}

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
    operations: { waf: false },
    reportMail: {},
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
    waf: flag(context.waf),
  };
  const reportMail: ReportMailConfig = {
    senderIdentity: text(context.reportsSender),
    fromAddress: text(context.reportsFrom),
    publicBaseUrl: apiBaseUrl(context.apiBaseUrl),
  };
  return { ...base, tracing, sourceMapsAtRuntime, operations, reportMail };
}
