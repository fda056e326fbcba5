/**
 * Fields that never reach an audit record: password hashes, token material and anything else
 * an attacker could replay or crack. The audit trail still shows *that* such a field changed — a password
 * change is an auditable event — but never its value.
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'password',
  'passwordHash',
  'currentPassword',
  'newPassword',
  'refreshToken',
  'refreshTokenHash',
  'accessToken',
  'token',
  'tokenHash',
  'tokensValidAfter',
  'tokensValidAfterExceptSession',
  'sessionId',
  'familyId',
  'secret',
  'apiKey',
  'privateKey',
  'mfaSecret',
  'mfaPendingSecret',
  'totpSecret',
  'totp',
  'recoveryCodes',
  'recoveryCode',
  'recoveryCodeHashes',
  'passwordHistory',
  'temporaryPassword',
  'ticket',
  'ticketHash',
]);

export const REDACTED = '[REDACTED]';

export function isSecretField(name: string): boolean {
  return SECRET_FIELDS.has(name) || /(password|secret|token)(hash)?$/i.test(name);
}

/** Deep copy with every secret field's value replaced, at any depth. */
export function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redact(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Set) && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretField(k) ? REDACTED : redact(v);
    return out as T;
  }
  return value;
}
