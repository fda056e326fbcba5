import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { toAuthorizerContext } from '#platform/auth-context';
import { header, requestIdFor } from '#platform/http/headers';
import { requestLogKeys } from '#platform/http/log-keys';
import { emfMetrics, logger, loggerContext, metrics } from '#platform/powertools';
import { authorize, UnauthorizedError } from './authorize';

function policy(effect: 'Allow' | 'Deny', resource: string): APIGatewayAuthorizerResult['policyDocument'] {
  return { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] };
}

/**
 * Lambda REQUEST authorizer (result caching is off, see lib/api-stack.ts): throwing `Error('Unauthorized')` makes
 * API Gateway answer 401, a Deny policy 403; an Allow passes the caller and their rate-limit window on.
 */
async function authorizer(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  // Every line under the request's correlation id, by the handlers' rule (the caller's sane
  // X-Request-ID, else API Gateway's request id) — the line saying why a 401 or 403 happened most of all.
  logger.setCorrelationId(requestIdFor(header(event.headers, 'x-request-id'), event.requestContext?.requestId));
  try {
    const decision = await authorize({
      headers: event.headers,
      httpMethod: event.httpMethod,
      resource: event.resource,
    });
    if (decision.effect === 'Deny') {
      metrics.addMetric('AuthorizerDenied', MetricUnit.Count, 1);
      logger.info('denied: missing permission', { user_id: decision.user.userId, resource: event.resource });
      // The context reaches the ACCESS_DENIED gateway response too: a 403 carries X-RateLimit-* like any answer.
      return {
        principalId: decision.user.userId,
        policyDocument: policy('Deny', event.methodArn),
        context: toAuthorizerContext(decision.user, decision.rate),
      };
    }
    if (decision.rate.exceeded) metrics.addMetric('RateLimited', MetricUnit.Count, 1);
    return {
      principalId: decision.user.userId,
      policyDocument: policy('Allow', event.methodArn),
      // A restricted account is allowed through to be told so (403 with the restriction's code) by the handler.
      context: toAuthorizerContext(decision.user, decision.rate, decision.restriction),
    };
  } catch (err) {
    if (err instanceof UnauthorizedError) {
      metrics.addMetric('AuthorizerUnauthorized', MetricUnit.Count, 1);
      logger.info('unauthorized', {
        reason: err.reason,
        resource: event.resource,
        // A token that verified but whose state refused it names its user: whose session a stolen token was.
        ...(err.userId ? { user_id: err.userId } : {}),
      });
      throw new Error('Unauthorized', { cause: err });
    }
    // Fail closed on anything unexpected (e.g. DynamoDB unreachable): no token gets through unchecked.
    logger.error('authorizer failure', { ...requestLogKeys(event), error: err as Error });
    throw err;
  }
}

export const handler = middy(authorizer)
  // logEvent false whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the bearer token.
  .use(loggerContext())
  .use(emfMetrics());
