import { unavailable } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import { detailedHealth } from './detailed-health';
import { DetailedHealth, DetailedHealthUnavailable } from './model';

// GET /metrics is the metrics function's (functions/ops/metrics.ts): prom-client stays out of this bundle.

export const routes = defineRoutes({
  'GET /status/health/detailed': route({
    doc: {
      summary: 'Detailed health',
      description:
        'Every own dependency (tables, signing key and secret, object store, mailer) and the configured external ' +
        'ones, with their messages. An own dependency down is 503; an external one only `degraded`. `system`: ' +
        'memory, CPU time, event-loop delay and uptime of the instance that answered (per instance, not the fleet).',
      responses: [
        { status: 200, description: 'Healthy or degraded', body: DetailedHealth },
        {
          status: 503,
          description: 'Unhealthy: the error with the whole report',
          body: DetailedHealthUnavailable,
          headers: ['Retry-After'],
        },
      ],
    },
    run: async () => {
      const health = await detailedHealth();
      if (health.status === 'unhealthy') {
        throw unavailable('An own dependency is unhealthy', { body: { ...health } });
      }
      return ok(health);
    },
  }),
});

export const handler = httpHandler(routes);
