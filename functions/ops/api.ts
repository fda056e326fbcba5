import { unavailable } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { ok, route } from '#platform/http/router';
import { registry } from '#platform/observability/prometheus';
import { refreshDataGauges } from './data-gauges';
import { detailedHealth } from './detailed-health';

export const handler = httpHandler({
  'GET /status/health/detailed': route({
    run: async () => {
      const health = await detailedHealth();
      if (health.status === 'unhealthy') {
        throw unavailable('An own dependency is unhealthy', { body: { ...health } });
      }
      return ok(health);
    },
  }),

  'GET /metrics': route({
    run: async () => {
      await refreshDataGauges();
      return { statusCode: 200, raw: { contentType: registry.contentType, data: await registry.metrics() } };
    },
  }),
});
