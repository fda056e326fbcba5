import { createHash, randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as oauth from 'oauth4webapi';
import { securityEvent } from '#audit/security-events';
import { config } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { AppError, badRequest, forbidden, notFound, unavailable } from '#platform/errors';
import type { Role } from '#platform/permissions';
import { logger } from '#platform/powertools';
import type { RequestMeta } from '#platform/request-meta';
import { tableName } from '#platform/tables';
import { isWellFormed } from '#platform/well-formed';
import type { UserStore } from '#users/store';
import { oidcUserId } from './authorize';
import { clientSecretAdapters } from './client-secrets';
import { nowSeconds } from './clock';
import { countInWindow } from './counters';
import { addressKey } from './login-guard';
import { mapRoles, type OidcProvider, parseOidcProviders } from './oidc';
import { issueSessionTokens, type SessionTokens } from './session-tokens';
import { startFamily } from './sessions';
import { issueSignatureTicket, type SignatureTicket } from './signature-tickets';

/**
 * SSO in the browser: the OpenID Connect authorization code flow with PKCE (S256), `state` and `nonce`, as a
 * confidential client (a public one when the provider has no secret). The flow's secrets never leave the server:
 * `ssostate#<sha256(state)>` in auth-state holds the provider, the PKCE verifier, the nonce, the purpose and the
 * hash of a random value the browser got as the `cr_sso` cookie, for SSO_STATE_SECONDS, and is spent once. So a
 * callback URL is worthless to anyone but the browser that started the flow (no login CSRF), and a replayed one
 * is refused.
 */
export const SSO_STATE_SECONDS = 600;

export type SsoPurpose = 'login' | 'sign';

/** A provider that offers browser sign-in: it has an id and a client id. */
export type SsoProvider = OidcProvider & { id: string; clientId: string };

export function ssoProviders(): SsoProvider[] {
  return parseOidcProviders(config().OIDC_PROVIDERS).filter(
    (p): p is SsoProvider => p.id !== undefined && p.clientId !== undefined,
  );
}

const isLoopbackUrl = (url: URL) =>
  url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);

/** Plain HTTP only to an identity provider on this machine (a local IdP, the tests), as for JWKS URIs. */
const insecureFor = (provider: SsoProvider) => {
  const url = new URL(provider.issuer);
  return url.protocol === 'http:' && isLoopbackUrl(url);
};

const requestOptions = (provider: SsoProvider) => ({
  [oauth.allowInsecureRequests]: insecureFor(provider),
  signal: AbortSignal.timeout(5000),
});

const DISCOVERY_MAX_AGE_MS = 10 * 60 * 1000;
const discovered = new Map<string, { as: oauth.AuthorizationServer; until: number }>();

/**
 * The provider's metadata from `{issuer}/.well-known/openid-configuration`, cached for ten minutes. The JWKS the
 * ID token is verified with is the one OIDC_PROVIDERS names (as for bearer tokens), not whatever the document says.
 */
async function authorizationServer(provider: SsoProvider): Promise<oauth.AuthorizationServer> {
  const cached = discovered.get(provider.issuer);
  if (cached && cached.until > Date.now()) return cached.as;
  const issuer = new URL(provider.issuer);
  const response = await oauth.discoveryRequest(issuer, { ...requestOptions(provider), algorithm: 'oidc' });
  const as = { ...(await oauth.processDiscoveryResponse(issuer, response)), jwks_uri: provider.jwksUri };
  discovered.set(provider.issuer, { as, until: Date.now() + DISCOVERY_MAX_AGE_MS });
  return as;
}

/** Tests start identity providers on new ports. */
export function resetSsoDiscovery(): void {
  discovered.clear();
}

const hash = (value: string) => createHash('sha256').update(value).digest('hex');
const stateKey = (state: string) => `ssostate#${hash(state)}`;

interface StoredState {
  provider: string;
  codeVerifier: string;
  nonce: string;
  purpose: SsoPurpose;
  /** SHA-256 of the `cr_sso` cookie's value. */
  binding: string;
  redirectUri: string;
  /** Epoch seconds: when the flow began (a signature's sign-in must be later). */
  startedAt: number;
  expiresAt: number;
}

