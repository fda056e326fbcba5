import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { consumeSignatureTicket } from '#auth/signature-tickets';
import { resetSsoDiscovery } from '#auth/sso';
import { resetOidcVerifiers } from '#auth/oidc';
import { resetConfig } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { CookieJar, startTestIdp, type TestIdp } from '#test/support/oidc-provider';

/**
 * SSO in the browser against a real OpenID provider (oidc-provider on a loopback port): the authorization code flow
 * with PKCE, state and nonce, driven over HTTP with a cookie jar as a browser would, redirects followed by hand.
 */

let api: LocalApi;
let idp: TestIdp;
const PROVIDER = 'plant';

beforeAll(async () => {
  vi.stubEnv('LOGIN_RATE_LIMIT_PER_MINUTE', '10000');
  vi.stubEnv('RATE_LIMIT_PER_MINUTE', '10000');
  resetConfig();
  api = await startLocalApi();
  // The provider is read per request: it can be configured once the API's port (the callback URL) is known.
  idp = await startTestIdp({ redirectUris: [`${api.url}/auth/sso/callback`] });
  idp.addAccount('qa-lead', { roles: ['plant-qa'], preferredUsername: 'qa.lead' });
  idp.addAccount('intruder', { roles: ['plant-qa'] });
  vi.stubEnv('LOGIN_RATE_LIMIT_PER_MINUTE', '10000');
  vi.stubEnv('RATE_LIMIT_PER_MINUTE', '10000');
  vi.stubEnv(
    'OIDC_PROVIDERS',
    JSON.stringify([
      idp.providerEntry({
        id: PROVIDER,
        displayName: 'Plant sign-in',
        roleMap: { 'plant-qa': ['quality_manager'] },
        clientSecretRef: 'charge-records/sso/plant',
      }),
    ]),
  );
  vi.stubEnv('OIDC_CLIENT_SECRET_PLANT', idp.clientSecret);
  resetConfig();
  resetOidcVerifiers();
  resetSsoDiscovery();
});
afterAll(async () => {
  await api.stop();
  await idp.stop();
  vi.unstubAllEnvs();
  resetConfig();
  resetOidcVerifiers();
  resetSsoDiscovery();
});

/** A browser: one cookie jar for the API's origin, redirects followed by the test. */
class Browser {
  readonly jar = new CookieJar();

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const cookie = this.jar.header();
    const res = await fetch(url, { redirect: 'manual', headers: { ...headers, ...(cookie ? { cookie } : {}) } });
    this.jar.store(res);
    return res;
  }

  async post(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const cookie = this.jar.header();
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...headers, ...(cookie ? { cookie } : {}) },
    });
    this.jar.store(res);
    return res;
  }

  /** GET /auth/sso/{provider}: the authorization URL at the IdP it redirects to. */
  async start(query = ''): Promise<URL> {
    const res = await this.get(`${api.url}/auth/sso/${PROVIDER}${query}`);
    expect(res.status, await res.clone().text()).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  /** What the console does on load: a refresh by cookie, with the anti-CSRF header. */
  async refresh(): Promise<Response> {
    return this.post(`${api.url}/auth/refresh`, { 'x-requested-with': 'charge-records' });
  }
}

async function userCount(): Promise<number> {
  const out = await documentDb().send(new ScanCommand({ TableName: tableName('users') }));
  return (out.Items ?? []).filter((item) => item.kind === 'user').length;
}

describe('GET /auth/sso/providers', () => {
  it('lists the providers with a client id for the sign-in page', async () => {
    const res = await api.request('/auth/sso/providers');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ items: [{ id: PROVIDER, displayName: 'Plant sign-in' }] });
  });
});

