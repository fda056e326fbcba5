import type { AuthenticatedUser } from '#platform/auth-context';
import { nowSeconds } from './clock';
import { countInWindow } from './counters';
import { addressKey } from './login-guard';
import { checkCredentials } from './credentials';
import { countRevocation, securityEvent } from '#audit/security-events';
import {
  familyOfRefreshToken,
  getFamily,
  revokeAccessToken,
  revokeFamily,
  rotateRefreshToken,
  sessionAlive,
  startFamily,
} from './sessions';
import { config } from '#platform/config';
import { AppError, unauthorized } from '#platform/errors';
import { countLockedLogin } from '#platform/observability/counters';
import { isRole } from '#platform/permissions';
import { issueSessionTokens, type SessionTokens } from './session-tokens';
import { newPasswordChanges } from './new-password';
import type { UserStore } from '#users/store';
import type { RequestMeta } from '#platform/request-meta';
import { toPublicUser, type User } from '#users/model';
import type { Me, TokenResponse } from './model';

export type { TokenResponse };

/** One message for every failed login: wrong username, wrong password and disabled account look alike. */
const invalidCredentials = () => unauthorized('Invalid username or password');
const refreshRejected = () => unauthorized('The refresh token is not valid');
const mfaRequired = () =>
  new AppError('MFA_REQUIRED', 'A current authenticator code (or a recovery code) is required', {
    headers: { 'WWW-Authenticate': 'Bearer' },
    details: [{ path: 'body.totp', code: 'mfa_required', message: 'send the code of your authenticator app' }],
  });

const sessionEnded = () => unauthorized('The session has ended: sign in again');

/** Per-source-IP limit on login attempts, before any other work is done for the caller. */
async function limitLoginAttempts(sourceIp: string, now: number): Promise<void> {
  const limit = config().LOGIN_RATE_LIMIT_PER_MINUTE;
  // Per address as the lockout counts them: an IPv6 /64 is one address here too.
  const window = await countInWindow(`loginip#${addressKey(sourceIp)}`, 60, limit, now);
  if (window.exceeded) {
    throw new AppError('RATE_LIMITED', 'Too many login attempts from this address', {
      headers: { 'Retry-After': String(Math.max(1, window.resetAt - now)) },
    });
  }
}

export interface CurrentToken {
  jti: string;
  exp: number;
  sid?: string;
}

/** `/users/me`: the stored user with the roles and permissions in effect for this request. */
export type MeView = Me;

/**
 * The caller's view of themselves. Roles are the ones the authorizer decided with — an SSO user's come from
 * their token and are never stored, so the stored item alone would show none.
 */
function meView(user: User, caller: AuthenticatedUser): MeView {
  return { ...toPublicUser(user), roles: caller.roles.filter(isRole), permissions: caller.permissions };
}

/** Sign-in and the caller's own account: login, refresh, logout, profile and password. */
export class AuthService {
  constructor(private readonly users: UserStore) {}

  async login(username: string, password: string, meta: RequestMeta, totp?: string): Promise<SessionTokens> {
    const now = nowSeconds();
    await limitLoginAttempts(meta.sourceIp, now);
    const user = await this.users.getByUsername(username);
    // A disabled account's right password is a failure too (`checkCredentials`): the same 401, audited as such.
    const outcome = await checkCredentials(
      this.users,
      {
        username,
        user,
        proof: { password },
        ...(totp !== undefined ? { secondFactor: totp } : {}),
        failureAction: 'login.failure',
      },
      meta,
      now,
    ).catch(countLockedLogin);
    if (outcome === 'second-factor-missing' || outcome === 'second-factor-invalid') throw mfaRequired();
    if (outcome !== 'ok' || !user) throw invalidCredentials();
    // A temporary password signs in once (`checkCredentials` refuses it afterwards); its session can only replace it.
    // Marked in a write conditional on the user's version: of two concurrent sign-ins with it, one gets in.
    if (user.passwordChangeRequired) {
      const spent = invalidCredentials();
      await this.users.update(
        user.userId,
        (current) => {
          if (current.temporaryPasswordUsedAt !== undefined || current.passwordHash !== user.passwordHash) throw spent;
          return { temporaryPasswordUsedAt: new Date().toISOString() };
        },
        {
          actor: user,
          requestId: meta.requestId,
          correlationId: meta.correlationId,
          reason: 'temporary password used',
        },
      );
    }
    const { family, refreshToken } = await startFamily(user.userId, now, {
      sourceIp: meta.sourceIp,
      userAgent: meta.userAgent,
    });
    await securityEvent({ action: 'login.success', subject: user, requestId: meta.requestId, sourceIp: meta.sourceIp });
    return issueSessionTokens(user, family, refreshToken);
  }

