import * as z from '#platform/zod';
import { ApiError } from '#platform/http/response-schemas';

/**
 * Response bodies of the health routes. No SDK here: the liveness function, which must load fast, imports this.
 */

export const Health = z
  .object({
    status: z.literal('ok'),
    version: z.string(),
    uptime: z.int().check(z.minimum(0), z.describe('Seconds since this instance started.')),
    timestamp: z.iso.datetime(),
  })
  .check(z.meta({ examples: [{ status: 'ok', version: '0.1.0', uptime: 42, timestamp: '2026-05-02T10:00:00.000Z' }] }));

export const Liveness = z.object({ status: z.literal('alive') });

/**
 * Why a check failed, coarsely: `timeout` (cut off, or the SDK timed out), `unreachable` (network error,
 * throttling or a 5xx of the dependency), `error` (anything else: missing table, missing permission, bad state).
 */
export const FailureReason = z.enum(['timeout', 'unreachable', 'error']);
export type FailureReason = z.infer<typeof FailureReason>;

/** One check as the authenticated detailed health shows it: with the dependency's own message. */
export const CheckResult = z.object({
  status: z.enum(['ok', 'unhealthy']),
  responseTimeMs: z.int().check(z.minimum(0)),
  error: z.optional(z.string()),
});
export type CheckResult = z.infer<typeof CheckResult>;

/** One check as the public readiness probe shows it: status and a coarse reason, never the dependency's message. */
export const PublicCheckResult = z.object({
  status: z.enum(['ok', 'unhealthy']),
  responseTimeMs: z.int().check(z.minimum(0)),
  reason: z.optional(FailureReason),
});
export type PublicCheckResult = z.infer<typeof PublicCheckResult>;

export const Readiness = z
  .object({ status: z.literal('ready'), checks: z.record(z.string(), PublicCheckResult) })
  .check(
    z.meta({
      examples: [{ status: 'ready', checks: { 'table:charges': { status: 'ok', responseTimeMs: 12 } } }],
    }),
  );

/**
 * The 503 of readiness: the error, and the report with every check — absent when API Gateway answered because the
 * function could not run.
 */
export const NotReady = z.extend(ApiError, {
  status: z.optional(z.literal('not_ready')),
  checks: z.optional(z.record(z.string(), PublicCheckResult)),
});

export const DetailedHealth = z
  .object({
    status: z
      .enum(['healthy', 'degraded', 'unhealthy'])
      .check(z.describe('`unhealthy` (an own dependency is down) answers 503; `degraded` (an external one is) 200.')),
    version: z.string(),
    commit: z.string(),
    uptime: z.int().check(z.minimum(0)),
    timestamp: z.iso.datetime(),
    checks: z.record(z.string(), CheckResult),
    external: z.record(z.string(), CheckResult),
    signingKey: z.object({
      kid: z.nullable(z.string()),
      ageSeconds: z.nullable(z.int()),
      nextRotation: z.nullable(z.iso.datetime()),
    }),
    /** The answering instance's own figures (one Lambda execution environment of many): never the fleet's. */
    system: z.object({
      scope: z.literal('instance'),
      uptimeSeconds: z.int().check(z.minimum(0)),
      memory: z.object({
        rssBytes: z.int().check(z.minimum(0)),
        heapUsedBytes: z.int().check(z.minimum(0)),
        heapTotalBytes: z.int().check(z.minimum(0)),
        externalBytes: z.int().check(z.minimum(0)),
      }),
      cpu: z.object({
        userSeconds: z.number().check(z.minimum(0)),
        systemSeconds: z.number().check(z.minimum(0)),
      }),
      eventLoopDelayMs: z.object({
        mean: z.number().check(z.minimum(0)),
        p99: z.number().check(z.minimum(0)),
        max: z.number().check(z.minimum(0)),
      }),
    }),
  })
  // Registered, not a meta check: DetailedHealthUnavailable takes its `z.partial`, which refuses an object with checks.
  .register(z.globalRegistry, {
    examples: [
      {
        status: 'healthy',
        version: '0.1.0',
        commit: 'unknown',
        uptime: 42,
        timestamp: '2026-05-02T10:00:00.000Z',
        checks: { 'table:charges': { status: 'ok', responseTimeMs: 12 } },
        external: {},
        signingKey: {
          kid: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
          ageSeconds: 3600,
          nextRotation: '2026-06-01T09:00:00.000Z',
        },
        system: {
          scope: 'instance',
          uptimeSeconds: 42,
          memory: {
            rssBytes: 98_000_000,
            heapUsedBytes: 41_000_000,
            heapTotalBytes: 52_000_000,
            externalBytes: 3_000_000,
          },
          cpu: { userSeconds: 1.42, systemSeconds: 0.21 },
          eventLoopDelayMs: { mean: 20.4, p99: 22.1, max: 35.7 },
        },
      },
    ],
  });
export type DetailedHealth = z.infer<typeof DetailedHealth>;

/**
 * The 503 of detailed health: the error, and the whole report — absent when the check never ran (the authorizer
 * could not check the caller, or API Gateway could not reach the function).
 */
export const DetailedHealthUnavailable = z.extend(ApiError, z.partial(DetailedHealth).shape);
