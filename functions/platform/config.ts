import { LogLevel } from '@aws-lambda-powertools/logger';
import * as z from 'zod';

/**
 * Every environment variable the system honours (SPEC §9), parsed once and strictly:
 * a malformed value fails at start-up with a message naming the variable, not at the first request.
 */
const intFrom = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

/** A value compared byte for byte (token claims): padding would make every token fail to match. */
const trimmedNonEmpty = () =>
  z
    .string()
    .min(1)
    .regex(/^\S(.*\S)?$/, 'must not start or end with whitespace');

/** Powertools Logger's levels; it would silently fall back to INFO on anything else. */
const LOG_LEVELS = Object.keys(LogLevel) as [keyof typeof LogLevel, ...(keyof typeof LogLevel)[]];

/**
 * On for `true`, `1` or `yes` in any case. Anything else is off rather than an error: DEBUG is also the
 * `debug` package's variable, and a pattern such as `*` set for that must not stop the server.
 */
const DEBUG_ON: ReadonlySet<string> = new Set(['true', '1', 'yes']);

/**
 * A variable set to the empty string, or to nothing but whitespace, counts as unset, so its default applies:
 * docker-compose's `${VAR:-}` and empty CI variables are common, and `z.coerce.number()` would read `""` or `" "` as 0
 * (SIGNING_KEY_OVERLAP_SECONDS=0 drops the previous key from the JWKS at once).
 */
const withoutEmpty = (env: unknown) =>
  env && typeof env === 'object'
    ? Object.fromEntries(Object.entries(env).filter(([, value]) => typeof value !== 'string' || value.trim() !== ''))
    : env;

const EnvSchema = z.object({
  STAGE: z.string().default('local'),
  SERVICE_NAME: z.string().default('charge-records'),
  BUILD_VERSION: z.string().default('0.1.0'),
  BUILD_COMMIT: z.string().default('unknown'),
  AWS_REGION: z.string().default('eu-central-1'),
  PORT: intFrom(3000, 0),
  DYNAMODB_LOCAL_PORT: intFrom(8000),
  /** Set by the local runtime; unset in AWS, where the SDK uses the regional endpoint. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  /** Local/test isolation: table names are `${TABLE_PREFIX}${name}` unless `<KEY>_TABLE_NAME` is set (as CDK does). */
  TABLE_PREFIX: z.string().default(''),
  LOG_LEVEL: z
    .string()
    .transform((v) => v.toUpperCase())
    .pipe(z.enum(LOG_LEVELS))
    .default('INFO'),
  /** Local runtime only: where keys, report files and the mail outbox live (default `.local/` in the project). */
  LOCAL_STATE_DIR: z.string().default(`${process.cwd()}/.local`),
  /** Default: the local server's own address, so discovery's `jwks_uri` and `token_endpoint` reach it. */
  JWT_ISSUER: trimmedNonEmpty().optional(),
  JWT_AUDIENCE: trimmedNonEmpty().default('charge-records'),
  ACCESS_TOKEN_TTL_SECONDS: intFrom(900),
  REFRESH_TOKEN_TTL_SECONDS: intFrom(604_800),
  RATE_LIMIT_PER_MINUTE: intFrom(100),
  LOGIN_MAX_FAILURES: intFrom(5),
  LOCKOUT_SECONDS: intFrom(300),
  LOGIN_RATE_LIMIT_PER_MINUTE: intFrom(20),
  SIGNING_KEY_OVERLAP_SECONDS: z.coerce.number().int().min(0).optional(),
  /** Secrets Manager secret naming the signing key (set by CDK); unset → the local key store under LOCAL_STATE_DIR. */
  SIGNING_SECRET_ID: z.string().min(1).optional(),
  /** Value of the `charge-records:signing-key` tag on this deployment's KMS keys (IAM conditions match on it). */
  SIGNING_KEY_TAG: z.string().min(1).default('charge-records'),
  OIDC_PROVIDERS: z.string().default('[]'),
  /** First start with no users: the `admin` password (else a random one is printed once). */
  BOOTSTRAP_ADMIN_PASSWORD: z.string().optional(),
  HEALTH_EXTERNAL_CHECKS: z.string().default('[]'),
  // Reports (SPEC §7). The AWS names are set by CDK (lib/constructs/reports.ts); unset → local adapters.
  /** S3 bucket for report files; unset → files under `${LOCAL_STATE_DIR}/reports/`. */
  REPORTS_BUCKET: z.string().min(1).optional(),
  /** KMS key the report files are encrypted with (SSE-KMS). */
  REPORTS_KMS_KEY_ID: z.string().min(1).optional(),
  /** The one SES identity reports are sent from; unset → `.eml` files under `${LOCAL_STATE_DIR}/outbox/`. */
  REPORTS_SENDER: z.string().min(3).default('reports@charge-records.local'),
  /** EventBridge Scheduler group, runner target and the role Scheduler invokes it with; unset → the in-process scheduler. */
  REPORTS_SCHEDULE_GROUP: z.string().min(1).optional(),
  REPORT_RUNNER_ARN: z.string().min(1).optional(),
  REPORTS_SCHEDULER_ROLE_ARN: z.string().min(1).optional(),
  /** Where the schedule's undeliverable events go (SQS queue ARN). */
  REPORTS_SCHEDULER_DLQ_ARN: z.string().min(1).optional(),
  /** Fonts for the PDF writer: the layer's `/opt/fonts` in Lambda, `layers/report-assets/fonts` locally. */
  REPORT_FONTS_DIR: z.string().optional(),
  /** Exports larger than this (bytes, before base64) go to the object store and the API answers 303. */
  REPORT_INLINE_MAX_BYTES: intFrom(4 * 1024 * 1024),
  /** Base URL of the API used in e-mailed links (CDK sets the stage URL); default: the local server. */
  PUBLIC_BASE_URL: z.string().url().optional(),
  DEBUG: z
    .string()
    .optional()
    .transform((v) => v !== undefined && DEBUG_ON.has(v.trim().toLowerCase())),
});

