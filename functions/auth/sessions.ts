import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import type { User } from '#users/model';

/**
 * Refresh-token families and access-token revocations, in `auth-state`:
 *
 * - `family#<id>`: one login session: its user, creation time and ABSOLUTE expiry (REFRESH_TOKEN_TTL_SECONDS
 *   after login — rotation never extends it), `lastUsedAt` (login or last refresh: a session idle for
 *   SESSION_IDLE_SECONDS is over), and `revokedAt` once logged out or caught reusing a token. `sessionOf` and
 *   `sessionStartedAt` key it in the `byUser` index (the user's own session list).
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
  /** Epoch seconds of the login or the last refresh. Absent on families from before idle limits: `createdAt` counts. */
  lastUsedAt?: number;
  revokedAt?: number;
  /** Where the session was started from, for the user's session list. */
  userAgent?: string;
  sourceIp?: string;
  /**
   * The roles of an SSO browser session, mapped from the ID token at sign-in: an external user's stored roles are
   * empty (theirs come from the identity provider), and our own tokens of the session carry these.
   */
  roles?: string[];
}

/** What the session list shows about where a session came from, and an SSO session's roles. */
export interface FamilyOrigin {
  userAgent?: string;
  sourceIp?: string;
  roles?: string[];
}

export type RefreshOutcome =
  | { ok: true; family: Family; refreshToken: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' }
  | { ok: false; reason: 'idle'; family: Family }
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

/** Epoch seconds of the family's last use: its login or its last refresh. */
export const lastUsed = (family: Family) => family.lastUsedAt ?? Math.floor(family.createdAt / 1000);

/** A family not used for SESSION_IDLE_SECONDS is over, however long its absolute life would still be. */
export const idle = (family: Family, now: number) => lastUsed(family) + config().SESSION_IDLE_SECONDS <= now;

/** A user agent is the client's to choose: kept short, one line, for display only. */
const userAgentOf = (value: string | undefined) =>
  value ? value.replace(/[\p{Cc}\u2028\u2029]/gu, ' ').slice(0, 256) : undefined;

export async function startFamily(
  userId: string,
  now: number,
  origin: FamilyOrigin = {},
): Promise<{ family: Family; refreshToken: string }> {
  const userAgent = userAgentOf(origin.userAgent);
  const family: Family = {
    familyId: randomUUID(),
    userId,
    createdAt: Date.now(),
    expiresAt: now + config().REFRESH_TOKEN_TTL_SECONDS,
    lastUsedAt: now,
    ...(userAgent ? { userAgent } : {}),
    ...(origin.sourceIp ? { sourceIp: origin.sourceIp } : {}),
    ...(origin.roles ? { roles: origin.roles } : {}),
  };
  const refreshToken = newRefreshToken();
  await documentDb().send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: table(),
            Item: {
              pk: `family#${family.familyId}`,
              ...family,
              sessionOf: userId,
              sessionStartedAt: family.createdAt,
            },
          },
        },
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
  if (idle(family, now)) return { ok: false, reason: 'idle', family };

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
            Update: {
              TableName: table(),
              Key: { pk: `family#${family.familyId}` },
              UpdateExpression: 'SET lastUsedAt = :now',
              ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
              ExpressionAttributeValues: { ':now': now },
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
  return { ok: true, family: { ...family, lastUsedAt: now }, refreshToken: next };
}

/** How many of a user's sessions the list shows: the newest; more live at once means something is wrong. */
export const MAX_LISTED_SESSIONS = 100;

/** The user's live sessions (not revoked, not expired, not idle), newest first. */
export async function liveFamilies(userId: string, now: number): Promise<Family[]> {
  const live: Family[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await documentDb().send(
      new QueryCommand({
        TableName: table(),
        IndexName: 'byUser',
        KeyConditionExpression: 'sessionOf = :user',
        ExpressionAttributeValues: { ':user': userId },
        ScanIndexForward: false,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of (out.Items ?? []) as Array<Family & Record<string, unknown>>) {
      if (item.revokedAt !== undefined || item.expiresAt <= now || idle(item, now)) continue;
      const { pk: _pk, sessionOf: _of, sessionStartedAt: _started, ...family } = item;
      live.push(family as Family);
      if (live.length >= MAX_LISTED_SESSIONS) return live;
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return live;
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
  if (nowSeconds !== undefined && (family.expiresAt <= nowSeconds || idle(family, nowSeconds))) return false;
  return family.createdAt >= user.tokensValidAfter || user.tokensValidAfterExceptSession === family.familyId;
}
