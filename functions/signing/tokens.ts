import { randomUUID } from 'node:crypto';
import {
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
} from 'aws-jwt-verify/error';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { JwtHeader, JwtPayload } from 'aws-jwt-verify/jwt-model';
import { JwtVerifier } from 'aws-jwt-verify/jwt-verifier';
import { config } from '#platform/config';
import { logger } from '#platform/powertools';
import { type SigningAdapters, signingAdapters } from './adapters';
import { activeKeys, KeyRing, type KeyRingSnapshot } from './key-ring';
import { ChargeRecordsError } from '#platform/errors';

/**
 * Access tokens: minting through the SigningKeys port with the AWSCURRENT key, and verification
 * with aws-jwt-verify against the JWKS held in memory — no KMS or Secrets Manager call per verification.
 *
 *   const { token, expiresIn } = await mintAccessToken({ sub: user.userId, username, roles });
 *   const claims = await verifyAccessToken(bearer);   // throws AccessTokenError
 *
 * Header-supplied keys (`jku`, `x5u`, `jwk`, `x5c`) are never read, let alone fetched; `kid` is only a
 * lookup key into our own key ring, so a `kid` like `../../etc/passwd` is simply unknown.
 */

export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  type: 'access';
  roles: string[];
  username: string;
  /** Session id: the refresh-token family the token was issued in (logout and revocation use it). */
  sid?: string;
  /**
   * Present (true) on the tokens of a temporary password's session: only a password change is possible. For the
   * client; the authorizer decides by the user's current state.
   */
  password_change_required?: true;
}

export interface MintAccessTokenInput {
  /** The user id. */
  sub: string;
  username: string;
  roles: readonly string[];
  /** Default: a new UUID (the revocation key). */
  jti?: string;
  /** The refresh-token family (session) this token belongs to. */
  sid?: string;
  /** Default: ACCESS_TOKEN_TTL_SECONDS. */
  ttlSeconds?: number;
  /** Marks the token as one of a temporary password's session (`password_change_required`). */
  passwordChangeRequired?: boolean;
}

export interface MintedAccessToken {
  token: string;
  claims: AccessTokenClaims;
  kid: string;
  /** Seconds until `exp`, for the login response's `expiresIn`. */
  expiresIn: number;
}

export type AccessTokenErrorReason =
  | 'malformed'
  | 'algorithm'
  | 'unknown_kid'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'claims';

/** Every rejected token: `reason` is for logs and metrics; clients only ever see a plain 401. */
export class AccessTokenError extends ChargeRecordsError {
  constructor(
    readonly reason: AccessTokenErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AccessTokenError';
  }
}

export interface AccessTokensOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clockSkewSeconds: number;
  /** Penalty box: an unknown kid reloads the key ring at most once per this many seconds. */
  unknownKidReloadSeconds: number;
}

