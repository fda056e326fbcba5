import { httpHandler } from '#platform/http/handler';
import { created, defineRoutes, noContent, ok, route } from '#platform/http/router';
import { ChargesQuery, Dashboard, DashboardInput, DashboardList, QaQuery, Series } from './model';
import { AnalyticsStore } from './store';
import { AnalyticsService } from './service';
import { DashboardService, DashboardStore, etagOf } from './dashboards';

const analytics = new AnalyticsService(new AnalyticsStore());
export const dashboards = new DashboardService(new DashboardStore());

const BOUNDS =
  'At most 400 days (`from`..`to`, both included) and at most 2 000 values (series × points) per answer; beyond, ' +
  '`VALIDATION_ERROR` (422) naming the parameter. Reads kept aggregates only: the cost depends on the buckets in the ' +
  'range, not on the number of charges.';

export const routes = defineRoutes({
  'GET /analytics/charges': route({
    query: ChargesQuery,
    doc: {
      summary: 'Charges counted or summed over time',
      description:
        'Live (not deleted) charges by production date: `measure` count or quantity (quantity needs one unit: ' +
        '`unit=` or `groupBy=unit`, else 422), grouped by status, article or unit (series; `interval` adds a time ' +
        'axis) or by day, week or month (one series), filtered by status, article and unit. Every period of the range ' +
        'is a point, zero where nothing was produced. ' +
        BOUNDS,
      responses: [{ status: 200, description: 'Series of points', body: Series }],
    },
    run: async (ctx) => ok(await analytics.charges(ctx.query)),
  }),
  'GET /analytics/qa': route({
    query: QaQuery,
    doc: {
      summary: 'QA decisions, lead time and rejection rate over time',
      description:
        'By decision day: `decisions` (series released, rejected, blocked), `lead_time` (series p50 and p90, in days ' +
        'from production date to the decision ending quarantine; null where none) or `rejection_rate` (rejected / ' +
        '(released + rejected), 0–1; null where none). ' +
        BOUNDS,
      responses: [{ status: 200, description: 'Series of points', body: Series }],
    },
    run: async (ctx) => ok(await analytics.qa(ctx.query)),
  }),

  'GET /dashboards': route({
    doc: {
      summary: 'List dashboards',
      description: "The shared dashboards and the caller's own, shared first.",
      responses: [{ status: 200, description: 'The dashboards', body: DashboardList }],
    },
    run: async (ctx) => ok(await dashboards.list(ctx.caller)),
  }),
  'POST /dashboards': route({
    body: DashboardInput,
    doc: {
      summary: 'Create a dashboard',
      description:
        'Owned by the caller; `shared: true` needs `reports:manage`. Each widget query is checked as its analytics ' +
        'route checks it (422). At most 20 dashboards per owner (`CONFLICT`).',
      responses: [{ status: 201, description: 'The dashboard', body: Dashboard, headers: ['Location', 'ETag'] }],
      errors: ['FORBIDDEN', 'CONFLICT'],
    },
    run: async (ctx) => {
      const d = await dashboards.create(ctx.body, ctx.caller, ctx.meta);
      return created(d, { Location: ctx.location(`/dashboards/${d.id}`), ETag: etagOf(d) });
    },
  }),
  'GET /dashboards/{id}': route({
    doc: {
      summary: 'Read a dashboard',
      description: "A shared dashboard or the caller's own; anyone else's is `NOT_FOUND`.",
      responses: [
        { status: 200, description: 'The dashboard; `ETag` is its version', body: Dashboard, headers: ['ETag'] },
      ],
    },
    run: async (ctx) => {
      const d = await dashboards.get(ctx.params.id, ctx.caller);
      return ok(d, { ETag: etagOf(d) });
    },
  }),
  'PUT /dashboards/{id}': route({
    body: DashboardInput,
    doc: {
      summary: 'Replace a dashboard',
      description:
        'Title, sharing and widgets as a whole, with `If-Match`. The owner changes an own dashboard; a shared one, ' +
        'and sharing or unsharing, needs `reports:manage`.',
      responses: [{ status: 200, description: 'The dashboard as changed', body: Dashboard, headers: ['ETag'] }],
      errors: ['FORBIDDEN'],
      ifMatch: true,
    },
    run: async (ctx) => {
      const d = await dashboards.replace(ctx.params.id, ctx.body, ctx.header('if-match'), ctx.caller, ctx.meta);
      return ok(d, { ETag: etagOf(d) });
    },
  }),
  'DELETE /dashboards/{id}': route({
    doc: {
      summary: 'Delete a dashboard',
      description: 'With `If-Match`; an own dashboard by its owner, a shared one with `reports:manage`.',
      responses: [{ status: 204, description: 'Deleted' }],
      errors: ['FORBIDDEN'],
      ifMatch: true,
    },
    run: async (ctx) => {
      await dashboards.delete(ctx.params.id, ctx.header('if-match'), ctx.caller, ctx.meta);
      return noContent();
    },
  }),
});

export const handler = httpHandler(routes);