describe('GET /auth/sso/{provider}', () => {
  it('redirects to the authorization endpoint with PKCE S256, state and nonce, and binds the flow to the browser', async () => {
    const browser = new Browser();
    const url = await browser.start();
    expect(url.origin).toBe(idp.issuer);
    const params = url.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe(idp.clientId);
    expect(params.get('redirect_uri')).toBe(`${api.url}/auth/sso/callback`);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(params.get('scope')).toContain('openid');
    expect(params.has('prompt')).toBe(false);
    expect(browser.jar.cookies.get('cr_sso')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is 404 for an unknown provider', async () => {
    const res = await api.request('/auth/sso/nowhere');
    expect(res.status).toBe(404);
  });

  it('refuses an unknown purpose', async () => {
    expect((await api.request(`/auth/sso/${PROVIDER}?purpose=everything`)).status).toBe(422);
  });
});

describe('the full sign-in', () => {
  it('signs in, creates the SSO user, starts a cookie session and lands in the console', async () => {
    const browser = new Browser();
    const callbackUrl = await idp.signIn((await browser.start()).href, 'qa-lead');
    const res = await browser.get(callbackUrl);
    expect(res.status, await res.clone().text()).toBe(302);
    expect(res.headers.get('location')).toBe(`${api.url}/console/`);
    const refreshLine = res.headers.getSetCookie().find((l) => l.startsWith('cr_refresh='))!;
    expect(refreshLine).toContain('HttpOnly');
    expect(refreshLine).toContain('SameSite=Strict');
    // The flow's binding cookie is spent.
    expect(browser.jar.cookies.has('cr_sso')).toBe(false);
    expect(res.headers.get('location')).not.toMatch(/token|ticket|code=/i);

    const refreshed = await browser.refresh();
    expect(refreshed.status).toBe(200);
    const { accessToken } = (await refreshed.json()) as { accessToken: string };
    const me = await api.request('/users/me', { token: accessToken });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({
      username: `qa.lead@${new URL(idp.issuer).host}`,
      source: `oidc:${idp.issuer}`,
      roles: ['quality_manager'],
      rolesFrom: 'identity-provider',
    });
    // The mapped roles work on the API, and survive a refresh of the session.
    expect((await api.request('/audit?limit=1', { token: accessToken })).status).toBe(200);
  });

  it('signs the same identity in again as the same user', async () => {
    const before = await userCount();
    const browser = new Browser();
    const res = await browser.get(await idp.signIn((await browser.start()).href, 'qa-lead'));
    expect(res.status).toBe(302);
    expect(await userCount()).toBe(before);
  });
});

describe('a callback that is not right', () => {
  it('is 400 for an unknown state, and nothing is created', async () => {
    const before = await userCount();
    const browser = new Browser();
    const callbackUrl = new URL(await idp.signIn((await browser.start()).href, 'intruder'));
    callbackUrl.searchParams.set('state', 'forged-state-forged-state-forged');
    const res = await browser.get(callbackUrl.href);
    expect(res.status).toBe(400);
    expect(res.headers.getSetCookie().some((l) => l.startsWith('cr_refresh='))).toBe(false);
    expect(await userCount()).toBe(before);
  });

  it('refuses a replayed callback', async () => {
    const browser = new Browser();
    const callbackUrl = await idp.signIn((await browser.start()).href, 'qa-lead');
    // Keep the binding cookie for the replay: only the spent state may refuse it.
    const binding = browser.jar.cookies.get('cr_sso')!;
    expect((await browser.get(callbackUrl)).status).toBe(302);
    const replay = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: `cr_sso=${binding}` } });
    expect(replay.status).toBe(400);
  });

  it("refuses a callback in another browser (login CSRF: the attacker's own code and state)", async () => {
    const before = await userCount();
    const attacker = new Browser();
    const callbackUrl = await idp.signIn((await attacker.start()).href, 'intruder');
    const victim = new Browser();
    // The victim has a flow of their own going: a cookie, just not the one this state was bound to.
    await victim.start();
    const res = await victim.get(callbackUrl);
    expect(res.status).toBe(400);
    // Without any binding cookie at all, too.
    expect((await fetch(callbackUrl, { redirect: 'manual' })).status).toBe(400);
    expect(await userCount()).toBe(before);
  });

  it('refuses an ID token whose nonce is not the one the flow sent', async () => {
    const before = await userCount();
    const browser = new Browser();
    const url = await browser.start();
    url.searchParams.set('nonce', 'a-nonce-the-server-never-issued');
    const callbackUrl = await idp.signIn(url.href, 'intruder');
    // The provider issued a code (with an ID token for that nonce): only our check refuses it.
    expect(new URL(callbackUrl).searchParams.has('code')).toBe(true);
    const res = await browser.get(callbackUrl);
    expect(res.status).toBe(400);
    expect(await userCount()).toBe(before);
  });

  it('refuses an authorization code obtained with another PKCE challenge', async () => {
    const browser = new Browser();
    const url = await browser.start();
    url.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    const callbackUrl = await idp.signIn(url.href, 'intruder');
    expect(new URL(callbackUrl).searchParams.has('code')).toBe(true);
    const res = await browser.get(callbackUrl);
    expect(res.status).toBe(400);
  });

  it('is 400 when the provider answers an error instead of a code', async () => {
    const browser = new Browser();
    const state = (await browser.start()).searchParams.get('state')!;
    const res = await browser.get(`${api.url}/auth/sso/callback?error=access_denied&state=${state}`);
    expect(res.status).toBe(400);
  });
});