const RELOAD_RETRY_MS = 5000;
const KID_SHAPE = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_TOKEN_LENGTH = 8192;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function mapError(err: unknown): AccessTokenError {
  if (err instanceof AccessTokenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const reason: AccessTokenErrorReason =
    err instanceof JwtExpiredError
      ? 'expired'
      : err instanceof JwtNotBeforeError
        ? 'not_yet_valid'
        : err instanceof JwtInvalidIssuerError
          ? 'issuer'
          : err instanceof JwtInvalidAudienceError
            ? 'audience'
            : err instanceof JwtInvalidSignatureAlgorithmError
              ? 'algorithm'
              : err instanceof JwtInvalidSignatureError
                ? 'signature'
                : // No kid names no key of ours either.
                  err instanceof KidNotFoundInJwksError || err instanceof JwtWithoutValidKidError
                  ? 'unknown_kid'
                  : 'malformed';
  return new AccessTokenError(reason, message, { cause: err });
}

/** A placeholder the verifier files our cached JWKS under; nothing is ever fetched from it. */
const LOCAL_JWKS_URI = 'https://jwks.invalid/.well-known/jwks.json';

type Verifier = { verifySync(token: string): JwtPayload };

export class AccessTokens {
  private verifierCache: { snapshot: KeyRingSnapshot; verifier: Verifier; validUntil: number } | undefined;
  private lastUnknownKidReload = Number.NEGATIVE_INFINITY;
  /** After a failed reload, requests keep the last keys for a few seconds instead of each retrying. */
  private reloadRetryAt = 0;

  constructor(
    readonly adapters: SigningAdapters,
    readonly ring: KeyRing,
    readonly options: AccessTokensOptions,
  ) {}

  async mint(input: MintAccessTokenInput): Promise<MintedAccessToken> {
    if (this.ring.stale()) await this.reloadKeepingOld();
    const current = this.ring.peek()?.current;
    if (!current) throw new Error('No AWSCURRENT signing key: create one (npm run rotate-keys, or rotate the secret)');
    const iat = Math.floor(Date.now() / 1000);
    const ttl = input.ttlSeconds ?? this.options.ttlSeconds;
    const claims: AccessTokenClaims = {
      iss: this.options.issuer,
      aud: this.options.audience,
      sub: input.sub,
      iat,
      nbf: iat,
      exp: iat + ttl,
      jti: input.jti ?? randomUUID(),
      type: 'access',
      roles: [...input.roles],
      username: input.username,
      ...(input.sid ? { sid: input.sid } : {}),
      ...(input.passwordChangeRequired ? { password_change_required: true as const } : {}),
    };
    const signingInput = `${b64url({ alg: 'RS256', typ: 'JWT', kid: current.kid })}.${b64url(claims)}`;
    const signature = await this.adapters.keys.sign(current.keyId, Buffer.from(signingInput));
    return { token: `${signingInput}.${signature.toString('base64url')}`, claims, kid: current.kid, expiresIn: ttl };
  }

  /** Verifies against the in-memory JWKS only: no I/O, throws AccessTokenError (reason `unknown_kid` for new keys). */
  verifySync(token: string): AccessTokenClaims {
    const snapshot = this.ring.peek();
    if (!snapshot) throw new AccessTokenError('unknown_kid', 'The key ring is not loaded yet');
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
      throw new AccessTokenError('malformed', 'Not a token of acceptable size');
    }
    try {
      return this.verifierAt(snapshot, Date.now()).verifySync(token) as unknown as AccessTokenClaims;
    } catch (err) {
      throw mapError(err);
    }
  }

  /**
   * The verification the authorizer calls: reloads the ring when it is stale (the local secret file
   * changed, or the AWS snapshot is older than its max age), and once per penalty period when a token
   * names a kid we do not know — a key made by a rotation this process has not seen yet.
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    if (this.ring.stale()) await this.reloadKeepingOld();
    try {
      return this.verifySync(token);
    } catch (err) {
      if (!(err instanceof AccessTokenError) || err.reason !== 'unknown_kid') throw err;
      const now = Date.now();
      if (now - this.lastUnknownKidReload < this.options.unknownKidReloadSeconds * 1000) throw err;
      const kid = headerKid(token);
      if (typeof kid !== 'string' || !KID_SHAPE.test(kid)) throw err; // missing or garbage kids never cost a reload
      this.lastUnknownKidReload = now;
      await this.reloadKeepingOld();
      return this.verifySync(token);
    }
  }

  /** A failed reload keeps the last good key ring (verification must not fail because Secrets Manager blinked). */
  private async reloadKeepingOld(): Promise<void> {
    if (this.ring.peek() && Date.now() < this.reloadRetryAt) return;
    try {
      await this.ring.reload();
    } catch (err) {
      this.reloadRetryAt = Date.now() + RELOAD_RETRY_MS;
      if (!this.ring.peek()) throw err;
      logger.warn('Signing key ring reload failed; using the last loaded keys', { error: err as Error });
    }
  }

  private checkClaims(header: JwtHeader, payload: JwtPayload): void {
    if (header.alg !== 'RS256') throw new AccessTokenError('algorithm', 'Only RS256 is accepted');
    const p = payload as Record<string, unknown>;
    const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    if (p.type !== 'access') throw new AccessTokenError('claims', 'Not an access token');
    if (typeof p.sub !== 'string' || p.sub === '') throw new AccessTokenError('claims', 'sub missing');
    if (typeof p.username !== 'string') throw new AccessTokenError('claims', 'username missing');
    if (typeof p.jti !== 'string' || p.jti === '') throw new AccessTokenError('claims', 'jti missing');
    if (!Array.isArray(p.roles) || !p.roles.every((r) => typeof r === 'string')) {
      throw new AccessTokenError('claims', 'roles missing');
    }
    if (p.sid !== undefined && typeof p.sid !== 'string') throw new AccessTokenError('claims', 'sid must be a string');
    if (typeof p.aud !== 'string') throw new AccessTokenError('audience', 'aud must be a single audience');
    if (!isNum(p.exp) || !isNum(p.nbf) || !isNum(p.iat))
      throw new AccessTokenError('claims', 'exp, nbf and iat are required');
    if ((p.iat as number) > Date.now() / 1000 + this.options.clockSkewSeconds) {
      throw new AccessTokenError('not_yet_valid', 'Issued in the future');
    }
  }

  /**
   * The verifier for the JWKS that is valid right now, rebuilt only when the ring changes or a previous key
   * retires. aws-jwt-verify's verifier class, hydrated with our JWKS, looks the key up by kid and keeps its
   * KeyObject: the standalone `verifyJwtSync` given a whole JWKS first tries it as a single JWK, and the
   * error that throws (stack trace and all) cost more than our claim checks.
   */
  private verifierAt(snapshot: KeyRingSnapshot, now: number): Verifier {
    const cached = this.verifierCache;
    if (cached && cached.snapshot === snapshot && now < cached.validUntil) return cached.verifier;
    const keys = activeKeys(snapshot, now);
    const validUntil = Math.min(Number.POSITIVE_INFINITY, ...keys.map((k) => k.retiresAt ?? Number.POSITIVE_INFINITY));
    const verifier = JwtVerifier.create({
      issuer: this.options.issuer,
      audience: this.options.audience,
      // Never fetched: the JWKS is cached right below, and an unknown kid fails instead of downloading.
      jwksUri: LOCAL_JWKS_URI,
      graceSeconds: this.options.clockSkewSeconds,
      customJwtCheck: ({ header, payload }) => this.checkClaims(header, payload),
    });
    verifier.cacheJwks({ keys: keys.map((k) => ({ ...k.jwk })) } as Jwks);
    this.verifierCache = { snapshot, verifier, validUntil };
    return verifier;
  }
}

