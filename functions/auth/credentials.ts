import { securityEvent, type SecurityAction } from '#audit/security-events';
import { AppError } from '#platform/errors';
import type { RequestMeta } from '#platform/request-meta';
import type { User } from '#users/model';
import { verifyAgainstDummy, verifyPassword } from '#users/passwords';
import type { UserStore } from '#users/store';
import { releaseAttempt, reserveAttempt, withdrawAttempt } from './login-guard';
import { mfaEnrolled, useSecondFactor } from './second-factor';
import { consumeSignatureTicket } from './signature-tickets';

export const locked = (retryAfterSeconds: number) =>
  new AppError('ACCOUNT_LOCKED', 'Too many failed attempts: try again later', {
    headers: { 'Retry-After': String(Math.max(1, retryAfterSeconds)) },
  });

/**
 * `ok`; `invalid` (wrong password or ticket, unknown or disabled user — alike to the caller); the password was
 * right but the user is enrolled in MFA and sent no code (`second-factor-missing`, not counted as a failure)
 * or a wrong or used one (`second-factor-invalid`, counted).
 */
export type CredentialOutcome = 'ok' | 'invalid' | 'second-factor-missing' | 'second-factor-invalid';

export interface Credentials {
  /** The username as presented: what the lockout counts, for known and unknown users alike. */
  username: string;
  user: User | undefined;
  /** A local password, or an SSO user's one-time signature ticket. */
  proof: { password: string } | { ticket: string };
  /** A TOTP code or recovery code; asked for when the user is enrolled in MFA. */
  secondFactor?: string;
  /**
   * A temporary password (an administrator's reset) signs in once; afterwards it only proves the user to replace it
   * (`POST /users/me/password`, which sets this). Elsewhere a spent one is a wrong password.
   */
  allowSpentTemporary?: boolean;
  /** The audit action of a failure: `login.failure` (login, password change) or `signature.failure`. */
  failureAction: Extract<SecurityAction, 'login.failure' | 'signature.failure'>;
}

/**
 * Checks credentials on any path that does so (login, password change, MFA removal, signatures) under the lockout
 * rules: the attempt is reserved first — refused with 423 while the username + IP pair or the account is locked,
 * else counted as a failure in the same atomic write — so concurrent attempts cannot check more than the lock
 * allows. Only a complete success (password, and the code when enrolled) releases the reservation; known and
 * unknown usernames take exactly the same steps.
 *
 * Only an attempt that gets in is a success: a right password for a disabled account stays a failure, lock
 * and all. Released, it would reset the pair, and the next attempt's 401 instead of 423 would tell whoever
 * guesses that the guess before was the password (and give them endless lock resets on that pair).
 */
export async function checkCredentials(
  users: UserStore,
  credentials: Credentials,
  meta: RequestMeta,
  now: number,
): Promise<CredentialOutcome> {
  const { username, user, proof } = credentials;
  const reservation = await reserveAttempt(username, meta.sourceIp, now);
  if (reservation.locked) throw locked(reservation.retryAfterSeconds);
  const { attempt } = reservation;

  let valid: boolean;
  if ('password' in proof) {
    valid = user?.passwordHash
      ? await verifyPassword(proof.password, user.passwordHash)
      : await verifyAgainstDummy(proof.password);
    const spent = user?.passwordChangeRequired === true && user.temporaryPasswordUsedAt !== undefined;
    if (spent && !credentials.allowSpentTemporary) valid = false;
  } else {
    valid = user ? await consumeSignatureTicket(proof.ticket, user.userId) : false;
  }

  let outcome: CredentialOutcome = valid && user && !user.disabled ? 'ok' : 'invalid';
  if (outcome === 'ok' && user && 'password' in proof && mfaEnrolled(user)) {
    if (credentials.secondFactor === undefined) {
      // Not a guess: the code is asked for next. Not counted, and the pair does not start over either.
      await withdrawAttempt(attempt, now);
      return 'second-factor-missing';
    }
    const context = { actor: user, requestId: meta.requestId, correlationId: meta.correlationId };
    if (!(await useSecondFactor(users, user, credentials.secondFactor, context))) outcome = 'second-factor-invalid';
  }
  if (outcome === 'ok') {
    await releaseAttempt(attempt, now);
    return outcome;
  }

  const subject = { userId: user?.userId, username: user?.username ?? username };
  await securityEvent({
    action: credentials.failureAction,
    subject,
    requestId: meta.requestId,
    sourceIp: meta.sourceIp,
    // For the auditor (the response says nothing more): what refused an attempt whose first factor was right.
    ...(outcome === 'second-factor-invalid'
      ? { reason: 'wrong or used second factor' }
      : valid
        ? { reason: 'account disabled' }
        : {}),
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
  return outcome;
}
