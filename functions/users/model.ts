import type { Role } from '#platform/permissions';

/** A user as stored in the `users` table (`pk = "user#<userId>"`). */
export interface User {
  userId: string;
  username: string;
  /** Argon2id hash; absent for OIDC users, who have no local password. */
  passwordHash?: string;
  roles: Role[];
  disabled: boolean;
  /** `local`, or `oidc:<issuer>` for users created on first sight of an external token. */
  source: string;
  email?: string;
  displayName?: string;
  /**
   * Epoch milliseconds: sessions (refresh families) begun before this are dead, and so are their access
   * tokens (revoke-tokens, password change, disable). Tokens without a session compare their `iat`.
   */
  tokensValidAfter: number;
  /** A session (refresh family) exempt from `tokensValidAfter`: the caller's own session on password change. */
  tokensValidAfterExceptSession?: string;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  /** Who/why of the last change, for the audit trail written from the users stream. */
  updatedByName?: string;
  requestId?: string;
  reason?: string;
}

/**
 * Where a user's roles come from. `identity-provider`: an SSO user's, mapped from their token on every request
 * (`rolesClaim` through `roleMap`) and never stored, so the `roles` of the stored user are empty and say nothing.
 */
export type RolesFrom = 'local' | 'identity-provider';

/** An SSO user (`source: "oidc:<issuer>"`), created on first sight of an external token. */
export const isExternal = (user: Pick<User, 'source'>) => user.source.startsWith('oidc:');

/**
 * What the last-admin rule counts: a local user who can sign in and holds `admin`. An SSO admin does not count —
 * their admin role lasts only as long as the IdP's groups and the `OIDC_PROVIDERS` mapping do.
 */
export const isEnabledLocalAdmin = (user: Pick<User, 'source' | 'disabled' | 'roles'>) =>
  user.source === 'local' && !user.disabled && user.roles.includes('admin');

/** What the API returns about a user: never the hash or token state. */
export interface PublicUser {
  userId: string;
  username: string;
  /** The stored roles: always empty for an SSO user, whose roles are the token's (`rolesFrom`). */
  roles: Role[];
  rolesFrom: RolesFrom;
  disabled: boolean;
  source: string;
  email?: string;
  displayName?: string;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export function toPublicUser(user: User): PublicUser {
  return {
    userId: user.userId,
    username: user.username,
    roles: user.roles,
    rolesFrom: isExternal(user) ? 'identity-provider' : 'local',
    disabled: user.disabled,
    source: user.source,
    ...(user.email !== undefined ? { email: user.email } : {}),
    ...(user.displayName !== undefined ? { displayName: user.displayName } : {}),
    version: user.version,
    createdAt: user.createdAt,
    createdBy: user.createdBy,
    updatedAt: user.updatedAt,
    updatedBy: user.updatedBy,
  };
}

/** Usernames are unique without regard to case: `Alice` and `alice` are the same account. */
export const usernameKey = (username: string) => username.normalize('NFC').toLowerCase();

export const userPk = (userId: string) => `user#${userId}`;
export const usernameClaimPk = (username: string) => `username#${usernameKey(username)}`;
export const oidcClaimPk = (issuer: string, subject: string) => `oidc#${issuer}#${subject}`;
