import { isRole, type Role } from '#platform/permissions';
import { mintAccessToken } from '#signing/tokens';
import { isExternal, type User } from '#users/model';
import type { Family } from './sessions';

/** What login, refresh and SSO sign-in hand the API layer: the tokens, and when the session ends for good. */
export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  /** Epoch seconds: the family's absolute end, the refresh cookie's lifetime. */
  sessionExpiresAt: number;
}

/**
 * The roles a session's tokens carry: a local user's stored roles; an SSO user's are those the identity provider
 * vouched for at sign-in, kept on the session (their stored roles are always empty).
 */
export function sessionRoles(user: User, family: Pick<Family, 'roles'> | undefined): Role[] {
  return isExternal(user) ? (family?.roles ?? []).filter(isRole) : user.roles;
}

export async function issueSessionTokens(user: User, family: Family, refreshToken: string): Promise<SessionTokens> {
  const access = await mintAccessToken({
    sub: user.userId,
    username: user.username,
    roles: sessionRoles(user, family),
    sid: family.familyId,
    passwordChangeRequired: user.passwordChangeRequired === true,
  });
  return {
    accessToken: access.token,
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
    sessionExpiresAt: family.expiresAt,
  };
}
