import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

/**
 * A real OpenID provider (npm `oidc-provider`) on a loopback port, for tests of the browser SSO flow and for the
 * console's browser tests. One confidential client (client_secret_basic, PKCE), accounts given by the test, each
 * with a `roles` claim in its ID token. Nobody types a password: `signIn` drives the provider's own login
 * interaction programmatically, as a browser would, and answers the redirect back to our callback.
 *
 *   const idp = await startTestIdp({ redirectUris: [`${api.url}/auth/sso/callback`] });
 *   idp.addAccount('alice', { roles: ['plant-qa'] });
 *   vi.stubEnv('OIDC_PROVIDERS', JSON.stringify([idp.providerEntry({ id: 'plant', roleMap: { 'plant-qa': 'quality_manager' } })]));
 *   vi.stubEnv('OIDC_CLIENT_SECRET_PLANT', idp.clientSecret);
 *   // … GET /auth/sso/plant → 302 Location: the authorization URL
 *   const callbackUrl = await idp.signIn(authorizationUrl, 'alice');  // → `${redirectUri}?code=…&state=…&iss=…`
 *   await idp.stop();
 */
export interface TestAccount {
  /** Values of the `roles` claim (the provider's group names, mapped by `roleMap`). */
  roles: string[];
  preferredUsername?: string;
  email?: string;
}

export interface TestIdp {
  /** `http://127.0.0.1:<port>`: the `iss` of its tokens. */
  issuer: string;
  jwksUri: string;
  clientId: string;
  clientSecret: string;
  addAccount(accountId: string, account: TestAccount): void;
  /** An OIDC_PROVIDERS entry for this provider (`rolesClaim: roles`); `overrides` add `id`, `roleMap`, … */
  providerEntry(overrides: Record<string, unknown> & { id: string }): Record<string, unknown>;
  /**
   * Follows the authorization URL through the provider's login (and, for a new grant, consent) as `accountId`,
   * with a cookie jar of its own unless `jar` is given (the same jar keeps the provider's session across calls,
   * so a second sign-in without `prompt=login` needs no login). Answers the URL the provider redirected back to.
   */
  signIn(authorizationUrl: string, accountId: string, jar?: CookieJar): Promise<string>;
  stop(): Promise<void>;
}

/** The cookies of one origin, as a browser keeps them (name → value; Max-Age=0 or an empty value removes one). */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  /** Takes every `Set-Cookie` of a response. */
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) this.storeLine(line);
  }

  storeLine(line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq === -1) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || value === '';
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }

  /** The `Cookie` header to send, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

const CLIENT_ID = 'charge-records-console';

async function listening(server: Server): Promise<number> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return (server.address() as AddressInfo).port;
}

export async function startTestIdp(options: { redirectUris: string[]; clientSecret?: string }): Promise<TestIdp> {
  // The issuer names the port, so the provider is made once the server listens.
  const app: { handle?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server = createServer((req, res) => app.handle?.(req, res));
  const port = await listening(server);
  const issuer = `http://127.0.0.1:${port}`;
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const accounts = new Map<string, TestAccount>();

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-idp-1', alg: 'RS256', use: 'sig' };

  const configuration: Configuration = {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingKey as never] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub', 'roles'], profile: ['preferred_username', 'name'], email: ['email'] },
    // Every granted claim goes into the ID token, as IdPs configured for this app do with the roles claim.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    // Short, and set: the provider's defaults print a notice each.
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
    pkce: { required: () => true },
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            roles: account.roles,
            preferred_username: account.preferredUsername ?? id,
            ...(account.email ? { email: account.email } : {}),
          };
        },
      };
    },
    // A first-party client: no consent screen; the grant covers what was asked.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- oidc-provider's context is untyped here
    async loadExistingGrant(ctx: any) {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!ctx.oidc.session?.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  app.handle = provider.callback();

  async function signIn(authorizationUrl: string, accountId: string, jar = new CookieJar()): Promise<string> {
    const redirectTargets = options.redirectUris;
    let next: { url: string; init?: RequestInit } = { url: authorizationUrl };
    for (let hop = 0; hop < 20; hop++) {
      const cookie = jar.header();
      const response = await fetch(next.url, {
        ...next.init,
        redirect: 'manual',
        headers: { ...(next.init?.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
      });
      jar.store(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        const target = new URL(location, next.url).href;
        if (redirectTargets.some((uri) => target.startsWith(uri))) return target;
        next = { url: target };
        continue;
      }
      const page = await response.text();
      if (response.status !== 200) throw new Error(`The test IdP answered ${response.status}: ${page.slice(0, 300)}`);
      // A devInteractions page: its form posts back to the same URL with a hidden `prompt`.
      const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
      if (!prompt) throw new Error(`Not a login or consent page: ${page.slice(0, 300)}`);
      const form = new URLSearchParams({ prompt, ...(prompt === 'login' ? { login: accountId, password: 'x' } : {}) });
      next = {
        url: next.url,
        init: {
          method: 'POST',
          body: form.toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
      };
    }
    throw new Error('The test IdP did not redirect back within 20 hops');
  }

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    clientId: CLIENT_ID,
    clientSecret,
    addAccount: (accountId, account) => void accounts.set(accountId, account),
    providerEntry: (overrides) => ({
      issuer,
      audience: CLIENT_ID,
      jwksUri: `${issuer}/jwks`,
      rolesClaim: 'roles',
      clientId: CLIENT_ID,
      ...overrides,
    }),
    signIn,
    async stop() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  };
}