const Env = z.preprocess(withoutEmpty, EnvSchema);

export type Config = Omit<z.infer<typeof EnvSchema>, 'JWT_ISSUER'> & {
  JWT_ISSUER: string;
  /** Clock skew accepted on token times (SPEC §5: at most 60 s). */
  clockSkewSeconds: number;
  /** How long AWSPREVIOUS stays in the JWKS: default the access-token lifetime plus clock skew. */
  signingKeyOverlapSeconds: number;
};

let cached: Config | undefined;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const clockSkewSeconds = 60;
  return {
    ...parsed.data,
    JWT_ISSUER: parsed.data.JWT_ISSUER ?? `http://127.0.0.1:${parsed.data.PORT || 3000}`,
    clockSkewSeconds,
    signingKeyOverlapSeconds:
      parsed.data.SIGNING_KEY_OVERLAP_SECONDS ?? parsed.data.ACCESS_TOKEN_TTL_SECONDS + clockSkewSeconds,
  };
}

/**
 * SIGNING_KEY_OVERLAP_SECONDS may be set below the access-token lifetime plus skew (an operator's choice), but then a
 * rotation ends the sessions whose tokens the previous key signed, against SPEC §5's "zero downtime": say so.
 */
export function overlapWarning(
  cfg: Pick<Config, 'signingKeyOverlapSeconds' | 'ACCESS_TOKEN_TTL_SECONDS' | 'clockSkewSeconds'>,
): string | undefined {
  const safe = cfg.ACCESS_TOKEN_TTL_SECONDS + cfg.clockSkewSeconds;
  if (cfg.signingKeyOverlapSeconds >= safe) return undefined;
  return (
    `SIGNING_KEY_OVERLAP_SECONDS=${cfg.signingKeyOverlapSeconds} is shorter than the access-token lifetime plus clock ` +
    `skew (${safe} s): a key rotation will end the sessions whose tokens the previous key signed`
  );
}

/** The process-wide configuration, read on first use (Lambda init) and kept. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** Tests and the local dev loop change the environment between runs. */
export function resetConfig(): void {
  cached = undefined;
}
