import * as z from '#platform/zod';
import { detailedView, runChecks, signingKeyCheck, tableChecks, type Check } from './health-checks';
import type { DetailedHealth } from './model';
import { systemFigures } from './system';
import { config } from '#platform/config';
import { signingAdapters } from '#signing/adapters';
import { accessTokens } from '#signing/tokens';

/** `GET /status/health/detailed`. Every check runs concurrently and is cut off at the timeout. */
export const CHECK_TIMEOUT_MS = 1500;
/** The signing secret's rotation schedule (lib/constructs/signing-keys.ts uses the same number). */
export const ROTATION_DAYS = 30;

export type { DetailedHealth };

const ExternalChecks = z.array(z.strictObject({ name: z.string().check(z.minLength(1)), url: z.url() }));

/** HEALTH_EXTERNAL_CHECKS, checked: CDK calls it at synth too, so a bad value fails the deploy, not the route. */
export function parseExternalChecks(json: string): z.infer<typeof ExternalChecks> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new Error('HEALTH_EXTERNAL_CHECKS is not valid JSON', { cause: err });
  }
  const parsed = ExternalChecks.safeParse(value);
  if (!parsed.success) throw new Error(`HEALTH_EXTERNAL_CHECKS is not valid: ${parsed.error.message}`);
  return parsed.data;
}

function externalChecks(): Record<string, Check> {
  return Object.fromEntries(
    parseExternalChecks(config().HEALTH_EXTERNAL_CHECKS).map(({ name, url }) => [
      name,
      async (signal: AbortSignal) => {
        const res = await fetch(url, { signal, redirect: 'manual' });
        await res.body?.cancel();
        if (res.status >= 500) throw new Error(`answered ${res.status}`);
      },
    ]),
  );
}

/** Extra own-dependency checks registered by other modules (object store, mailer). */
const extraChecks: Record<string, Check> = {};
export function registerHealthCheck(name: string, check: Check): void {
  extraChecks[name] = check;
}

export async function detailedHealth(timeoutMs = CHECK_TIMEOUT_MS): Promise<DetailedHealth> {
  const own: Record<string, Check> = {
    ...tableChecks(),
    ...signingKeyCheck(),
    'signing-secret': async () => {
      const description = await signingAdapters().secrets.describe();
      if (!Object.values(description.versionStages).some((s) => s.includes('AWSCURRENT'))) {
        throw new Error('the signing secret has no AWSCURRENT version');
      }
    },
    ...extraChecks,
  };
  const [checks, external, ring] = await Promise.all([
    runChecks(own, timeoutMs),
    runChecks(externalChecks(), timeoutMs),
    accessTokens()
      .ring.snapshot()
      .catch(() => undefined),
  ]);
  const ownDown = Object.values(checks).some((c) => c.status !== 'ok');
  const externalDown = Object.values(external).some((c) => c.status !== 'ok');
  const createdAt = ring?.current?.createdAt ? Date.parse(ring.current.createdAt) : undefined;
  return {
    status: ownDown ? 'unhealthy' : externalDown ? 'degraded' : 'healthy',
    version: config().BUILD_VERSION,
    commit: config().BUILD_COMMIT,
    uptime: Math.round(process.uptime()),
    timestamp: new Date().toISOString(),
    checks: detailedView(checks),
    external: detailedView(external),
    signingKey: {
      kid: ring?.current?.kid ?? null,
      ageSeconds: createdAt !== undefined ? Math.round((Date.now() - createdAt) / 1000) : null,
      nextRotation: createdAt !== undefined ? new Date(createdAt + ROTATION_DAYS * 86400_000).toISOString() : null,
    },
    system: systemFigures(),
  };
}
