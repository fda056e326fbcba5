import { unavailable } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import { detailedView, publicView, runChecks, signingKeyCheck, tableChecks } from './health-checks';
import { NotReady, Readiness } from './model';

const READINESS_TIMEOUT_MS = 2000;

/**
 * Readiness: DescribeTable on every table and the signing key, concurrently, each cut off at the timeout.
 * Its own function so that the liveness function stays free of the AWS SDK (and only this role may describe tables).
 * The route is public: a failing check shows its status and a coarse reason only. The dependency's own message
 * (in AWS it can name the account, role and table) goes to the 503's log line, under the same error id.
 */
export const routes = defineRoutes({
  'GET /status/health/readiness': route({
    doc: {
      summary: 'Readiness',
      description: 'DescribeTable on every table and a load of the signing key, each cut off after 2 s.',
      responses: [
        { status: 200, description: 'Every check passed', body: Readiness },
        {
          status: 503,
          description: 'A check failed: the error with the report',
          body: NotReady,
          headers: ['Retry-After'],
        },
      ],
    },
    run: async () => {
      const outcomes = await runChecks({ ...tableChecks(), ...signingKeyCheck() }, READINESS_TIMEOUT_MS);
      const checks = publicView(outcomes);
      const failing = Object.fromEntries(Object.entries(checks).filter(([, c]) => c.status !== 'ok'));
      if (Object.keys(failing).length > 0) {
        const failed = Object.fromEntries(Object.entries(detailedView(outcomes)).filter(([name]) => name in failing));
        throw unavailable('Not ready: a dependency check failed', {
          details: { checks: failing },
          body: { status: 'not_ready', checks },
          // Logged with the error id (Powertools writes a non-Error cause as it is), never sent.
          cause: { checks: failed },
        });
      }
      return ok({ status: 'ready', checks });
    },
  }),
});

export const handler = httpHandler(routes);
