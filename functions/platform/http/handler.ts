import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  rateLimitFromContext,
  rateLimitHeaders,
  RESTRICTION_MESSAGES,
  restrictionFromContext,
} from '#platform/auth-context';
import { config } from '#platform/config';
import { AppError } from '#platform/errors';
import { emfMetrics, logger, loggerContext } from '#platform/powertools';
import { errorResponse } from './error-response';
import { SECURITY_HEADERS } from './headers';
import { requestLogKeys } from './log-keys';
import { assignRequestId, requestIdOf } from './request-state';
import { createRouter, type RouteSpec, type RouteTable } from './router';

type Request = middy.Request<APIGatewayProxyEvent, APIGatewayProxyResult>;

/**
 * Correlation id, security headers and the one error handler, for every API function. Errors are
 * turned into responses here, so nothing but the API's error shape ever leaves a handler.
 */
function httpEnvelope(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  const finish = (request: Request) => {
    const response = request.response;
    if (!response) return;
    const rate = rateLimitFromContext(request.event.requestContext?.authorizer);
    // Object.assign, not a spread literal: V8 gives the spread's result a shape whose key walk (every
    // writer of the response does one) measured 6× slower.
    const headers = Object.assign({}, SECURITY_HEADERS, rate ? rateLimitHeaders(rate) : undefined, response.headers);
    headers['X-Request-ID'] = requestIdOf(request.event);
    response.headers = headers;
  };
  return {
    before: (request) => {
      logger.setCorrelationId(assignRequestId(request.event));
      // Every line of the invocation, the error lines above all, names the request and the caller.
      logger.appendKeys(requestLogKeys(request.event));
      // The authorizer counts; the handler answers 429, since an authorizer can only allow or deny.
      const rate = rateLimitFromContext(request.event.requestContext?.authorizer);
      if (rate?.exceeded) {
        throw new AppError('RATE_LIMITED', 'Too many requests: slow down', {
          headers: { 'Retry-After': String(Math.max(1, rate.resetAt - Math.floor(Date.now() / 1000))) },
        });
      }
      // The authorizer let a restricted account through only to be told what to do first (a temporary password, a
      // required MFA enrolment): no route runs.
      const restriction = restrictionFromContext(request.event.requestContext?.authorizer);
      if (restriction) throw new AppError(restriction, RESTRICTION_MESSAGES[restriction]);
    },
    after: finish,
    onError: (request) => {
      request.response = errorResponse(request.error, requestIdOf(request.event), config().DEBUG);
      finish(request);
    },
  };
}

// Routes are stored type-erased; `route()` keeps each one's own types at the definition site.
type AnyRoute = RouteSpec<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above

/** Any API Gateway proxy handler, wrapped in the shared middleware stack. */
export function withHttpStack(handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>) {
  return (
    middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
      // logEvent false whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the bearer token and the body.
      .use(loggerContext())
      .use(emfMetrics())
      .use(httpEnvelope())
      .handler(handler)
  );
}

/** An API Gateway proxy handler serving the given routes (keys as in the shared route table). */
export function httpHandler<R>(routes: RouteTable<R> & R) {
  return withHttpStack(createRouter(routes as Record<string, AnyRoute>));
}