  async refresh(refreshToken: string, meta: RequestMeta): Promise<SessionTokens> {
    const now = nowSeconds();
    const outcome = await rotateRefreshToken(refreshToken, now);
    if (!outcome.ok) {
      if (outcome.reason === 'idle') {
        // Unattended for SESSION_IDLE_SECONDS: the session is over for good, not just this refresh.
        await revokeFamily(outcome.family.familyId, now);
        throw sessionEnded();
      }
      if (outcome.reason === 'reused') {
        // ASVS 5 §10.4.5: a spent token presented again means it leaked: the whole family dies.
        await revokeFamily(outcome.family.familyId, now);
        const user = await this.users.getById(outcome.family.userId);
        await securityEvent({
          action: 'refresh.reuse',
          subject: { userId: outcome.family.userId, username: user?.username ?? 'unknown' },
          requestId: meta.requestId,
          sourceIp: meta.sourceIp,
          // Which session, without its id: the family id is a secret to the audit trail (SECRET_FIELDS), as
          // the refresh token is. Its start time names the session the user logged in with.
          details: { sessionStartedAt: { from: null, to: new Date(outcome.family.createdAt).toISOString() } },
        });
      }
      throw refreshRejected();
    }
    const user = await this.users.getById(outcome.family.userId);
    if (!sessionAlive(user, outcome.family)) {
      await revokeFamily(outcome.family.familyId, now);
      throw refreshRejected();
    }
    return issueSessionTokens(user, outcome.family, outcome.refreshToken);
  }

  async logout(
    caller: AuthenticatedUser,
    token: CurrentToken,
    refreshToken: string | undefined,
    meta: RequestMeta,
  ): Promise<void> {
    const now = nowSeconds();
    await revokeAccessToken(token.jti, token.exp, now);
    const families = new Set<string>();
    if (token.sid) families.add(token.sid);
    if (refreshToken) {
      const familyId = await familyOfRefreshToken(refreshToken);
      if (familyId) {
        // Only the caller's own sessions: a stolen refresh token of someone else cannot be used to log them out.
        const family = await getFamily(familyId);
        if (family?.userId === caller.userId) families.add(familyId);
      }
    }
    for (const familyId of families) await revokeFamily(familyId, now);
    await securityEvent({ action: 'logout', subject: caller, requestId: meta.requestId, sourceIp: meta.sourceIp });
  }

  async requireUser(userId: string): Promise<User> {
    const user = await this.users.getById(userId);
    if (!user) throw unauthorized();
    return user;
  }

  async me(caller: AuthenticatedUser): Promise<MeView> {
    return meView(await this.requireUser(caller.userId), caller);
  }

  async updateMe(
    caller: AuthenticatedUser,
    changes: { displayName?: string; email?: string },
    meta: RequestMeta,
  ): Promise<MeView> {
    const updated = await this.users.update(caller.userId, changes, {
      actor: caller,
      requestId: meta.requestId,
      correlationId: meta.correlationId,
    });
    return meView(updated, caller);
  }

  /**
   * Password change: the current password is checked under the same lockout rules as a login; afterwards every
   * other session of the user is dead (tokens issued before now), while the caller's own session lives on.
   */
  async changePassword(
    caller: AuthenticatedUser,
    currentPassword: string,
    newPassword: string,
    sessionId: string | undefined,
    meta: RequestMeta,
  ): Promise<void> {
    const now = nowSeconds();
    const user = await this.requireUser(caller.userId);
    const valid =
      (await checkCredentials(
        this.users,
        {
          username: user.username,
          user,
          proof: { password: currentPassword },
          // The temporary password's one session exists to replace it.
          allowSpentTemporary: true,
          failureAction: 'login.failure',
        },
        meta,
        now,
      )) !== 'invalid';
    // 403, not 401: the caller's token is fine, and a 401 would make clients drop a live session.
    if (!valid) {
      throw new AppError('FORBIDDEN', 'The current password is not correct', {
        details: [{ path: 'body.currentPassword', code: 'mismatch', message: 'does not match the account password' }],
      });
    }
    await this.users.update(
      user.userId,
      {
        // Policy and history (422); a temporary password's restriction ends with it.
        ...(await newPasswordChanges(user, newPassword)),
        tokensValidAfter: Date.now(),
        tokensValidAfterExceptSession: sessionId,
      },
      { actor: caller, requestId: meta.requestId, correlationId: meta.correlationId, reason: 'password change' },
    );
    // Every other session of the user ends: a revocation, as a disable or a role change is.
    countRevocation('password-change');
    // The `password.change` audit record (hash redacted) comes from the users stream, like every item change.
  }
}
