import { httpHandler } from '#platform/http/handler';
import { defineRoutes, route } from '#platform/http/router';
import { collectProcessMetrics, registry } from '#platform/observability/prometheus';
import { refreshDataGauges } from './data-gauges';

// A function of its own (metrics): prom-client and the data gauges' reads are this route's alone.
collectProcessMetrics();

export const routes = defineRoutes({
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
