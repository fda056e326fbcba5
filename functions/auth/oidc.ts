import { createHash } from 'node:crypto';
import { JwtVerifier } from 'aws-jwt-verify/jwt-verifier';
import { type Jwks, SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Fetcher } from 'aws-jwt-verify/https';
import * as z from '#platform/zod';
import { config } from '#platform/config';
import { isRole, type Role } from '#platform/permissions';
import { logger } from '#platform/powertools';
import { isWellFormed } from '#platform/well-formed';

/** The longest an external access token may live (`exp − iat`). */
export const MAX_EXTERNAL_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * How long an issuer's JWKS is trusted before it is fetched again. aws-jwt-verify's cache fetches only for a
 * kid it does not know, so a key the IdP withdrew (rotated out, or compromised) kept verifying until the
 * process ended — hours, in a warm Lambda. Now at most this long after the withdrawal, for one small GET per
 * issuer and period. (Our own key ring reloads every 30 s; an IdP's keys change far more rarely.)
 */
export const EXTERNAL_JWKS_MAX_AGE_SECONDS = 10 * 60;
/**
 * An IdP unreachable when its JWKS is due: the last JWKS it served is kept this much longer, so a blip at the
 * IdP does not sign out every SSO user — then fail closed (its tokens are 401 until a fetch succeeds). A
 * withdrawn key thus verifies at most MAX_AGE + GRACE after the last successful fetch.
 */
export const EXTERNAL_JWKS_GRACE_SECONDS = 5 * 60;
/** After a failed fetch the next one waits this long: requests meanwhile do not each wait on a dead IdP. */
export const EXTERNAL_JWKS_RETRY_SECONDS = 30;

export interface ExternalJwksOptions {
  maxAgeSeconds: number;
  graceSeconds: number;
  retrySeconds: number;
  /** Epoch milliseconds; tests move it. */
  now: () => number;
}

const DEFAULT_JWKS_OPTIONS: ExternalJwksOptions = {
  maxAgeSeconds: EXTERNAL_JWKS_MAX_AGE_SECONDS,
  graceSeconds: EXTERNAL_JWKS_GRACE_SECONDS,
  retrySeconds: EXTERNAL_JWKS_RETRY_SECONDS,
  now: () => Date.now(),
};

/**
 * External sign-in: access tokens from the issuers in OIDC_PROVIDERS — Cognito, Entra ID, Keycloak,
 * Okta… — verified against that issuer's own JWKS only, `iss` and `aud` exact, RS256 or ES256. Roles come
 * from the configured claim through the provider's `roleMap`; anything unmapped grants nothing.
 */
const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Path segments next to `/auth/sso/{provider}`: no provider may be named like one. */
const RESERVED_PROVIDER_IDS: ReadonlySet<string> = new Set(['callback', 'providers', 'ticket']);

const ProviderSchema = z.strictObject({
  /** Names the provider in `GET /auth/sso/{id}`; required with `clientId`. */
  id: z.optional(
    z.string().check(
      z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'id: lower-case letters, digits and hyphens'),
      z.refine((id) => !RESERVED_PROVIDER_IDS.has(id), 'id must not be callback, providers or ticket'),
    ),
  ),
  issuer: z.string().check(z.minLength(1)),
  audience: z.union([
    z.string().check(z.minLength(1)),
    z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  ]),
  jwksUri: z.url().check(
    z.refine((uri) => {
      const url = new URL(uri);
      // JWKS over plain HTTP only from this machine (tests, a local IdP); anywhere else it must be HTTPS.
      return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
    }, 'jwksUri must be https (http only for loopback addresses)'),
  ),
  rolesClaim: z._default(z.string().check(z.minLength(1)), 'groups'),
  roleMap: z._default(z.record(z.string(), z.union([z.string(), z.array(z.string())])), {}),
  /** Browser sign-in (authorization code + PKCE): our client id at the provider. */
  clientId: z.optional(z.string().check(z.minLength(1))),
  /** The client secret's Secrets Manager id or ARN (AWS); locally OIDC_CLIENT_SECRET_<ID> or `.local/oidc/<id>`. */
  clientSecretRef: z.optional(z.string().check(z.minLength(1))),
  /** The sign-in button's label; the id when absent. */
  displayName: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
});
export type OidcProvider = z.infer<typeof ProviderSchema>;

