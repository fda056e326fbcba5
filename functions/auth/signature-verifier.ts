import type { AuthenticatedUser } from '#platform/auth-context';
import { AppError } from '#platform/errors';
import type { RequestMeta } from '#platform/request-meta';
import { isExternal } from '#users/model';
import type { UserStore } from '#users/store';
import { nowSeconds } from './clock';
import { checkCredentials } from './credentials';
import type { SignatureInput, SignatureMethod, SignatureVerifier, VerifiedSigner } from './signatures';

const required = (message: string, path?: string) =>
  new AppError('SIGNATURE_REQUIRED', message, {
    ...(path ? { details: [{ path, code: 'required', message: 'required to sign' }] } : {}),
  });

const invalid = () => new AppError('SIGNATURE_INVALID', 'The signature credentials are not correct');

/**
 * The signer proves who they are at the moment of signing, as the caller of the request: a local user with their
 * password (and a TOTP or recovery code when enrolled in MFA), an SSO user with a one-time ticket from a fresh SSO
 * sign-in. Every check runs through the login lockout (`checkCredentials`): a wrong signature is a failed login for
 * the signer's username and source address, and repeated ones lock it (423).
 */
export class AuthSignatureVerifier implements SignatureVerifier {
  constructor(private readonly users: UserStore) {}

  async verify(
    caller: AuthenticatedUser,
    signature: SignatureInput | undefined,
    meta: RequestMeta,
  ): Promise<VerifiedSigner> {
    if (!signature) throw required('This decision needs an electronic signature', 'body.signature');
    const user = await this.users.getById(caller.userId);
    const external = user !== undefined && isExternal(user);
    if (external && !signature.ticket) {
      throw required('SSO users sign with a ticket from a fresh SSO sign-in (purpose=sign)', 'body.signature.ticket');
    }
    if (!external && !signature.password) throw required('Signing needs your password', 'body.signature.password');

    const now = nowSeconds();
    const outcome = await checkCredentials(
      this.users,
      {
        username: user?.username ?? caller.username,
        user,
        proof: external ? { ticket: signature.ticket as string } : { password: signature.password as string },
        ...(signature.totp !== undefined ? { secondFactor: signature.totp } : {}),
        failureAction: 'signature.failure',
      },
      meta,
      now,
    );
    if (outcome === 'second-factor-missing') {
      throw required('Signing needs your authenticator code (or a recovery code)', 'body.signature.totp');
    }
    if (outcome !== 'ok' || !user) throw invalid();

    const method: SignatureMethod = external ? 'sso' : user.mfaEnrolledAt ? 'password+totp' : 'password';
    return {
      signer: { userId: user.userId, username: user.username, displayName: user.displayName ?? null },
      method,
      at: new Date().toISOString(),
    };
  }
}

/** The verifier as the functions that take signatures use it. */
export function signatureVerifier(users: UserStore): SignatureVerifier {
  return new AuthSignatureVerifier(users);
}
