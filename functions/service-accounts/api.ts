import { httpHandler } from '#platform/http/handler';
import { created, defineRoutes, noContent, ok, route } from '#platform/http/router';
import { readTokenRequest } from './client-credentials';
import {
  ClientTokenResponse,
  CreateServiceAccountBody,
  ServiceAccountReasonBody,
  ServiceAccountCredentials,
  ServiceAccountList,
} from './model';
import { ServiceAccountService } from './service';
import { ServiceAccountStore } from './store';

const accounts = new ServiceAccountService(new ServiceAccountStore());

export const routes = defineRoutes({
  'POST /auth/token': route({
    doc: {
      summary: 'Get an access token for a service account (OAuth 2.0 client credentials)',
      description:
        'RFC 6749 §4.4: `grant_type=client_credentials` as `application/x-www-form-urlencoded` (or the same fields ' +
        'as JSON), the client authenticated by HTTP Basic (`client_id:client_secret`) or by `client_id` and ' +
        "`client_secret` in the body. The token carries only the account's permissions and ends when its secret " +
        "is rotated or the account deleted. Errors use the API's error shape: a wrong client is 401 " +
        '(`invalid_client`), a malformed request 400/422, too many requests from one address 429.',
      responses: [{ status: 200, description: 'An access token', body: ClientTokenResponse }],
      errors: ['UNAUTHORIZED', 'BAD_REQUEST', 'VALIDATION_ERROR', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED'],
    },
    run: async (ctx) => {
      const { credentials, basic } = readTokenRequest(ctx.event);
      // RFC 6749 §5.1: a token response is never cached (the API's no-store header) and says so for old caches.
      return ok(await accounts.issueToken(credentials, basic, ctx.meta), { Pragma: 'no-cache' });
    },
  }),
  'POST /service-accounts': route({
    body: CreateServiceAccountBody,
    doc: {
      summary: 'Create a service account',
      description:
        'A machine identity with some of `metrics:read`, `charges:read`, `reports:read`. The client secret is in ' +
        'this answer only; the server keeps its hash.',
      responses: [
        {
          status: 201,
          description: 'The account and its secret',
          body: ServiceAccountCredentials,
          headers: ['Location'],
        },
      ],
    },
    run: async (ctx) => {
      const account = await accounts.create(ctx.body, ctx.caller, ctx.meta);
      return created(account, { Location: ctx.location(`/service-accounts/${account.serviceAccountId}`) });
    },
  }),
  'GET /service-accounts': route({
    doc: {
      summary: 'List service accounts',
      responses: [{ status: 200, description: 'The live service accounts', body: ServiceAccountList }],
    },
    run: async () => ok({ items: await accounts.list() }),
  }),
  'POST /service-accounts/{id}/rotate-secret': route({
    body: ServiceAccountReasonBody,
    doc: {
      summary: "Replace a service account's secret",
      description: 'The old secret stops working at once, and so does every token issued with it.',
      responses: [{ status: 200, description: 'The account and its new secret', body: ServiceAccountCredentials }],
    },
    run: async (ctx) => ok(await accounts.rotateSecret(ctx.params.id, ctx.body.reason, ctx.caller, ctx.meta)),
  }),
  'DELETE /service-accounts/{id}': route({
    body: ServiceAccountReasonBody,
    doc: {
      summary: 'Delete a service account',
      description: 'Its secret and every token it holds stop working at once; the record is kept.',
      responses: [{ status: 204, description: 'Deleted' }],
    },
    run: async (ctx) => {
      await accounts.delete(ctx.params.id, ctx.body.reason, ctx.caller, ctx.meta);
      return noContent();
    },
  }),
});

export const handler = httpHandler(routes);
