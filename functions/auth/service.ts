import type { AuthenticatedUser } from '#platform/auth-context';
import { nowSeconds } from './clock';
import { countInWindow } from './counters';
import { addressKey, releaseAttempt, reserveAttempt } from './login-guard';
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
import { AppError, unauthorized, validationError } from '#platform/errors';
import { isRole } from '#platform/permissions';
import { mintAccessToken } from '#signing/tokens';
import { hashPassword, passwordPolicyViolations, verifyAgainstDummy, verifyPassword } from '#users/passwords';
import type { UserStore } from '#users/store';
import type { RequestMeta } from '#platform/request-meta';
import { toPublicUser, type User } from '#users/model';
import type { Me, TokenResponse } from './model';

export type { TokenResponse };

/** One message for every failed login: wrong username, wrong password and disabled account look alike. */
const invalidCredentials = () => unauthorized('Invalid username or password');
const refreshRejected = () => unauthorized('The refresh token is not valid');

const locked = (retryAfterSeconds: number) =>
  new AppError('ACCOUNT_LOCKED', 'Too many failed attempts: try again later', {
    headers: { 'Retry-After': String(Math.max(1, retryAfterSeconds)) },
  });

async function issueTokens(user: User, familyId: string, refreshToken: string): Promise<TokenResponse> {
  const access = await mintAccessToken({ sub: user.userId, username: user.username, roles: user.roles, sid: familyId });
  return { accessToken: access.token, refreshToken, tokenType: 'Bearer', expiresIn: access.expiresIn };
}

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

/**
 * Checks a password on any path that does so (login, password change) under the lockout rules: the attempt
 * is reserved first — refused with 423 while the username + IP pair or the account is locked, else counted as
 * a failure in the same atomic write — so concurrent attempts cannot check more passwords than the lock allows.
 * A right password releases the reservation; known and unknown usernames take exactly the same steps.
 *
 * Only an attempt that gets in is a success: a right password for a disabled account stays a failure, lock
 * and all. Released, it would reset the pair, and the next attempt's 401 instead of 423 would tell whoever
 * guesses that the guess before was the password (and give them endless lock resets on that pair).
 */
async function checkPassword(
  username: string,
  password: string,
  user: User | undefined,
  meta: RequestMeta,
  now: number,
): Promise<boolean> {
  const reservation = await reserveAttempt(username, meta.sourceIp, now);
  if (reservation.locked) throw locked(reservation.retryAfterSeconds);
  const { attempt } = reservation;

  const valid = user?.passwordHash
    ? await verifyPassword(password, user.passwordHash)
    : await verifyAgainstDummy(password);
  if (valid && user && !user.disabled) {
    await releaseAttempt(attempt, now);
    return true;
  }

  const subject = { userId: user?.userId, username: user?.username ?? username };
  await securityEvent({
    action: 'login.failure',
    subject,
    requestId: meta.requestId,
    sourceIp: meta.sourceIp,
    // For the auditor (the response says nothing): the password was right, the account is what refused it.
    ...(valid ? { reason: 'account disabled' } : {}),
  });
  if (attempt.locked) {
    await securityEvent({
      action: 'lockout',
      subject,
      requestId: meta.requestId,
      sourceIp: meta.sourceIp,
      details: {
        scope: { from: null, to: attempt.locked.scope },
        lockedUntil: { from: null, to: new Date(attempt.locked.until * 1000).toISOString() },
      },
    });
  }
  return false;
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

  async login(username: string, password: string, meta: RequestMeta): Promise<TokenResponse> {
    const now = nowSeconds();
    await limitLoginAttempts(meta.sourceIp, now);
    const user = await this.users.getByUsername(username);
    // A disabled account's right password is a failure too (`checkPassword`): the same 401, audited as such.
    const valid = await checkPassword(username, password, user, meta, now);
    if (!valid || !user) throw invalidCredentials();
    const { family, refreshToken } = await startFamily(user.userId, now);
    await securityEvent({ action: 'login.success', subject: user, requestId: meta.requestId, sourceIp: meta.sourceIp });
    return issueTokens(user, family.familyId, refreshToken);
  }

  async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenResponse> {
    const now = nowSeconds();
    const outcome = await rotateRefreshToken(refreshToken, now);
    if (!outcome.ok) {
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
    return issueTokens(user, outcome.family.familyId, outcome.refreshToken);
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
    const valid = await checkPassword(user.username, currentPassword, user, meta, now);
    // 403, not 401: the caller's token is fine, and a 401 would make clients drop a live session.
    if (!valid) {
      throw new AppError('FORBIDDEN', 'The current password is not correct', {
        details: [{ path: 'body.currentPassword', code: 'mismatch', message: 'does not match the account password' }],
      });
    }
    const problems = passwordPolicyViolations(newPassword, user.username);
    if (problems.length > 0) {
      throw validationError('The new password does not meet the password policy', [
        { path: 'body.newPassword', code: 'password_policy', message: problems.join('; ') },
      ]);
    }
    await this.users.update(
      user.userId,
      {
        passwordHash: await hashPassword(newPassword),
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
