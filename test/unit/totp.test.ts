import { Secret } from 'otpauth';
import { describe, expect, it } from 'vitest';
import {
  looksLikeTotp,
  matchingTotpStep,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
  RECOVERY_CODE_COUNT,
  recoveryCodeHash,
  totpAt,
  totpStep,
} from '#auth/totp';
import { newTemporaryPassword, nextPasswordHistory, passwordPolicyViolations } from '#users/passwords';

/**
 * RFC 6238 Appendix B, the SHA-1 rows: the 8-digit codes there end in the 6-digit codes we use (dynamic truncation
 * takes the code modulo 10^digits), for the ASCII secret "12345678901234567890".
 */
const RFC_SECRET = Secret.fromUTF8('12345678901234567890');
const VECTORS: [seconds: number, code: string][] = [
  [59, '287082'],
  [1111111109, '081804'],
  [1111111111, '050471'],
  [1234567890, '005924'],
  [2000000000, '279037'],
  [20000000000, '353130'],
];

describe('TOTP (RFC 6238, SHA-1, 6 digits, 30 s)', () => {
  it.each(VECTORS)('at %i s the code is %s', (seconds, code) => {
    expect(totpAt(RFC_SECRET, seconds * 1000)).toBe(code);
  });

  it.each(VECTORS)('at %i s, %s matches the current step; one step either side too, two steps not', (seconds, code) => {
    const base32 = RFC_SECRET.base32;
    const ms = seconds * 1000;
    expect(matchingTotpStep(base32, code, ms)).toBe(totpStep(ms));
    expect(matchingTotpStep(base32, code, ms + 30_000)).toBe(totpStep(ms));
    expect(matchingTotpStep(base32, code, ms - 30_000)).toBe(totpStep(ms));
    expect(matchingTotpStep(base32, code, ms + 60_000)).toBeUndefined();
    expect(matchingTotpStep(base32, code, ms - 60_000)).toBeUndefined();
  });

  it('anything but six digits never matches', () => {
    const base32 = RFC_SECRET.base32;
    for (const code of ['', '28708', '2870822', '94287082', ' 287082x', 'abcdef', '28708２']) {
      expect(matchingTotpStep(base32, code, 59_000), code).toBeUndefined();
    }
    expect(looksLikeTotp(' 287082 ')).toBe(true);
    expect(looksLikeTotp('abcd-efgh-jkmn-pqrs')).toBe(false);
  });

  it('new secrets are 160 bits of base32, and the otpauth URI names issuer, account and parameters', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
    const uri = new URL(otpauthUri(secret, 'qa.lead', 'Charge Records'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Charge Records');
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
    expect(decodeURIComponent(uri.pathname)).toContain('qa.lead');
  });
});

describe('recovery codes', () => {
  it('ten distinct codes of 16 characters; the hash ignores case, spaces and dashes', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
    const code = codes[0] as string;
    expect(recoveryCodeHash(code.toUpperCase().replace(/-/g, ' '))).toBe(recoveryCodeHash(code));
    expect(recoveryCodeHash(code)).not.toContain(code.replace(/-/g, ''));
    expect(recoveryCodeHash(code)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('password history and temporary passwords', () => {
  it('the history keeps the previous hashes so that, with the current one, PASSWORD_HISTORY are remembered', () => {
    const user = { passwordHash: 'h5', passwordHistory: ['h4', 'h3', 'h2', 'h1'] };
    expect(nextPasswordHistory(user, 5)).toEqual(['h5', 'h4', 'h3', 'h2']);
    expect(nextPasswordHistory(user, 1)).toEqual([]);
    expect(nextPasswordHistory({ passwordHash: 'h1' }, 5)).toEqual(['h1']);
  });

  it('a temporary password is never remembered', () => {
    const user = { passwordHash: 'temp', passwordHistory: ['h2', 'h1'], passwordChangeRequired: true };
    expect(nextPasswordHistory(user, 5)).toEqual(['h2', 'h1']);
  });

  it('temporary passwords are random and pass the password policy', () => {
    const passwords = new Set(Array.from({ length: 50 }, () => newTemporaryPassword()));
    expect(passwords.size).toBe(50);
    for (const p of passwords) {
      expect(p).toMatch(/^[A-HJ-NP-Za-km-z2-9]{20}$/);
      expect(passwordPolicyViolations(p, 'someone')).toEqual([]);
    }
  });
});
