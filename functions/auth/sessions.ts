import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import type { User } from '#users/model';

/**
 * Refresh-token families and access-token revocations, in `auth-state`:
 *
 * - `family#<id>`: one login session: its user, creation time and ABSOLUTE expiry (REFRESH_TOKEN_TTL_SECONDS
 *   after login — rotation never extends it), and `revokedAt` once logged out or caught reusing a token.
 * - `refresh#<sha256>`: one refresh token, stored only as its hash; `usedAt` once exchanged.
 * - `revoked#<jti>`: a revoked access token, kept until the token's own `exp`.
 *
 * Everything carries `expiresAt` for DynamoDB TTL; readers treat an expired item as absent because TTL
 * deletes late (and DynamoDB Local never does).
 */
export interface Family {
  familyId: string;
  userId: string;
  /** Epoch MILLISECONDS: compared with the user's `tokensValidAfter`, so a login right after a revocation lives. */
  createdAt: number;
  expiresAt: number;
  revokedAt?: number;
}

export type RefreshOutcome =
  | { ok: true; family: Family; refreshToken: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' }
  | { ok: false; reason: 'reused'; family: Family };

const table = () => tableName('auth-state');
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
/** 256 random bits, URL-safe; not a JWT, so it can never pass as a bearer token. */
const newRefreshToken = () => randomBytes(32).toString('base64url');

function refreshItem(token: string, family: Family) {
  return {
    pk: `refresh#${hashToken(token)}`,
    familyId: family.familyId,
    userId: family.userId,
    expiresAt: family.expiresAt,
  };
}

export async function startFamily(userId: string, now: number): Promise<{ family: Family; refreshToken: string }> {
  const family: Family = {
    familyId: randomUUID(),
    userId,
    createdAt: Date.now(),
    expiresAt: now + config().REFRESH_TOKEN_TTL_SECONDS,
  };
  const refreshToken = newRefreshToken();
  await documentDb().send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: table(), Item: { pk: `family#${family.familyId}`, ...family } } },
        { Put: { TableName: table(), Item: refreshItem(refreshToken, family) } },
      ],
    }),
  );
  return { family, refreshToken };
}

export async function getFamily(familyId: string): Promise<Family | undefined> {
  const out = await documentDb().send(
    new GetCommand({ TableName: table(), Key: { pk: `family#${familyId}` }, ConsistentRead: true }),
  );
  return out.Item as Family | undefined;
}

export async function revokeFamily(familyId: string, now: number): Promise<void> {
  await documentDb()
    .send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: `family#${familyId}` },
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': now },
      }),
    )
    .catch((err: unknown) => {
      if (!(err instanceof Error && err.name === 'ConditionalCheckFailedException')) throw err;
    });
}

/** Which refresh token family a presented token belongs to, without consuming it (logout). */
export async function familyOfRefreshToken(token: string): Promise<string | undefined> {
  const out = await documentDb().send(
    new GetCommand({ TableName: table(), Key: { pk: `refresh#${hashToken(token)}` }, ConsistentRead: true }),
  );
  return typeof out.Item?.familyId === 'string' ? out.Item.familyId : undefined;
}

/**
 * Exchanges a refresh token for a new one in the same family. The old token is marked used in the same
 * transaction that stores the new one, on the condition that it was unused and the family is alive, so two
 * concurrent refreshes with one token cannot both succeed. Presenting a used token again is reuse: the
 * caller revokes the family.
 */
export async function rotateRefreshToken(token: string, now: number): Promise<RefreshOutcome> {
  const hashed = `refresh#${hashToken(token)}`;
  const stored = await documentDb().send(
    new GetCommand({ TableName: table(), Key: { pk: hashed }, ConsistentRead: true }),
  );
  const item = stored.Item;
  if (!item || typeof item.familyId !== 'string') return { ok: false, reason: 'unknown' };
  const family = await getFamily(item.familyId);
  if (!family) return { ok: false, reason: 'unknown' };
  if (family.revokedAt) return { ok: false, reason: 'revoked' };
  if (family.expiresAt <= now) return { ok: false, reason: 'expired' };
  if (item.usedAt !== undefined) return { ok: false, reason: 'reused', family };

  const next = newRefreshToken();
  try {
    await documentDb().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: table(),
              Key: { pk: hashed },
              UpdateExpression: 'SET usedAt = :now',
              ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
              ExpressionAttributeValues: { ':now': now },
            },
          },
          {
            ConditionCheck: {
              TableName: table(),
              Key: { pk: `family#${family.familyId}` },
              ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
            },
          },
          { Put: { TableName: table(), Item: refreshItem(next, family) } },
        ],
      }),
    );
  } catch (err) {
    if (!(err instanceof TransactionCanceledException)) throw err;
    const [tokenReason] = err.CancellationReasons ?? [];
    // Lost the race to another exchange of the same token: that is reuse too.
    if (tokenReason?.Code === 'ConditionalCheckFailed') return { ok: false, reason: 'reused', family };
    return { ok: false, reason: 'revoked' };
  }
  return { ok: true, family, refreshToken: next };
}

/**
 * With no usable `exp` the token's life is unknown: the revocation is kept this long instead (a day: longer than
 * any access token we or a sane identity provider issue). Verified tokens always have one; this is a backstop.
 */
const FALLBACK_REVOCATION_SECONDS = 24 * 60 * 60;

/**
 * Revokes one access token until its own expiry (logout), plus the verifier's clock skew. Never stores a
 * revocation that is already over: readers treat an expired item as absent, so that would revoke nothing.
 */
export async function revokeAccessToken(jti: string, exp: number, now: number): Promise<void> {
  const usable = Number.isFinite(exp) && exp > now;
  const until = usable ? exp : now + FALLBACK_REVOCATION_SECONDS;
  await documentDb().send(
    new PutCommand({
      TableName: table(),
      Item: { pk: `revoked#${jti}`, expiresAt: until + config().clockSkewSeconds },
    }),
  );
}

/**
 * A session is alive while its family is, its user exists and is enabled, and the user's tokens were not
 * revoked after the session began (the caller's own session survives their password change).
 */
export function sessionAlive(user: User | undefined, family: Family | undefined, nowSeconds?: number): user is User {
  if (!user || user.disabled || !family || family.revokedAt !== undefined) return false;
  if (family.userId !== user.userId) return false;
  if (nowSeconds !== undefined && family.expiresAt <= nowSeconds) return false;
  return family.createdAt >= user.tokensValidAfter || user.tokensValidAfterExceptSession === family.familyId;
}
