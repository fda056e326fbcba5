import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AppError, notFound } from '#platform/errors';
import { withHttpStack } from './handler';
import { routesByPath } from '#platform/routes';

/**
 * API Gateway sends two kinds of request here: `ANY /{proxy+}` (a path no route has → 404) and `ANY` on a
 * known resource (a method that resource does not serve → 405 with `Allow`). The authorizer has already
 * run on both unless every route of the path is public, so anonymous callers learn nothing.
 */
const allowed = routesByPath();

export const handler = withHttpStack(async (event: APIGatewayProxyEvent) => {
  const methods = allowed.get(event.resource)?.map((r) => r.method);
  if (!methods) throw notFound('No such route');
  throw new AppError('METHOD_NOT_ALLOWED', `${event.httpMethod} is not allowed on this resource`, {
    headers: { Allow: methods.join(', ') },
    details: { allowed: methods },
  });
});