export function parseOidcProviders(json: string): OidcProvider[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error('OIDC_PROVIDERS is not valid JSON', { cause: err });
  }
  const parsed = z.array(ProviderSchema).safeParse(raw);
  if (!parsed.success) throw new Error(`OIDC_PROVIDERS is not valid: ${parsed.error.message}`);
  const ids = new Set<string>();
  for (const provider of parsed.data) {
    if (provider.clientId !== undefined && provider.id === undefined) {
      throw new Error(`OIDC_PROVIDERS is not valid: ${provider.issuer} has a clientId but no id`);
    }
    if (provider.id !== undefined) {
      if (ids.has(provider.id)) throw new Error(`OIDC_PROVIDERS is not valid: the id ${provider.id} is used twice`);
      ids.add(provider.id);
    }
  }
  return parsed.data;
}

/** Fetches only the configured JWKS URIs (never a URL from a token), with a short timeout. */
const fetcher: Fetcher = {
  async fetch(uri) {
    const response = await fetch(uri, { signal: AbortSignal.timeout(3000), redirect: 'error' });
    if (!response.ok) throw new Error(`JWKS fetch from ${uri} answered ${response.status}`);
    return response.arrayBuffer();
  },
};

const ALLOWED_ALGS = new Set(['RS256', 'ES256']);

export interface OidcIdentity {
  issuer: string;
  subject: string;
  /** `preferred_username@issuer-host`: readable, but not unique (OIDC does not promise that). */
  username: string;
  /** `sub@issuer-host`: unique, used when the readable name is taken. */
  fallbackUsername: string;
  roles: Role[];
  iat: number;
  exp: number;
  /** The token's revocation key: its `jti`, or a hash of the token when the issuer sets none. */
  revocationId: string;
}

interface VerifierEntry {
  provider: OidcProvider;
  verify(token: string): Promise<Record<string, unknown>>;
}

/** The one verifier method the freshness check needs. */
interface JwksHolder {
  cacheJwks(jwks: Jwks): void;
}

/**
 * Keeps one provider's JWKS no older than `maxAgeSeconds`: when it is due, it is fetched again BEFORE a token
 * is verified with it (a request waits for that one GET), so a withdrawn kid is gone. A failed fetch keeps the
 * last JWKS for `graceSeconds` more, retried every `retrySeconds`; after that, verification fails closed.
 */
class JwksFreshness {
  private fetchedAt: number | undefined;
  private retryAt = 0;
  private kids: string[] = [];

  constructor(
    private readonly provider: OidcProvider,
    private readonly verifier: JwksHolder,
    private readonly jwksCache: SimpleJwksCache,
    private readonly options: ExternalJwksOptions,
  ) {}

  async ensureFresh(): Promise<void> {
    const { maxAgeSeconds, graceSeconds, now } = this.options;
    const t = now();
    const age = () => (this.fetchedAt === undefined ? Infinity : t - this.fetchedAt);
    if (age() >= maxAgeSeconds * 1000 && t >= this.retryAt) await this.refresh(t);
    if (age() >= (maxAgeSeconds + graceSeconds) * 1000) {
      throw new Error(`JWKS of ${this.provider.issuer} could not be fetched for too long`);
    }
  }

  private async refresh(t: number): Promise<void> {
    const uri = this.provider.jwksUri;
    try {
      // Concurrent callers share one fetch (the cache's own de-duplication).
      const jwks = await this.jwksCache.getJwks(uri);
      // Also drops the verifier's converted keys: a kid whose key material changed is converted anew.
      this.verifier.cacheJwks(jwks);
      const kids = jwks.keys.map((k) => String(k.kid));
      const added = kids.filter((k) => !this.kids.includes(k));
      const removed = this.kids.filter((k) => !kids.includes(k));
      if (this.fetchedAt !== undefined && (added.length > 0 || removed.length > 0)) {
        logger.info('external JWKS changed', {
          issuer: this.provider.issuer,
          kids_added: added,
          kids_removed: removed,
        });
      }
      this.kids = kids;
      this.fetchedAt = t;
      this.retryAt = 0;
    } catch (err) {
      this.retryAt = t + this.options.retrySeconds * 1000;
      logger.warn('external JWKS fetch failed', { issuer: this.provider.issuer, jwks_uri: uri, error: err as Error });
    }
  }
}

let verifiers: Map<string, VerifierEntry> | undefined;
let jwksOptions = DEFAULT_JWKS_OPTIONS;

