import { unavailable } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import { collectProcessMetrics, registry } from '#platform/observability/prometheus';
import { refreshDataGauges } from './data-gauges';
import { detailedHealth } from './detailed-health';
import { DetailedHealth, DetailedHealthUnavailable } from './model';

collectProcessMetrics();

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

  'GET /metrics': route({
    doc: {
      summary: 'Prometheus metrics',
      description:
        'Request counters and latencies, and the process metrics (CPU, memory, event-loop lag, GC) of the instance ' +
        'that answers — per instance, not the fleet — and data gauges counted from the tables.',
      responses: [{ status: 200, description: 'The Prometheus text format', files: ['text/plain'] }],
    },
    run: async () => {
      await refreshDataGauges();
      return { statusCode: 200, raw: { contentType: registry.contentType, data: await registry.metrics() } };
    },
  }),
});

export const handler = httpHandler(routes);
