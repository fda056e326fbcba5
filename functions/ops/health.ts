import { config } from '#platform/config';
import { httpHandler } from '#platform/http/handler';
import { ok, route } from '#platform/http/router';

/**
 * Liveness only, with no SDK in the bundle: these answer in microseconds and load fast on a cold start.
 * Readiness, which calls every dependency, is its own function (functions/readiness).
 */
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
});
