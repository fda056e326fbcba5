import type { AuthenticatedUser } from '#platform/auth-context';
import { notFound } from '#platform/errors';
import type { RequestMeta } from '#platform/request-meta';
import { securityEvent } from '#audit/security-events';
import { nowSeconds } from './clock';
import { getFamily, idle, lastUsed, liveFamilies, revokeFamily } from './sessions';
import type { SessionList } from './model';

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();

/** The caller's live sessions; `currentSid` is the session of the token in hand (none for an SSO bearer token). */
export async function listSessions(caller: AuthenticatedUser, currentSid: string | undefined): Promise<SessionList> {
  const families = await liveFamilies(caller.userId, nowSeconds());
  return {
    items: families.map((family) => ({
      id: family.familyId,
      createdAt: new Date(family.createdAt).toISOString(),
      lastUsedAt: iso(lastUsed(family)),
      expiresAt: iso(family.expiresAt),
      ...(family.userAgent ? { userAgent: family.userAgent } : {}),
      ...(family.sourceIp ? { sourceIp: family.sourceIp } : {}),
      current: family.familyId === currentSid,
    })),
  };
}

/**
 * Ends one of the caller's own sessions: its refresh token stops working and so do its access tokens (the
 * authorizer checks the session on every request). Someone else's session, or one already over, is 404 alike.
 */
export async function endSession(caller: AuthenticatedUser, sessionId: string, meta: RequestMeta): Promise<void> {
  const now = nowSeconds();
  const family = await getFamily(sessionId);
  if (
    !family ||
    family.userId !== caller.userId ||
    family.revokedAt !== undefined ||
    family.expiresAt <= now ||
    idle(family, now)
  ) {
    throw notFound('No such session');
  }
  await revokeFamily(sessionId, now);
  await securityEvent({
    action: 'logout',
    subject: caller,
    requestId: meta.requestId,
    sourceIp: meta.sourceIp,
    reason: 'session ended from the session list',
  });
}
