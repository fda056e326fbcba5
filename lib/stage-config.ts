import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** Deployment stages (SPEC §8: "stages by context"). `-c stage=prod` selects prod; anything unset is dev. */
export const STAGES = ['dev', 'prod'] as const;
export type StageName = (typeof STAGES)[number];

export interface StageConfig {
  readonly stage: StageName;
  /** prod keeps data when a stack or resource is deleted; dev is meant to be torn down. */
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly logRetention: RetentionDays;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** API stage throttling, per second across all callers (per-user limits live in the authorizer). */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** X-Ray on API Gateway and Lambda. */
  readonly tracing: boolean;
  /** How long the KMS key waits before deletion once its stack removes it. */
  readonly keyPendingWindow: Duration;
  /** Operations switches from context (SPEC §8), the same for every stage unless given. */
  readonly operations: OperationsConfig;
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
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    logRetention: RetentionDays.TWO_WEEKS,
    logLevel: 'DEBUG',
    throttle: { rateLimit: 50, burstLimit: 100 },
    tracing: true,
    keyPendingWindow: Duration.days(7),
    operations: { waf: false },
  },
  prod: {
    stage: 'prod',
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    logRetention: RetentionDays.ONE_YEAR,
    logLevel: 'INFO',
    throttle: { rateLimit: 500, burstLimit: 1000 },
    tracing: true,
    keyPendingWindow: Duration.days(30),
    operations: { waf: false },
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
    throw new Error(`logDestination must be a Kinesis Firehose or Lambda ARN (arn:aws:firehose:… or arn:aws:lambda:…), got "${String(value)}"`);
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

const flag = (value: unknown) => value === true || value === 'true';

function isStage(value: unknown): value is StageName {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

export interface StageContext {
  readonly stage?: unknown;
  readonly tracing?: unknown;
  readonly alarmEmail?: unknown;
  readonly logDestination?: unknown;
  readonly waf?: unknown;
}

/** The context keys stageConfig reads, for buildApp to collect. */
export const STAGE_CONTEXT_KEYS = ['stage', 'tracing', 'alarmEmail', 'logDestination', 'waf'] as const satisfies readonly (keyof StageContext)[];

/**
 * The stage's settings from CDK context: `stage` (dev|prod, default dev), optionally `tracing`
 * (`-c tracing=false` turns X-Ray off, e.g. in a sandbox account) and the operations switches
 * `alarmEmail`, `logDestination` and `waf` (see OperationsConfig).
 */
export function stageConfig(context: StageContext): StageConfig {
  const name = context.stage ?? 'dev';
  if (!isStage(name)) throw new Error(`Unknown stage "${String(name)}": use -c stage=${STAGES.join('|')}`);
  const base = BASE[name];
  const tracing = context.tracing === undefined ? base.tracing : flag(context.tracing);
  const operations: OperationsConfig = {
    alarmEmail: alarmEmail(context.alarmEmail),
    logDestination: logDestination(context.logDestination),
    waf: flag(context.waf),
  };
  return { ...base, tracing, operations };
}
