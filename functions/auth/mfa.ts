import type { AuthenticatedUser } from '#platform/auth-context';
import { AppError, conflict, unauthorized, validationError } from '#platform/errors';
import type { RequestMeta } from '#platform/request-meta';
import { isExternal, type User } from '#users/model';
import type { UserStore } from '#users/store';
import { nowSeconds } from './clock';
import { checkCredentials } from './credentials';
import { mfaEnrolled, usePendingTotp } from './second-factor';
import { newRecoveryCodes, newTotpSecret, otpauthUri, recoveryCodeHash } from './totp';

/** The name authenticator apps show next to the code. */
const TOTP_ISSUER = 'Charge Records';

const context = (caller: AuthenticatedUser, meta: RequestMeta, reason: string) => ({
  actor: caller,
  requestId: meta.requestId,
  correlationId: meta.correlationId,
  reason,
});

/**
 * TOTP enrolment of the caller's own account: start (a new secret, pending), confirm with a code from the app (then
 * MFA is on, and ten recovery codes are shown once), remove with password and code. The secret is returned once,
 * at the start; the users stream records `mfa.enrol` and `mfa.remove` with every secret and code redacted.
 */
export class MfaService {
  constructor(private readonly users: UserStore) {}

  private async localUser(caller: AuthenticatedUser): Promise<User> {
    const user = await this.users.getById(caller.userId);
    if (!user) throw unauthorized();
    if (isExternal(user)) {
      throw conflict("An SSO user's second factor is their identity provider's: enrol there");
    }
    return user;
  }

  async begin(caller: AuthenticatedUser, meta: RequestMeta): Promise<{ secret: string; otpauthUri: string }> {
    const user = await this.localUser(caller);
    if (mfaEnrolled(user)) throw conflict('MFA is already on: remove it first (DELETE /users/me/mfa) to enrol again');
    const secret = newTotpSecret();
    // A new start replaces a pending secret that was never confirmed.
    await this.users.update(
      user.userId,
      (current) => {
        if (mfaEnrolled(current)) throw conflict('MFA is already on');
        return { mfaPendingSecret: secret };
      },
      context(caller, meta, 'mfa enrolment started'),
    );
    return { secret, otpauthUri: otpauthUri(secret, user.username, TOTP_ISSUER) };
  }

  async confirm(caller: AuthenticatedUser, totp: string, meta: RequestMeta): Promise<{ recoveryCodes: string[] }> {
    const user = await this.localUser(caller);
    if (mfaEnrolled(user)) throw conflict('MFA is already on');
    if (!user.mfaPendingSecret) throw conflict('No enrolment to confirm: start one with POST /users/me/mfa');
    if (!(await usePendingTotp(user, totp))) {
      throw validationError('The code does not match the new secret', [
        { path: 'body.totp', code: 'mismatch', message: 'enter the current code of the authenticator app' },
      ]);
    }
    const recoveryCodes = newRecoveryCodes();
    const pending = user.mfaPendingSecret;
    await this.users.update(
      user.userId,
      (current) => {
        // Confirmed for exactly the secret the code was checked against.
        if (current.mfaPendingSecret !== pending || mfaEnrolled(current))
          throw conflict('The enrolment changed meanwhile');
        return {
          mfaSecret: pending,
          mfaPendingSecret: undefined,
          mfaEnrolledAt: new Date().toISOString(),
          recoveryCodeHashes: recoveryCodes.map(recoveryCodeHash),
        };
      },
      context(caller, meta, 'mfa enrolled'),
    );
    return { recoveryCodes };
  }

  /**
   * Removal proves the account twice: password and a current code (or a recovery code), checked as a login checks
   * them, lockout included; a wrong one is 403 and a failed attempt.
   */
  async remove(caller: AuthenticatedUser, password: string, totp: string, meta: RequestMeta): Promise<void> {
    const user = await this.localUser(caller);
    if (!mfaEnrolled(user)) throw conflict('MFA is not on');
    const outcome = await checkCredentials(
      this.users,
      { username: user.username, user, proof: { password }, secondFactor: totp, failureAction: 'login.failure' },
      meta,
      nowSeconds(),
    );
    if (outcome !== 'ok') {
      throw new AppError('FORBIDDEN', 'The password or the code is not correct', {
        details: [{ path: 'body', code: 'mismatch', message: 'password and a current code are required' }],
      });
    }
    await this.users.update(
      user.userId,
      { mfaSecret: undefined, mfaPendingSecret: undefined, mfaEnrolledAt: undefined, recoveryCodeHashes: undefined },
      context(caller, meta, 'mfa removed'),
    );
  }
}