describe('purpose=sign', () => {
  it('forces a fresh login and hands the console a one-time ticket, never in a URL', async () => {
    // The SSO user exists and has a console session.
    const browser = new Browser();
    expect((await browser.get(await idp.signIn((await browser.start()).href, 'qa-lead'))).status).toBe(302);
    const session = (await (await browser.refresh()).json()) as { accessToken: string };
    const me = (await api.request('/users/me', { token: session.accessToken })).json as { userId: string };

    const url = await browser.start('?purpose=sign');
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.get('max_age')).toBe('0');
    const back = await browser.get(await idp.signIn(url.href, 'qa-lead'));
    expect(back.status, await back.clone().text()).toBe(302);
    const location = back.headers.get('location')!;
    expect(location).toBe(`${api.url}/console/#/signed`);
    const ticketLine = back.headers.getSetCookie().find((l) => l.startsWith('cr_sso_ticket='))!;
    expect(ticketLine).toContain('HttpOnly');
    expect(ticketLine).toContain('SameSite=Strict');
    expect(ticketLine).toContain('Path=/auth/sso/ticket');
    // A signature sign-in starts no second session.
    expect(back.headers.getSetCookie().some((l) => l.startsWith('cr_refresh='))).toBe(false);

    // Only with the caller's token.
    expect((await browser.post(`${api.url}/auth/sso/ticket`)).status).toBe(401);
    const cookie = browser.jar.header()!;
    const picked = await api.request('/auth/sso/ticket', {
      method: 'POST',
      token: session.accessToken,
      headers: { cookie },
    });
    expect(picked.status, picked.text).toBe(200);
    const { ticket, expiresIn } = picked.json as { ticket: string; expiresIn: number };
    expect(expiresIn).toBeGreaterThan(0);
    expect(String(picked.headers['set-cookie'])).toMatch(/cr_sso_ticket=;.*Max-Age=0/);

    expect(await consumeSignatureTicket(ticket, me.userId)).toBe(true);
    expect(await consumeSignatureTicket(ticket, me.userId)).toBe(false);
  });

  it('leaves no ticket for an identity without a user', async () => {
    idp.addAccount('stranger', { roles: [] });
    const browser = new Browser();
    const res = await browser.get(await idp.signIn((await browser.start('?purpose=sign')).href, 'stranger'));
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((l) => l.startsWith('cr_sso_ticket='))).toBe(false);
  });
});
