import { dictionary } from '@zxcvbn-ts/language-common';
import { describe, expect, it } from 'vitest';
import { commonPasswordList } from '#scripts/generate-common-passwords';
import { COMMON_PASSWORDS } from '#users/common-passwords';
import { isCommonPassword, PASSWORD_MIN_LENGTH, passwordPolicyViolations } from '#users/passwords';

/** The policy's common-password check uses a generated extract of zxcvbn-ts' list (scripts/generate-common-passwords.ts). */
describe('common-password list', () => {
  it('is what the generator makes of the installed package (else run `npx tsx scripts/generate-common-passwords.ts`)', () => {
    expect(COMMON_PASSWORDS).toEqual(commonPasswordList());
    expect(COMMON_PASSWORDS.length).toBeGreaterThan(100);
  });

  it('refuses every entry of the full list that the length rule lets through, in any case', () => {
    const longEnough = dictionary['passwords-common'].filter(
      (p): p is string => typeof p === 'string' && p.length >= PASSWORD_MIN_LENGTH,
    );
    expect(longEnough.length).toBeGreaterThan(100);
    for (const password of longEnough) {
      expect(isCommonPassword(password), password).toBe(true);
      expect(isCommonPassword(password.toUpperCase()), password).toBe(true);
    }
  });

  it('the policy reports a common password and accepts an uncommon one', () => {
    expect(passwordPolicyViolations('1qaz2wsx3edc', 'someone')).toEqual(['is too common']);
    expect(passwordPolicyViolations('1QAZ2WSX3EDC', 'someone')).toEqual(['is too common']);
    expect(passwordPolicyViolations('correct horse battery staple', 'someone')).toEqual([]);
    // Short entries of the list fail the length rule, not the list.
    expect(passwordPolicyViolations('password', 'someone')).toEqual([
      `must be at least ${PASSWORD_MIN_LENGTH} characters`,
    ]);
  });
});