function headerKid(token: string): unknown {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    return header.kid;
  } catch {
    return undefined;
  }
}

/** In AWS a minting Lambda may sign with the previous key for up to this long after a rotation. */
const AWS_RING_MAX_AGE_MS = 30_000;

export function createAccessTokens(adapters: SigningAdapters = signingAdapters()): AccessTokens {
  const cfg = config();
  const ring = new KeyRing(adapters, {
    overlapSeconds: cfg.signingKeyOverlapSeconds,
    maxAgeMs: AWS_RING_MAX_AGE_MS,
    revisionCheckMs: 500,
  });
  return new AccessTokens(adapters, ring, {
    issuer: cfg.JWT_ISSUER,
    audience: cfg.JWT_AUDIENCE,
    ttlSeconds: cfg.ACCESS_TOKEN_TTL_SECONDS,
    clockSkewSeconds: cfg.clockSkewSeconds,
    unknownKidReloadSeconds: 10,
  });
}

let shared: AccessTokens | undefined;

/** The process-wide minting/verification service (module scope, reused across warm invocations). */
export function accessTokens(): AccessTokens {
  shared ??= createAccessTokens();
  return shared;
}

export function resetAccessTokens(): void {
  shared = undefined;
}

export const mintAccessToken = (input: MintAccessTokenInput) => accessTokens().mint(input);
export const verifyAccessToken = (token: string) => accessTokens().verify(token);
