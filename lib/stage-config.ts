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
  },
};

function isStage(value: unknown): value is StageName {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/**
 * The stage's settings from CDK context: `stage` (dev|prod, default dev) and optionally `tracing`
 * (`-c tracing=false` turns X-Ray off, e.g. in a sandbox account).
 */
export function stageConfig(context: { stage?: unknown; tracing?: unknown }): StageConfig {
  const name = context.stage ?? 'dev';
  if (!isStage(name)) throw new Error(`Unknown stage "${String(name)}": use -c stage=${STAGES.join('|')}`);
  const base = BASE[name];
  const tracing = context.tracing === undefined ? base.tracing : context.tracing === true || context.tracing === 'true';
  return { ...base, tracing };
}
