import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { lastChangeOf } from '#audit/attribution';
import { appendAuditRecord } from '#audit/audit-log';
import { countInWindow } from '#auth/counters';
import { nowSeconds } from '#auth/clock';
import { addressKey } from '#auth/login-guard';
import type { AuthenticatedUser } from '#platform/auth-context';
import { config } from '#platform/config';
import { AppError, notFound, validationError } from '#platform/errors';
import { logger } from '#platform/powertools';
import type { RequestMeta } from '#platform/request-meta';
import { mintAccessToken } from '#signing/tokens';
import { clientTokens } from '#platform/observability/counters';
import {
  type ClientTokenResponse,
  isServiceAccountId,
  SERVICE_ACCOUNT_PERMISSIONS,
  type PublicServiceAccount,
  type ServiceAccount,
  type ServiceAccountCredentials,
  type ServiceAccountPermission,
  toPublic,
} from './model';
import type { ServiceAccountStore } from './store';

/** A client secret: 256 random bits, with a prefix that secret scanners can match. */
const newSecret = () => `crs_${randomBytes(32).toString('base64url')}`;

/**
 * How a secret is stored: SHA-256, hex. A slow password hash buys nothing for 256 random bits (no dictionary to
 * try), and a fast one keeps `POST /auth/token` cheap; the comparison is constant-time.
 */
export const hashSecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

function secretMatches(secret: string, storedHash: string | undefined): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  // Compared against a hash of the same length even when there is none, so both cases take the same time.
  const stored = Buffer.from(storedHash ?? '0'.repeat(64), 'hex');
  return stored.length === given.length && timingSafeEqual(stored, given) && storedHash !== undefined;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** Requested permissions (space-separated), each one the account must hold. */
  scope?: string;
}

const invalidClient = (basic: boolean) =>
  new AppError('UNAUTHORIZED', 'Invalid client credentials', {
    // RFC 6749 §5.2: a client that authenticated with HTTP Basic is answered with the Basic challenge.
    headers: { 'WWW-Authenticate': basic ? 'Basic realm="charge-records", charset="UTF-8"' : 'Bearer' },
  });

/**
 * The stamp of a service-account change: the audit trail reads account changes from the users table's stream and
 * believes who, why and when only from this stamp and its attribution MAC.
 */
const changeBy = (caller: AuthenticatedUser, reason: string, meta: RequestMeta, at: string) =>
  lastChangeOf({ userId: caller.userId, username: caller.username }, reason, meta, at);

/** Service accounts: administration (users:manage) and the client-credentials grant. */
export class ServiceAccountService {
  constructor(private readonly store: ServiceAccountStore) {}

  async create(
    input: { name: string; permissions: ServiceAccountPermission[]; reason: string },
    caller: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<ServiceAccountCredentials> {
    const at = new Date().toISOString();
    const clientSecret = newSecret();
    const account: ServiceAccount = {
      serviceAccountId: `sa-${randomUUID()}`,
      name: input.name,
      // In one order whatever the request's, so the list and each token's `scope` read alike.
      permissions: SERVICE_ACCOUNT_PERMISSIONS.filter((p) => input.permissions.includes(p)),
      secretHash: hashSecret(clientSecret),
      credentialId: randomUUID(),
      createdAt: at,
      createdBy: { userId: caller.userId, username: caller.username },
      secretRotatedAt: at,
      version: 1,
    };
    await this.store.create(account, changeBy(caller, input.reason, meta, at));
    return { ...toPublic(account), clientSecret };
  }

  async list(): Promise<PublicServiceAccount[]> {
    return (await this.store.list()).map(toPublic);
  }

  async rotateSecret(
    id: string,
    reason: string,
    caller: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<ServiceAccountCredentials> {
    if (!isServiceAccountId(id)) throw notFound('No such service account');
    const clientSecret = newSecret();
    const at = new Date().toISOString();
    const account = await this.store.rotate(
      id,
      { secretHash: hashSecret(clientSecret), credentialId: randomUUID(), at },
      changeBy(caller, reason, meta, at),
    );
    if (!account) throw notFound('No such service account');
    return { ...toPublic(account), clientSecret };
  }

  async delete(id: string, reason: string, caller: AuthenticatedUser, meta: RequestMeta): Promise<void> {
    if (!isServiceAccountId(id)) throw notFound('No such service account');
    const at = new Date().toISOString();
    const account = await this.store.delete(id, at, changeBy(caller, reason, meta, at));
    if (!account) throw notFound('No such service account');
  }

  /**
   * The client-credentials grant (RFC 6749 §4.4): per-source-IP limit first (as login), then the account's
   * current secret. An unknown client, a deleted account and a wrong secret are the same 401, audited.
   */
  async issueToken(credentials: ClientCredentials, basic: boolean, meta: RequestMeta): Promise<ClientTokenResponse> {
    const now = nowSeconds();
    const limit = config().LOGIN_RATE_LIMIT_PER_MINUTE;
    const window = await countInWindow(`tokenip#${addressKey(meta.sourceIp)}`, 60, limit, now);
    if (window.exceeded) {
      throw new AppError('RATE_LIMITED', 'Too many token requests from this address', {
        headers: { 'Retry-After': String(Math.max(1, window.resetAt - now)) },
      });
    }
    const known = isServiceAccountId(credentials.clientId);
    const account = known ? await this.store.get(credentials.clientId) : undefined;
    const valid = secretMatches(credentials.clientSecret, account?.deletedAt ? undefined : account?.secretHash);
    if (!valid || !account?.credentialId) {
      clientTokens.inc({ outcome: 'failure' });
      await this.auditFailure(credentials.clientId, account, meta);
      throw invalidClient(basic);
    }
    if (credentials.scope !== undefined) {
      const asked = credentials.scope.split(' ').filter(Boolean);
      const unknown = asked.filter((p) => !(account.permissions as string[]).includes(p));
      if (unknown.length > 0) {
        throw validationError('The scope names permissions this client does not have', [
          { path: 'body.scope', code: 'invalid_scope', message: `Not granted: ${unknown.join(' ')}` },
        ]);
      }
    }
    const minted = await mintAccessToken({
      sub: account.serviceAccountId,
      username: account.name,
      roles: [],
      // The current secret's id: rotating or deleting the account ends the token on its next request.
      sid: account.credentialId,
    });
    clientTokens.inc({ outcome: 'success' });
    logger.info('Client token issued', { serviceAccountId: account.serviceAccountId, jti: minted.claims.jti });
    return {
      access_token: minted.token,
      token_type: 'Bearer',
      expires_in: minted.expiresIn,
      scope: account.permissions.join(' '),
    };
  }

  /** A refused token request is a security event: on the account's chain, or `client/<id>` for an unknown one. */
  private async auditFailure(clientId: string, account: ServiceAccount | undefined, meta: RequestMeta): Promise<void> {
    await appendAuditRecord({
      entityType: account ? 'service-account' : 'client',
      entityId: account ? account.serviceAccountId : clientId,
      action: 'token.failure',
      actor: { userId: 'anonymous', username: clientId },
      requestId: meta.requestId,
      reason: account?.deletedAt ? 'service account deleted' : null,
      changes: { sourceIp: { from: null, to: meta.sourceIp } },
    });
  }
}
