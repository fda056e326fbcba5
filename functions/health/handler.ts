import { config } from '../shared/config';
import { AppError } from '../shared/errors';
import { httpHandler } from '../shared/http/handler';
import { ok, route } from '../shared/http/router';
import { runChecks, signingKeyCheck, tableChecks } from './checks';

const READINESS_TIMEOUT_MS = 2000;

export const handler = httpHandler({
  // No dependency calls: this must stay fast and cannot fail while the process is up.
  'GET /status/health': route({
    run: () =>
      ok({
        status: 'ok',
        version: config().BUILD_VERSION,
        uptime: Math.round(process.uptime()),
        timestamp: new Date().toISOString(),
      }),
  }),

  'GET /status/health/liveness': route({ run: () => ok({ status: 'alive' }) }),

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
