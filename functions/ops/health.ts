import { config } from '#platform/config';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import { Health, Liveness } from './model';

/**
 * Liveness only, with no SDK in the bundle: these answer in microseconds and load fast on a cold start.
 * Readiness, which calls every dependency, is its own function (functions/readiness).
 */
export const routes = defineRoutes({
  // No dependency calls: this must stay fast and cannot fail while the process is up.
  'GET /status/health': route({
    doc: {
      summary: 'Health',
      description: 'Version and uptime; calls no dependency. The probe for monitors.',
      responses: [{ status: 200, description: 'Up', body: Health }],
    },
    run: () =>
      ok({
        status: 'ok',
        version: config().BUILD_VERSION,
        uptime: Math.round(process.uptime()),
        timestamp: new Date().toISOString(),
      }),
  }),

  'GET /status/health/liveness': route({
    doc: { summary: 'Liveness', responses: [{ status: 200, description: 'Alive', body: Liveness }] },
    run: () => ok({ status: 'alive' }),
  }),
});

export const handler = httpHandler(routes);
