import type { APIGatewayProxyEvent } from 'aws-lambda';
import { config } from '#platform/config';
import { publicBaseUrl } from '#platform/http/base-url';
import { header } from '#platform/http/headers';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, type HttpResult, ok, route } from '#platform/http/router';
import { AppError } from '#platform/errors';
import { UserStore } from '#users/store';
import {
  clearSsoFlowCookie,
  clearSsoTicketCookie,
  isLoopbackHttp,
  refreshCookie,
  requestCookie,
  SSO_FLOW_COOKIE,
  SSO_TICKET_COOKIE,
  ssoFlowCookie,
  ssoTicketCookie,
} from './cookies';
import { SignatureTicketResponse, SsoCallbackQuery, SsoProviderList, SsoStartQuery } from './model';
import { SSO_STATE_SECONDS, SsoService } from './sso';

// A function of its own (auth-sso): oauth4webapi and the client-secret reads stay out of the login bundle.
const sso = new SsoService(new UserStore());

const HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$/;

/**
 * Where the browser comes back to, and where the console is — the origin console and API share: CONSOLE_BASE_URL
 * when set; else behind CloudFront the viewer's host, which the distribution passes on as X-Forwarded-Host (API
 * Gateway sees its own Host); else the origin this request came in on (the local server). A caller who sends
 * X-Forwarded-Host themselves only redirects their own browser, and the provider accepts only registered callbacks.
 */
function consoleOrigin(event: APIGatewayProxyEvent): string {
  const configured = config().CONSOLE_BASE_URL;
  if (configured) return configured.replace(/\/+$/, '');
  const forwarded = header(event.headers, 'x-forwarded-host');
  if (forwarded && HOST.test(forwarded) && !isLoopbackHttp(event)) return `https://${forwarded}`;
  return publicBaseUrl(event);
}

const redirect = (location: string, cookies: string[] = []): HttpResult => ({
  statusCode: 302,
  headers: { Location: location },
  cookies,
});

export const routes = defineRoutes({
  'GET /auth/sso/providers': route({
    doc: {
      summary: 'Identity providers to sign in with',
      description: 'The providers of `OIDC_PROVIDERS` that have a `clientId`: one button each on the sign-in page.',
      responses: [{ status: 200, description: 'The providers', body: SsoProviderList }],
    },
    run: () => ok({ items: sso.providers() }),
  }),

  'GET /auth/sso/{provider}': route({
    query: SsoStartQuery,
    doc: {
      summary: 'Start a sign-in at an identity provider',
      description:
        "Redirects to the provider's authorization endpoint (authorization code with PKCE S256, `state`, `nonce`) " +
        'and sets the short-lived cookie `cr_sso` that ties the sign-in to this browser. `purpose=sign` forces a ' +
        'fresh sign-in for an electronic signature.',
      responses: [{ status: 302, description: 'To the identity provider', headers: ['Location'] }],
      errors: ['RATE_LIMITED', 'UNAVAILABLE'],
    },
    run: async (ctx) => {
      const redirectUri = `${consoleOrigin(ctx.event)}/auth/sso/callback`;
      const started = await sso.start(ctx.params.provider, ctx.query.purpose, redirectUri, ctx.meta);
      return redirect(started.location, [ssoFlowCookie(ctx.event, started.browserBinding, SSO_STATE_SECONDS)]);
    },
  }),

  'GET /auth/sso/callback': route({
    query: SsoCallbackQuery,
    doc: {
      summary: 'Where the identity provider sends the browser back',
      description:
        'Checks the state (once, and only from the browser that started the sign-in), exchanges the code and ' +
        'verifies the ID token. A sign-in starts a session (the `cr_refresh` cookie) and redirects to `/console/`; ' +
        'a signature sign-in leaves a one-time ticket for `POST /auth/sso/ticket` (cookie `cr_sso_ticket`) and ' +
        'redirects to `/console/#/signed`. A bad or replayed state, a wrong nonce or a refused ID token is 400, ' +
        'and nothing is created.',
      responses: [{ status: 302, description: 'Into the console', headers: ['Location'] }],
      errors: ['FORBIDDEN', 'UNAVAILABLE'],
    },
    run: async (ctx) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(ctx.query)) if (typeof value === 'string') params.set(key, value);
      const outcome = await sso.callback(params, requestCookie(ctx.event, SSO_FLOW_COOKIE), ctx.meta);
      const origin = consoleOrigin(ctx.event);
      if (outcome.purpose === 'sign') {
        const { ticket, expiresIn } = outcome.ticket;
        const value = `${ticket}.${Math.floor(Date.now() / 1000) + expiresIn}`;
        return redirect(`${origin}/console/#/signed`, [
          clearSsoFlowCookie(ctx.event),
          ssoTicketCookie(ctx.event, value, expiresIn),
        ]);
      }
      const maxAge = outcome.tokens.sessionExpiresAt - Math.floor(Date.now() / 1000);
      return redirect(`${origin}/console/`, [
        clearSsoFlowCookie(ctx.event),
        refreshCookie(ctx.event, outcome.tokens.refreshToken, maxAge),
      ]);
    },
  }),

  'POST /auth/sso/ticket': route({
    doc: {
      summary: 'Collect the signature ticket of a fresh SSO sign-in',
      description:
        'Answers the one-time ticket the callback of `GET /auth/sso/{provider}?purpose=sign` left in the ' +
        '`cr_sso_ticket` cookie, once (the cookie is cleared). 404 when none is waiting or it expired.',
      responses: [{ status: 200, description: 'The ticket', body: SignatureTicketResponse }],
      errors: ['NOT_FOUND'],
    },
    run: (ctx) => {
      const [ticket, until] = (requestCookie(ctx.event, SSO_TICKET_COOKIE) ?? '').split('.');
      const expiresIn = Number(until) - Math.floor(Date.now() / 1000);
      const cleared = [clearSsoTicketCookie(ctx.event)];
      if (!ticket || !Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
        throw new AppError('NOT_FOUND', 'No signature ticket is waiting: sign in again to sign', {
          headers: { 'Set-Cookie': cleared[0]! },
        });
      }
      return { ...ok({ ticket, expiresIn }), cookies: cleared };
    },
  }),
});

export const handler = httpHandler(routes);
