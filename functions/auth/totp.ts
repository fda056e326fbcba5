import { createHash, randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/**
 * TOTP as RFC 6238 defines it with the parameters every authenticator app defaults to: HMAC-SHA-1, 6 digits,
 * 30-second steps. A code is accepted for the step it was made in and one step either side (clock drift);
 * which step matched is returned, so the caller can refuse a code of a step already used (replay).
 */
export const TOTP_PARAMS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
/** Steps either side of the current one that are still accepted. */
export const TOTP_WINDOW = 1;

const CODE_SHAPE = /^\d{6}$/;

/** A new shared secret: 160 bits (RFC 4226 §4 recommends it), base32 as authenticator apps read it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The `otpauth://` URI an authenticator app reads (as a QR code or typed in). */
export function otpauthUri(secretBase32: string, username: string, issuer: string): string {
  return new TOTP({ issuer, label: username, secret: Secret.fromBase32(secretBase32), ...TOTP_PARAMS }).toString();
}

/** The code of the step that `timestampMs` falls in. */
export function totpAt(secret: Secret, timestampMs: number): string {
  return TOTP.generate({ secret, timestamp: timestampMs, ...TOTP_PARAMS });
}

/** The 30-second step of a time (epoch ms). */
export const totpStep = (timestampMs: number) => Math.floor(timestampMs / 1000 / TOTP_PARAMS.period);

/**
 * The time step whose code `code` is, within ±TOTP_WINDOW steps of `timestampMs`; undefined for a wrong code or
 * anything that is not six digits.
 */
export function matchingTotpStep(secretBase32: string, code: string, timestampMs: number): number | undefined {
  if (!CODE_SHAPE.test(code)) return undefined;
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secretBase32),
    timestamp: timestampMs,
    window: TOTP_WINDOW,
    ...TOTP_PARAMS,
  });
  return delta === null ? undefined : totpStep(timestampMs) + delta;
}

/** Whether a second-factor answer is shaped like a TOTP code (six digits) rather than a recovery code. */
export const looksLikeTotp = (answer: string) => CODE_SHAPE.test(answer.trim());

// Recovery codes: 80 random bits each, shown once, stored only as SHA-256 (high entropy: no KDF needed).

export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i: codes are typed off paper

/** Ten new recovery codes, `xxxx-xxxx-xxxx-xxxx` (16 characters of a 31-letter alphabet: ≈ 79 bits). */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = [...randomBytes(32)]
      .filter((b) => b < 248) // 248 = 8 × 31: no modulo bias
      .slice(0, 16)
      .map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]);
    return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join('')).join('-');
  });
}

/** The stored form of a recovery code; case, spaces and dashes as typed do not matter. */
export function recoveryCodeHash(code: string): string {
  const normal = code.toLowerCase().replace(/[\s-]/g, '');
  return createHash('sha256').update(`recovery:${normal}`).digest('hex');
}