export interface SsoStart {
  /** The provider's authorization endpoint with the request's parameters: the 302's Location. */
  location: string;
  /** The `cr_sso` cookie's value. */
  browserBinding: string;
}

export type SsoOutcome = { purpose: 'login'; tokens: SessionTokens } | { purpose: 'sign'; ticket: SignatureTicket };

/** Every way a callback can be wrong looks the same to the browser: 400, nothing created. */
const badCallback = (why: string) => {
  logger.warn('SSO callback refused', { reason: why });
  return badRequest('The sign-in could not be completed: start it again');
};

/** The user's clock and the provider's differ: a signature's fresh sign-in may stamp this much before the start. */
const AUTH_TIME_SKEW_SECONDS = 5;

export class SsoService {
  constructor(private readonly users: UserStore) {}

  providers(): Array<{ id: string; displayName: string }> {
    return ssoProviders().map((p) => ({ id: p.id, displayName: p.displayName ?? p.id }));
  }

  private provider(id: string): SsoProvider {
    const provider = ssoProviders().find((p) => p.id === id);
    if (!provider) throw notFound('No such sign-in provider');
    return provider;
  }

  /**
   * Begins a sign-in: stores the flow's state and answers where to send the browser. Each start writes an item
   * anyone may cause, so starts count against the per-address login limit (429 past it).
   */
  async start(providerId: string, purpose: SsoPurpose, redirectUri: string, meta: RequestMeta): Promise<SsoStart> {
    const provider = this.provider(providerId);
    const limit = config().LOGIN_RATE_LIMIT_PER_MINUTE;
    const window = await countInWindow(`ssoip#${addressKey(meta.sourceIp)}`, 60, limit, nowSeconds());
    if (window.exceeded) {
      throw new AppError('RATE_LIMITED', 'Too many sign-in attempts from this address', {
        headers: { 'Retry-After': String(Math.max(1, window.resetAt - nowSeconds())) },
      });
    }
    const as = await authorizationServer(provider).catch((err: unknown) => {
      throw unreachable(provider, err);
    });
    if (!as.authorization_endpoint) throw unreachable(provider, new Error('no authorization_endpoint'));
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const browserBinding = randomBytes(32).toString('base64url');
    const now = nowSeconds();
    const stored: StoredState = {
      provider: provider.id,
      codeVerifier,
      nonce,
      purpose,
      binding: hash(browserBinding),
      redirectUri,
      startedAt: now,
      expiresAt: now + SSO_STATE_SECONDS,
    };
    await documentDb().send(
      new PutCommand({
        TableName: tableName('auth-state'),
        Item: { pk: stateKey(state), ...stored },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', provider.clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', 'openid profile email');
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    url.searchParams.set('nonce', nonce);
    if (purpose === 'sign') {
      // A signature needs the person at the keyboard now, not a remembered IdP session (21 CFR 11.200).
      url.searchParams.set('prompt', 'login');
      url.searchParams.set('max_age', '0');
    }
    return { location: url.href, browserBinding };
  }

  /**
   * Completes a sign-in: the state is spent first (once, and only by the browser holding its cookie), then the
   * code is exchanged and the ID token verified — signature against the provider's JWKS, `iss`, `aud`, `nonce`,
   * `exp`, and for a signature a fresh `auth_time`. Nothing is created before all of that holds.
   */
  async callback(params: URLSearchParams, browserBinding: string | undefined, meta: RequestMeta): Promise<SsoOutcome> {
    const state = params.get('state');
    if (!state || state.length > 512) throw badCallback('no state');
    if (!browserBinding) throw badCallback('no browser binding cookie');
    const stored = await spendState(state);
    if (!stored) throw badCallback('unknown, expired or spent state');
    if (stored.binding !== hash(browserBinding)) throw badCallback('state of another browser');
    const provider = this.provider(stored.provider);
    const as = await authorizationServer(provider).catch((err: unknown) => {
      throw unreachable(provider, err);
    });
    const client: oauth.Client = { client_id: provider.clientId };
    let claims: oauth.IDToken;
    try {
      const callbackParams = oauth.validateAuthResponse(as, client, params, state);
      const secret = await clientSecretAdapters.get().clientSecret(provider);
      const auth = secret ? oauth.ClientSecretBasic(secret) : oauth.None();
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        auth,
        callbackParams,
        stored.redirectUri,
        stored.codeVerifier,
        requestOptions(provider),
      );
      const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: stored.nonce,
        requireIdToken: true,
        maxAge: stored.purpose === 'sign' ? config().SIGNATURE_MAX_AGE_SECONDS : oauth.skipAuthTimeCheck,
      });
      // The token endpoint is trusted over TLS by OIDC, but we verify the ID token's signature anyway.
      await oauth.validateApplicationLevelSignature(as, response, requestOptions(provider));
      claims = oauth.getValidatedIdTokenClaims(result)!;
    } catch (err) {
      if (err instanceof AppError) throw err;
      logger.warn('SSO code exchange or ID token refused', { provider: provider.id, error: err as Error });
      throw badCallback('code exchange or ID token');
    }
    if (stored.purpose === 'sign') {
      const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : 0;
      if (authTime < stored.startedAt - AUTH_TIME_SKEW_SECONDS) throw badCallback('sign-in not fresh');
    }
    const subject = claims.sub;
    if (typeof subject !== 'string' || subject === '' || !isWellFormed(subject)) throw badCallback('no usable sub');
    const roles = mapRoles(provider, claims as Record<string, unknown>);
    return stored.purpose === 'sign'
      ? { purpose: 'sign', ticket: await this.signatureTicket(provider, subject) }
      : { purpose: 'login', tokens: await this.session(provider, subject, claims, roles, meta) };
  }

  /** A one-time signature ticket for the SSO user who just signed in again; never creates a user. */
  private async signatureTicket(provider: SsoProvider, subject: string): Promise<SignatureTicket> {
    const userId = await this.users.userIdForOidcIdentity(provider.issuer, subject);
    const user = userId ? await this.users.getById(userId) : undefined;
    if (!user || user.disabled) throw forbidden('This account cannot sign');
    return issueSignatureTicket(user.userId);
  }

  private async session(
    provider: SsoProvider,
    subject: string,
    claims: oauth.IDToken,
    roles: Role[],
    meta: RequestMeta,
  ): Promise<SessionTokens> {
    const host = new URL(provider.issuer.includes('://') ? provider.issuer : `https://${provider.issuer}`).host;
    const claimed = claims.preferred_username;
    const preferred = typeof claimed === 'string' && claimed !== '' && isWellFormed(claimed) ? claimed : subject;
    const userId = await oidcUserId({
      issuer: provider.issuer,
      subject,
      username: `${preferred}@${host}`,
      fallbackUsername: `${subject}@${host}`,
    });
    const user = userId ? await this.users.getById(userId) : undefined;
    if (!user || user.disabled) throw forbidden('This account is disabled');
    const now = nowSeconds();
    const { family, refreshToken } = await startFamily(user.userId, now, {
      roles,
      sourceIp: meta.sourceIp,
      userAgent: meta.userAgent,
    });
    await securityEvent({
      action: 'login.success',
      subject: user,
      requestId: meta.requestId,
      sourceIp: meta.sourceIp,
      reason: `sso via ${provider.id}`,
    });
    return issueSessionTokens(user, family, refreshToken);
  }
}

const unreachable = (provider: SsoProvider, err: unknown) => {
  logger.warn('SSO provider unreachable', { provider: provider.id, error: err as Error });
  return unavailable('The sign-in provider cannot be reached: try again later');
};

/** Marks the state used, once, while it is alive; answers what it held, or undefined. */
async function spendState(state: string): Promise<StoredState | undefined> {
  try {
    const out = await documentDb().send(
      new UpdateCommand({
        TableName: tableName('auth-state'),
        Key: { pk: stateKey(state) },
        UpdateExpression: 'SET usedAt = :now',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt) AND expiresAt > :now',
        ExpressionAttributeValues: { ':now': nowSeconds() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes as StoredState | undefined;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return undefined;
    throw err;
  }
}
