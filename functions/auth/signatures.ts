import * as z from '#platform/zod';
import type { AuthenticatedUser } from '#platform/auth-context';
import type { RequestMeta } from '#platform/request-meta';

/**
 * Electronic signatures on QA decisions and reviews: the signer proves who they are at the moment of signing
 * (password, plus TOTP when enrolled; SSO users a one-time ticket from a fresh SSO sign-in), and the signature
 * names its meaning and the hash of the version it signs, so it cannot be copied onto another record.
 */
export const SIGNATURE_MEANINGS = ['approved_for_release', 'rejected', 'blocked', 'reviewed'] as const;
export type SignatureMeaning = (typeof SIGNATURE_MEANINGS)[number];

export const SignatureInput = z
  .strictObject({
    meaning: z.enum(SIGNATURE_MEANINGS),
    password: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    totp: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    ticket: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
  })
  .check(
    z.meta({
      id: 'SignatureInput',
      description: 'Credentials given at the moment of signing, and what the signature means',
    }),
  );
export type SignatureInput = z.infer<typeof SignatureInput>;

export type SignatureMethod = 'password' | 'password+totp' | 'sso';

export interface Signer {
  userId: string;
  username: string;
  displayName: string | null;
}

/** The signature as it is kept on the record, in history, audit and the Chargenbericht. */
export interface SignatureRecord {
  signer: Signer;
  meaning: SignatureMeaning;
  /** ISO-8601 UTC time of signing. */
  at: string;
  method: SignatureMethod;
  /** SHA-256 (hex) of the signed version's content: binds the signature to exactly that version. */
  versionHash: string;
}

/** Who signed, how and when: what the verifier vouches for; the caller adds meaning and versionHash. */
export interface VerifiedSigner {
  signer: Signer;
  method: SignatureMethod;
  at: string;
}

/**
 * Checks the signer's credentials at the moment of signing. Throws SIGNATURE_REQUIRED (403) when no signature
 * is given, SIGNATURE_INVALID (403) when the password, code or ticket is wrong — counted as a failed login for
 * the lockout — and ACCOUNT_LOCKED (423) while the signer is locked out.
 */
export interface SignatureVerifier {
  verify(caller: AuthenticatedUser, signature: SignatureInput | undefined, meta: RequestMeta): Promise<VerifiedSigner>;
}
