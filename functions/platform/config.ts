import { LogLevel } from '@aws-lambda-powertools/logger';
import * as z from '#platform/zod';
import { ROLES } from './permissions';

/**
 * Every environment variable the system honours, parsed once and strictly:
 * a malformed value fails at start-up with a message naming the variable, not at the first request.
 */
const intFrom = (fallback: number, min = 1) => z._default(z.coerce.number().check(z.int(), z.minimum(min)), fallback);

/** A value compared byte for byte (token claims): padding would make every token fail to match. */
const trimmedNonEmpty = () =>
  z.string().check(z.minLength(1), z.regex(/^\S(.*\S)?$/, 'must not start or end with whitespace'));

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

/**
 * What a variable is for, as docs/configuration.md shows it (`npm run docs` generates the table from these):
 * `description`, and `shownDefault` where the schema's own default is computed or lives elsewhere.
 */
const doc = (description: string, shownDefault?: string) =>
  shownDefault === undefined ? { description } : { description, shownDefault };

/** The schema itself, exported for scripts/docs.ts, which generates docs/configuration.md from it. */
export const EnvSchema = z.object({
  STAGE: z
    ._default(z.string(), 'local')
    .check(z.meta(doc('Deployment stage (`dev`, `prod`), reported by health and in logs; set by CDK.'))),
  SERVICE_NAME: z
    ._default(z.string(), 'charge-records')
    .check(
      z.meta(doc("Service name in logs and the metrics' `service` dimension; CDK sets `charge-records-<stage>`.")),
    ),
  BUILD_VERSION: z
    ._default(z.string(), '0.1.0')
    .check(z.meta(doc('Version reported by health; CDK sets the package version.'))),
  BUILD_COMMIT: z
    ._default(z.string(), 'unknown')
    .check(z.meta(doc('Commit reported by the detailed health; CDK sets it from `-c commit=`.'))),
  AWS_REGION: z._default(z.string(), 'eu-central-1').check(z.meta(doc('Region of the AWS clients (set by Lambda).'))),
  PORT: intFrom(3000, 0).check(z.meta(doc('Port of the local HTTP server (`npm start`, `npm run dev`).'))),
  DYNAMODB_LOCAL_PORT: intFrom(8000).check(z.meta(doc("DynamoDB Local's port."))),
  DYNAMODB_ENDPOINT: z
    .optional(z.string().check(z.url()))
    .check(
      z.meta(
        doc(
          'Use this DynamoDB instead of starting DynamoDB Local (set by `npm run dev` and the tests); unset in AWS, where the SDK uses the regional endpoint.',
        ),
      ),
    ),
  TABLE_PREFIX: z
    ._default(z.string(), '')
    .check(
      z.meta(
        doc(
          'Local table-name prefix: table names are `<prefix><table>` unless `<TABLE>_TABLE_NAME` is set, as CDK does; the tests isolate themselves with it.',
        ),
      ),
    ),
  LOG_LEVEL: z
    ._default(
      z.pipe(
        z.pipe(
          z.string(),
          z.transform((v) => v.toUpperCase()),
        ),
        z.enum(LOG_LEVELS),
      ),
      'INFO',
    )
    .check(
      z.meta(
        doc(
          `Powertools log level, any case: ${LOG_LEVELS.map((l) => `\`${l}\``).join(', ')}; anything else stops the start.`,
        ),
      ),
    ),
  LOCAL_STATE_DIR: z
    ._default(z.string(), `${process.cwd()}/.local`)
    .check(
      z.meta(
        doc(
          "Local runtime only: where keys, report files, the mail outbox, stream checkpoints and DynamoDB Local's data live.",
          '`.local/` in the project',
        ),
      ),
    ),
  LOCAL_STREAM_PARALLELIZATION: z
    .optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(10)))
    .check(
      z.meta(
        doc(
          "Local runtime only: batches of one stream page the stream poller delivers to the audit handler at once, split by partition key as Lambda's ParallelizationFactor does (1 = one batch at a time).",
          '4',
        ),
      ),
    ),
  JWT_ISSUER: z
    .optional(trimmedNonEmpty())
    .check(
      z.meta(
        doc(
          "`iss` of our access tokens; discovery's `jwks_uri` and `token_endpoint` are built from it when it is a URL. No leading or trailing whitespace.",
          'the local server, `http://127.0.0.1:$PORT` (CDK: `urn:charge-records:<stage>` or `-c jwtIssuer`)',
        ),
      ),
    ),
  JWT_AUDIENCE: z
    ._default(trimmedNonEmpty(), 'charge-records')
    .check(z.meta(doc('`aud` of our access tokens. No leading or trailing whitespace.'))),
  ACCESS_TOKEN_TTL_SECONDS: intFrom(900).check(z.meta(doc('Access-token lifetime.'))),
  REFRESH_TOKEN_TTL_SECONDS: intFrom(604_800).check(
    z.meta(doc('Absolute lifetime of a refresh-token family (one login session); refreshing never extends it.')),
  ),
  SESSION_IDLE_SECONDS: intFrom(1800).check(
    z.meta(
      doc(
        'A session (refresh-token family) not refreshed for this long is over: its next refresh is 401. The absolute limit (`REFRESH_TOKEN_TTL_SECONDS`) still applies.',
      ),
    ),
  ),
  RATE_LIMIT_PER_MINUTE: intFrom(100).check(z.meta(doc('API requests per user per minute (sliding window).'))),
  LOGIN_MAX_FAILURES: intFrom(5).check(
    z.meta(
      doc(
        'Failed logins per username + source address within 15 min before that pair is locked; twice as many within an hour lock it until the oldest is an hour old.',
      ),
    ),
  ),
  LOCKOUT_SECONDS: intFrom(300).check(z.meta(doc('How long a username + source address lock lasts.'))),
  LOGIN_RATE_LIMIT_PER_MINUTE: intFrom(20).check(
    z.meta(doc('Login attempts per source address per minute (sliding window).')),
  ),
  SIGNATURE_MAX_AGE_SECONDS: intFrom(300).check(
    z.meta(doc('How long the one-time signature ticket of a fresh SSO sign-in (`purpose=sign`) stays valid.')),
  ),
  PASSWORD_HISTORY: intFrom(5).check(
    z.meta(doc('A new password must differ from the last this many passwords of the user, the current one included.')),
  ),
  MFA_REQUIRED_ROLES: z
    .pipe(
      z.pipe(
        z._default(z.string(), ''),
        z.transform((v) =>
          v
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean),
        ),
      ),
      z.array(z.enum(ROLES)),
    )
    .check(
      z.meta(
        doc(
          'Comma-separated roles (e.g. `admin,quality_manager`) whose local users must enrol in MFA before they can do anything but enrol (403 `MFA_ENROLMENT_REQUIRED`); empty: MFA is optional.',
          'none',
        ),
      ),
    ),
  SIGNING_KEY_OVERLAP_SECONDS: z
    .optional(z.coerce.number().check(z.int(), z.minimum(0)))
    .check(
      z.meta(
        doc(
          'How long the previous signing key stays in the JWKS after a rotation. Shorter than the access-token lifetime + 60 s is allowed, but `npm start` and the rotation function then warn that a rotation ends the sessions the previous key signed.',
          'access-token lifetime + 60',
        ),
      ),
    ),
  ATTRIBUTION_KEY_ID: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.meta(
        doc(
          'KMS HMAC key that stamps each API change with who made it (GenerateMac in the writing functions, VerifyMac in the audit stream function); set by CDK. Locally an HMAC key under `<LOCAL_STATE_DIR>/keys/`.',
        ),
      ),
    ),
  AUDIT_DIGEST_INTERVAL_SECONDS: intFrom(900, 10).check(
    z.meta(
      doc(
        'How often the audit digest (every chain head changed since the last digest, signed) is written. AWS: the EventBridge Scheduler rate; the local runtime uses 60 unless this is set.',
      ),
    ),
  ),
  AUDIT_RETENTION_YEARS: intFrom(10).check(
    z.meta(doc('Years each audit digest and monthly archive stays locked (S3 Object Lock, compliance mode).')),
  ),
  AUDIT_FAILURE_QUEUE_URL: z
    .optional(z.url())
    .check(
      z.meta(
        doc(
          'The audit stream mappings\' SQS on-failure queue, which the audit-stream function re-drives on `{"replay": "on-failure-queue"}`; set by CDK. Locally `<LOCAL_STATE_DIR>/audit-stream-failures.jsonl`.',
        ),
      ),
    ),
  AUDIT_DIGEST_BUCKET: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.meta(
        doc('Object Lock bucket of the audit digests and archives; set by CDK. Locally `<LOCAL_STATE_DIR>/digests/`.'),
      ),
    ),
  AUDIT_DIGEST_KEY_ID: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.meta(
        doc(
          'KMS asymmetric key (ECC_NIST_P256) that signs audit digests; set by CDK. Locally a key under `<LOCAL_STATE_DIR>/keys/`.',
        ),
      ),
    ),
  SIGNING_SECRET_ID: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.meta(
        doc(
          'Secrets Manager secret naming the signing key; set by CDK. The local runtime uses its key store under `LOCAL_STATE_DIR`.',
        ),
      ),
    ),
  SIGNING_KEY_TAG: z
    ._default(z.string().check(z.minLength(1)), 'charge-records')
    .check(
      z.meta(
        doc(
          "Value of the `charge-records:signing-key` tag on this deployment's KMS keys, which IAM conditions match; CDK sets `charge-records-<stage>`.",
        ),
      ),
    ),
  SIGNING_KEY_ROLES: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.meta(
        doc(
          'JSON `{rotation, sign, verify}` of IAM role ARNs that each key made by rotation names in its key policy, so they can use it before its tag counts for IAM; set by CDK on the rotation function.',
        ),
      ),
    ),
  OIDC_PROVIDERS: z
    ._default(z.string(), '[]')
    .check(
      z.meta(
        doc(
          'JSON list of external OIDC issuers whose access tokens the authorizer accepts; those with a `clientId` also offer browser sign-in (docs/authentication.md).',
        ),
      ),
    ),
  BOOTSTRAP_ADMIN_PASSWORD: z
    .optional(z.string())
    .check(
      z.meta(doc('Password of the first `admin`, created at start when there are no users.', 'random, printed once')),
    ),
  HEALTH_EXTERNAL_CHECKS: z
    ._default(z.string(), '[]')
    .check(
      z.meta(
        doc(
          'JSON list `[{name, url}]` of external services the detailed health checks; a failing one makes it `degraded`, not `unhealthy`.',
        ),
      ),
    ),
  // Reports: the AWS names are set by CDK (lib/constructs/reports.ts); the local runtime uses its own adapters.
  REPORTS_BUCKET: z
    .optional(z.string().check(z.minLength(1)))
    .check(z.meta(doc('S3 bucket for report files; set by CDK. Locally files go under `<LOCAL_STATE_DIR>/reports/`.'))),
  REPORTS_KMS_KEY_ID: z
    .optional(z.string().check(z.minLength(1)))
    .check(z.meta(doc('KMS key report files are encrypted with (SSE-KMS); set by CDK.'))),
  REPORTS_SENDER: z
    ._default(z.string().check(z.minLength(3)), 'reports@charge-records.local')
    .check(
      z.meta(
        doc(
          'The one SES identity and From address reports are mailed from (CDK: `-c reportsSender`). Locally mails are `.eml` files under `<LOCAL_STATE_DIR>/outbox/`.',
        ),
      ),
    ),
  REPORTS_SCHEDULE_GROUP: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.meta(doc('EventBridge Scheduler group of the report schedules; set by CDK on the reports function only.')),
    ),
  REPORT_RUNNER_ARN: z
    .optional(z.string().check(z.minLength(1)))
    .check(z.meta(doc('The report runner function the schedules invoke; set by CDK on the reports function only.'))),
  REPORTS_SCHEDULER_ROLE_ARN: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.meta(doc('The role EventBridge Scheduler invokes the runner with; set by CDK on the reports function only.')),
    ),
  REPORTS_SCHEDULER_DLQ_ARN: z
    .optional(z.string().check(z.minLength(1)))
    .check(z.meta(doc("SQS queue for the schedules' undeliverable events; set by CDK."))),
  REPORT_FONTS_DIR: z
    .optional(z.string())
    .check(
      z.meta(
        doc('Fonts for the PDF writer.', "the layer's `/opt/fonts` in Lambda, `layers/report-assets/fonts` locally"),
      ),
    ),
  REPORT_INLINE_MAX_BYTES: intFrom(4 * 1024 * 1024).check(
    z.meta(
      doc(
        'Exports larger than this (bytes, before base64) go to the object store, and the API answers 303 with a short-lived link.',
      ),
    ),
  ),
  REPORT_MAX_RECIPIENTS: z
    ._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(50)), 20)
    .check(
      z.meta(
        doc(
          'Most recipients a report definition may name (0–50); each gets a mail of their own. A definition stored with more, before a lower limit, is not mailed: its run fails until it is changed.',
        ),
      ),
    ),
  REPORT_RECIPIENT_DOMAINS: z
    .pipe(
      z.pipe(
        z._default(z.string(), ''),
        z.transform((v) =>
          v
            .split(',')
            .map((d) => d.trim().toLowerCase())
            .filter(Boolean),
        ),
      ),
      z.array(z.string().check(z.regex(/^[a-z0-9.-]+$/, 'a comma-separated list of mail domains'))),
    )
    .check(
      z.meta(
        doc(
          'Comma-separated mail domains report recipients must be in, matched exactly (`example.com` does not admit `sub.example.com`); empty: any domain. Checked when a definition is saved and again when a run mails.',
          'any domain',
        ),
      ),
    ),
  CONSOLE_BASE_URL: z
    .optional(z.url())
    .check(
      z.meta(
        doc(
          'The origin the console and the API share (`https://console.example.com`): SSO redirect URIs are `<it>/auth/sso/callback` and sign-ins land on `<it>/console/`. Set it (`-c consoleBaseUrl`) for a custom domain.',
          'behind CloudFront the viewer’s host (`X-Forwarded-Host`), locally the request’s origin',
        ),
      ),
    ),
  PUBLIC_BASE_URL: z
    .optional(z.string().check(z.url()))
    .check(z.meta(doc('Base URL of the API in e-mailed links (CDK: `-c apiBaseUrl`).', 'the local server'))),
  DEBUG: z
    .pipe(
      z.optional(z.string()),
      z.transform((v) => v !== undefined && DEBUG_ON.has(v.trim().toLowerCase())),
    )
    .check(
      z.meta(
        doc(
          "Adds error details to 500 responses; never on in prod. On for `true`, `1` or `yes` in any case; any other value is off, not an error (`DEBUG` is also the `debug` package's variable, e.g. `DEBUG=*`).",
          'off',
        ),
      ),
    ),
});

const Env = z.pipe(z.transform(withoutEmpty), EnvSchema);

export type Config = Omit<z.infer<typeof EnvSchema>, 'JWT_ISSUER'> & {
  JWT_ISSUER: string;
  /** Clock skew accepted on token times: 60 s. */
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
 * rotation ends the sessions whose tokens the previous key signed, and rotations are meant to end none: say so.
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
