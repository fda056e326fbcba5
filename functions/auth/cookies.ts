import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header } from '#platform/http/headers';

/**
 * The browser's session cookie and the SSO flow's short-lived cookies. The console keeps its access token in
 * memory only; the refresh token lives in `cr_refresh`, which scripts cannot read (HttpOnly), other sites cannot
 * make the browser send (SameSite=Strict), and only the `/auth` routes receive (Path).
 */
export const REFRESH_COOKIE = 'cr_refresh';
/** Binds an SSO sign-in to the browser that started it (login CSRF): SameSite=Lax, the IdP redirects back cross-site. */
export const SSO_FLOW_COOKIE = 'cr_sso';
/** The hand-over of a signature ticket from the SSO callback to the console's `POST /auth/sso/ticket`. */
export const SSO_TICKET_COOKIE = 'cr_sso_ticket';

/**
 * A cookie-borne request that changes state must carry this header: a cross-site form or image cannot set it,
 * and a cross-site `fetch` that does needs a CORS preflight this API never grants.
 */
export const CSRF_HEADER = 'X-Requested-With';
export const CSRF_HEADER_VALUE = 'charge-records';

const isLoopbackHost = (host: string) => /^(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(?::\d+)?$/i.test(host);
const isLoopbackAddress = (ip: string) => ip === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);

/**
 * Plain HTTP on this machine (`npm start`): the only case a cookie may go without `Secure`, since a browser would
 * not send a Secure cookie back over http://127.0.0.1. It takes all three: a loopback Host, a loopback peer, and
 * no `X-Forwarded-Proto` other than `http`. API Gateway (and CloudFront in front of it) always sets
 * `X-Forwarded-Proto: https`, its Host is its own domain and its peers are never loopback addresses.
 */
export function isLoopbackHttp(event: APIGatewayProxyEvent): boolean {
  const proto = header(event.headers, 'x-forwarded-proto');
  if (proto !== undefined && proto.toLowerCase() !== 'http') return false;
  return (
    isLoopbackHost(header(event.headers, 'host') ?? '') &&
    isLoopbackAddress(event.requestContext?.identity?.sourceIp ?? '')
  );
}

/** The value of one request cookie (the first of that name), from the `Cookie` header(s). */
export function requestCookie(event: APIGatewayProxyEvent, name: string): string | undefined {
  const multi = Object.entries(event.multiValueHeaders ?? {})
    .filter(([key]) => key.toLowerCase() === 'cookie')
    .flatMap(([, values]) => values ?? []);
  const lines = multi.length > 0 ? multi : [header(event.headers, 'cookie') ?? ''];
  for (const line of lines) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
      const value = pair.slice(eq + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

interface CookieOptions {
  path: string;
  maxAgeSeconds: number;
  sameSite: 'Strict' | 'Lax';
}

/** Values are base64url tokens this server made: nothing in them needs quoting. */
function cookie(event: APIGatewayProxyEvent, name: string, value: string, options: CookieOptions): string {
  const secure = isLoopbackHttp(event) ? '' : '; Secure';
  return (
    `${name}=${value}; Path=${options.path}; Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}; ` +
    `HttpOnly${secure}; SameSite=${options.sameSite}`
  );
}

/** The refresh token as a cookie that dies with its session's absolute lifetime. */
export const refreshCookie = (event: APIGatewayProxyEvent, token: string, maxAgeSeconds: number) =>
  cookie(event, REFRESH_COOKIE, token, { path: '/auth', maxAgeSeconds, sameSite: 'Strict' });

export const clearRefreshCookie = (event: APIGatewayProxyEvent) =>
  cookie(event, REFRESH_COOKIE, '', { path: '/auth', maxAgeSeconds: 0, sameSite: 'Strict' });

export const ssoFlowCookie = (event: APIGatewayProxyEvent, value: string, maxAgeSeconds: number) =>
  cookie(event, SSO_FLOW_COOKIE, value, { path: '/auth/sso', maxAgeSeconds, sameSite: 'Lax' });

export const clearSsoFlowCookie = (event: APIGatewayProxyEvent) =>
  cookie(event, SSO_FLOW_COOKIE, '', { path: '/auth/sso', maxAgeSeconds: 0, sameSite: 'Lax' });

export const ssoTicketCookie = (event: APIGatewayProxyEvent, value: string, maxAgeSeconds: number) =>
  cookie(event, SSO_TICKET_COOKIE, value, { path: '/auth/sso/ticket', maxAgeSeconds, sameSite: 'Strict' });

export const clearSsoTicketCookie = (event: APIGatewayProxyEvent) =>
  cookie(event, SSO_TICKET_COOKIE, '', { path: '/auth/sso/ticket', maxAgeSeconds: 0, sameSite: 'Strict' });

/** Whether the request carries the console's anti-CSRF header. */
export const hasCsrfHeader = (event: APIGatewayProxyEvent) => header(event.headers, CSRF_HEADER) === CSRF_HEADER_VALUE;