function verifierFor(issuer: string): VerifierEntry | undefined {
  if (!verifiers) {
    verifiers = new Map();
    const jwksCache = new SimpleJwksCache({ fetcher });
    for (const provider of parseOidcProviders(config().OIDC_PROVIDERS)) {
      const verifier = JwtVerifier.create(
        {
          issuer: provider.issuer,
          audience: provider.audience,
          jwksUri: provider.jwksUri,
          graceSeconds: config().clockSkewSeconds,
          customJwtCheck: ({ header }) => {
            if (!ALLOWED_ALGS.has(String(header.alg))) throw new Error(`alg ${String(header.alg)} is not accepted`);
          },
        },
        { jwksCache },
      );
      const freshness = new JwksFreshness(provider, verifier, jwksCache, jwksOptions);
      verifiers.set(provider.issuer, {
        provider,
        verify: async (token) => {
          await freshness.ensureFresh();
          return (await verifier.verify(token)) as Record<string, unknown>;
        },
      });
    }
  }
  return verifiers.get(issuer);
}

/** Tests change OIDC_PROVIDERS between files, and may shorten the JWKS timings or move their clock. */
export function resetOidcVerifiers(options: Partial<ExternalJwksOptions> = {}): void {
  verifiers = undefined;
  jwksOptions = { ...DEFAULT_JWKS_OPTIONS, ...options };
}

/** The unverified `iss` of a JWT: only used to pick which provider's verifier to try. */
export function unverifiedIssuer(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const iss = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

function claimAt(payload: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined),
      payload,
    );
}

export function mapRoles(provider: OidcProvider, payload: Record<string, unknown>): Role[] {
  const claim = claimAt(payload, provider.rolesClaim);
  const external = Array.isArray(claim)
    ? claim.map(String)
    : typeof claim === 'string'
      ? claim.split(/\s+/).filter(Boolean)
      : [];
  const roles = new Set<Role>();
  for (const name of external) {
    const mapped = provider.roleMap[name];
    for (const role of Array.isArray(mapped) ? mapped : mapped ? [mapped] : []) if (isRole(role)) roles.add(role);
  }
  return [...roles];
}

/** Verifies a token from a configured external issuer; undefined when its issuer is not one of ours to accept. */
export async function verifyOidcToken(token: string): Promise<OidcIdentity | undefined> {
  const issuer = unverifiedIssuer(token);
  const entry = issuer ? verifierFor(issuer) : undefined;
  if (!entry) return undefined;
  const payload = await entry.verify(token);
  const subject = payload.sub;
  // Identity, username and audit chain all derive from it: ill-formed text would make a user no URL can name.
  if (typeof subject !== 'string' || subject === '' || !isWellFormed(subject))
    throw new Error('token has no usable sub');
  // RFC 9068 §2.2: exp and iat are REQUIRED. aws-jwt-verify checks exp only when present, and a token without
  // one would never expire — nor could logout revoke it, a revocation lives until the token's exp.
  const { exp, iat } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new Error('token has no numeric exp');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new Error('token has no numeric iat');
  // iat decides whether revoke-tokens / a password change ended the token: one from the future would outlive them.
  if (iat > Date.now() / 1000 + config().clockSkewSeconds) throw new Error('token issued in the future');
  // A stolen long-lived token is a standing key: access tokens of the IdPs this serves (Cognito, Entra ID, Keycloak,
  // Okta) live at most a day, so anything longer is refused rather than trusted for its whole life.
  if (exp - iat > MAX_EXTERNAL_TOKEN_LIFETIME_SECONDS) throw new Error('token lifetime exceeds a day');
  const host = new URL(
    entry.provider.issuer.includes('://') ? entry.provider.issuer : `https://${entry.provider.issuer}`,
  ).host;
  const claimed = payload.preferred_username;
  const preferred = typeof claimed === 'string' && claimed !== '' && isWellFormed(claimed) ? claimed : subject;
  return {
    issuer: entry.provider.issuer,
    subject,
    username: `${preferred}@${host}`,
    fallbackUsername: `${subject}@${host}`,
    roles: mapRoles(entry.provider, payload),
    iat,
    exp,
    revocationId:
      typeof payload.jti === 'string' && payload.jti !== '' && isWellFormed(payload.jti)
        ? `${entry.provider.issuer}#${payload.jti}`
        : createHash('sha256').update(token).digest('hex'),
  };
}
