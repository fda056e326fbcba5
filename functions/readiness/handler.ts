import { AppError } from '../shared/errors';
import { httpHandler } from '../shared/http/handler';
import { ok, route } from '../shared/http/router';
import { runChecks, signingKeyCheck, tableChecks } from '../shared/health-checks';

const READINESS_TIMEOUT_MS = 2000;

/**
 * Readiness: DescribeTable on every table and the signing key, concurrently, each cut off at the timeout.
 * Its own function so that the liveness function stays free of the AWS SDK (and only this role may describe tables).
 */
export const handler = httpHandler({
  'GET /status/health/readiness': route({
    run: async () => {
      const checks = await runChecks({ ...tableChecks(), ...signingKeyCheck() }, READINESS_TIMEOUT_MS);
      const failing = Object.fromEntries(Object.entries(checks).filter(([, c]) => c.status !== 'ok'));
      if (Object.keys(failing).length > 0) {
        throw new AppError('UNAVAILABLE', 'Not ready: a dependency check failed', {
          details: { checks: failing },
          body: { status: 'not_ready', checks },
        });
      }
      return ok({ status: 'ready', checks });
    },
  }),
});
