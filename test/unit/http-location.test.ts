import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createRouter, created, route } from '#platform/http/router';

// A public route of the shared route table, so the router's permission check lets the fake event through.
const router = createRouter({
  'GET /status/health': route({ run: (ctx) => created({}, { Location: ctx.location('/charges/c-1') }) }),
});

const event = (path: string, requestPath: string) =>
  ({
    httpMethod: 'GET',
    resource: '/status/health',
    path,
    headers: {},
    queryStringParameters: null,
    pathParameters: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { path: requestPath, requestId: 'r-1', authorizer: null },
  }) as unknown as APIGatewayProxyEvent;

describe('Location headers', () => {
  it('carry the stage prefix the client called through (API Gateway: /v1)', async () => {
    const res = await router(event('/status/health', '/v1/status/health'));
    expect(res.headers?.Location).toBe('/v1/charges/c-1');
  });

  it('have no prefix when there is none (the local server, a custom domain without a base path)', async () => {
    const res = await router(event('/status/health', '/status/health'));
    expect(res.headers?.Location).toBe('/charges/c-1');
  });
});
