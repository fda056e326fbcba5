import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { Secret } from 'otpauth';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { consumeSignatureTicket, issueSignatureTicket } from '#auth/signature-tickets';
import { AuthSignatureVerifier, signatureVerifier } from '#auth/signature-verifier';
import type { SignatureInput } from '#auth/signatures';
import { newRecoveryCodes, newTotpSecret, recoveryCodeHash, totpAt } from '#auth/totp';
import type { AuthenticatedUser } from '#platform/auth-context';
import { config } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { AppError } from '#platform/errors';
import { permissionsFor } from '#platform/permissions';
import { tableName } from '#platform/tables';
import type { User } from '#users/model';
import { hashPassword } from '#users/passwords';
import { UserStore } from '#users/store';
import { createTables } from '#test/support/streams';

/**
 * The signature verifier against DynamoDB Local: passwords and codes through the login lockout, SSO tickets once.
 */

const users = new UserStore();
const verifier = signatureVerifier(users);
const system = { actor: { userId: 'system', username: 'test' } };
let ipCounter = 0;
const freshMeta = () => ({ requestId: `req-${randomBytes(4).toString('hex')}`, sourceIp: `203.0.113.${++ipCounter}` });

beforeAll(async () => {
  await createTables();
});

afterEach(() => {
  vi.useRealTimers();
});

async function localUser(
  options: { mfa?: boolean } = {},
): Promise<{ user: User; password: string; secret?: string; codes?: string[] }> {
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const user = await users.create(
    {
      username: `signer-${randomBytes(4).toString('hex')}`,
      passwordHash: await hashPassword(password),
      roles: ['quality_manager'],
      displayName: 'Q. Manager',
    },
    system,
  );
  if (!options.mfa) return { user, password };
  const secret = newTotpSecret();
  const codes = newRecoveryCodes();
  const enrolled = await users.update(
    user.userId,
    { mfaSecret: secret, mfaEnrolledAt: new Date().toISOString(), recoveryCodeHashes: codes.map(recoveryCodeHash) },
    system,
  );
  return { user: enrolled, password, secret, codes };
}

async function ssoUser(): Promise<User> {
  const id = randomBytes(4).toString('hex');
  return users.create(
    {
      username: `sso-${id}`,
      roles: [],
      source: 'oidc:https://idp.example.com',
      oidcIdentity: { issuer: 'https://idp.example.com', subject: id },
    },
    system,
  );
}

const callerOf = (user: User): AuthenticatedUser => ({
  userId: user.userId,
  username: user.username,
  roles: ['quality_manager'],
  permissions: permissionsFor(['quality_manager']),
});

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

/** A six-digit code that no step within the accepted window produces right now. */
function notACurrentCode(secret: string): string {
  const current = new Set([-30_000, 0, 30_000].map((d) => totpAt(Secret.fromBase32(secret), Date.now() + d)));
  return ['000000', '111111', '222222', '333333'].find((c) => !current.has(c)) as string;
}

const sign = (fields: Partial<SignatureInput>): SignatureInput => ({ meaning: 'approved_for_release', ...fields });

describe('local users sign with their password', () => {
  it('a right password → the signer, method password', async () => {
    const { user, password } = await localUser();
    const verified = await verifier.verify(callerOf(user), sign({ password }), freshMeta());
    expect(verified).toEqual({
      signer: { userId: user.userId, username: user.username, displayName: 'Q. Manager' },
      method: 'password',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('no signature → 403 SIGNATURE_REQUIRED; a signature without a password too', async () => {
    const { user } = await localUser();
    const missing = await refusal(verifier.verify(callerOf(user), undefined, freshMeta()));
    expect([missing.code, missing.status]).toEqual(['SIGNATURE_REQUIRED', 403]);
    const noPassword = await refusal(verifier.verify(callerOf(user), sign({}), freshMeta()));
    expect(noPassword.code).toBe('SIGNATURE_REQUIRED');
  });

  it('a wrong password → 403 SIGNATURE_INVALID', async () => {
    const { user } = await localUser();
    const err = await refusal(verifier.verify(callerOf(user), sign({ password: 'not-the-password' }), freshMeta()));
    expect([err.code, err.status]).toEqual(['SIGNATURE_INVALID', 403]);
  });

  it('five wrong signatures from one address lock the signer there: 423, even with the right password', async () => {
    const { user, password } = await localUser();
    const meta = freshMeta();
    for (let i = 0; i < config().LOGIN_MAX_FAILURES; i++) {
      const err = await refusal(verifier.verify(callerOf(user), sign({ password: `wrong-${i}` }), meta));
      expect(err.code).toBe('SIGNATURE_INVALID');
    }
    const lockedOut = await refusal(verifier.verify(callerOf(user), sign({ password }), meta));
    expect([lockedOut.code, lockedOut.status]).toEqual(['ACCOUNT_LOCKED', 423]);
    expect(lockedOut.headers['Retry-After']).toMatch(/^\d+$/);
    // The same lock as a login's: the username + address pair.
    const state = await documentDb().send(
      new GetCommand({ TableName: tableName('auth-state'), Key: { pk: `login#${user.username.toLowerCase()}` } }),
    );
    expect(
      Object.values((state.Item?.pairs ?? {}) as Record<string, { lockedUntil?: number }>)[0]?.lockedUntil,
    ).toBeGreaterThan(0);
  });

  it('a disabled signer with the right password is refused', async () => {
    const { user, password } = await localUser();
    await users.update(user.userId, { disabled: true }, system);
    const err = await refusal(verifier.verify(callerOf(user), sign({ password }), freshMeta()));
    expect(err.code).toBe('SIGNATURE_INVALID');
  });
});

describe('MFA-enrolled users sign with password and code', () => {
  it('password alone → SIGNATURE_REQUIRED; with the current code → method password+totp', async () => {
    const { user, password, secret } = await localUser({ mfa: true });
    const noCode = await refusal(verifier.verify(callerOf(user), sign({ password }), freshMeta()));
    expect(noCode.code).toBe('SIGNATURE_REQUIRED');
    const totp = totpAt(Secret.fromBase32(secret as string), Date.now());
    const verified = await verifier.verify(callerOf(user), sign({ password, totp }), freshMeta());
    expect(verified.method).toBe('password+totp');
  });

  it('a wrong code, and the same code a second time, → SIGNATURE_INVALID', async () => {
    const { user, password, secret } = await localUser({ mfa: true });
    const wrong = await refusal(
      verifier.verify(callerOf(user), sign({ password, totp: notACurrentCode(secret as string) }), freshMeta()),
    );
    expect(wrong.code).toBe('SIGNATURE_INVALID');
    const totp = totpAt(Secret.fromBase32(secret as string), Date.now());
    await verifier.verify(callerOf(user), sign({ password, totp }), freshMeta());
    const replay = await refusal(verifier.verify(callerOf(user), sign({ password, totp }), freshMeta()));
    expect(replay.code).toBe('SIGNATURE_INVALID');
  });

  it('a recovery code works in place of the code, once', async () => {
    const { user, password, codes } = await localUser({ mfa: true });
    const code = (codes as string[])[3] as string;
    await verifier.verify(callerOf(user), sign({ password, totp: code }), freshMeta());
    const again = await refusal(verifier.verify(callerOf(user), sign({ password, totp: code }), freshMeta()));
    expect(again.code).toBe('SIGNATURE_INVALID');
    expect((await users.getById(user.userId))?.recoveryCodeHashes).toHaveLength(9);
  });
});

describe('SSO users sign with a one-time ticket', () => {
  it('a fresh ticket → method sso; the same ticket again → SIGNATURE_INVALID', async () => {
    const user = await ssoUser();
    const { ticket, expiresIn } = await issueSignatureTicket(user.userId);
    expect(ticket.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url
    expect(expiresIn).toBe(config().SIGNATURE_MAX_AGE_SECONDS);
    const verified = await verifier.verify(callerOf(user), sign({ ticket }), freshMeta());
    expect(verified.method).toBe('sso');
    expect(verified.signer.username).toBe(user.username);
    const again = await refusal(verifier.verify(callerOf(user), sign({ ticket }), freshMeta()));
    expect(again.code).toBe('SIGNATURE_INVALID');
  });

  it('an SSO user without a ticket → SIGNATURE_REQUIRED (a password is no way for them)', async () => {
    const user = await ssoUser();
    const err = await refusal(verifier.verify(callerOf(user), sign({ password: 'anything-at-all' }), freshMeta()));
    expect(err.code).toBe('SIGNATURE_REQUIRED');
  });

  it("another user's ticket is refused, and stays usable by its owner", async () => {
    const owner = await ssoUser();
    const thief = await ssoUser();
    const { ticket } = await issueSignatureTicket(owner.userId);
    const err = await refusal(verifier.verify(callerOf(thief), sign({ ticket }), freshMeta()));
    expect(err.code).toBe('SIGNATURE_INVALID');
    expect(await consumeSignatureTicket(ticket, owner.userId)).toBe(true);
  });

  it('an expired ticket is refused although DynamoDB still holds it', async () => {
    const user = await ssoUser();
    const { ticket } = await issueSignatureTicket(user.userId);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (config().SIGNATURE_MAX_AGE_SECONDS + 1) * 1000);
    expect(await consumeSignatureTicket(ticket, user.userId)).toBe(false);
    vi.useRealTimers();
    // Still there (TTL deletes late): only the expiry check refused it.
    expect(await consumeSignatureTicket(ticket, user.userId)).toBe(true);
  });

  it('tickets are stored only as their hash', async () => {
    const user = await ssoUser();
    const { ticket } = await issueSignatureTicket(user.userId);
    const raw = await documentDb().send(
      new GetCommand({ TableName: tableName('auth-state'), Key: { pk: `sigticket#${ticket}` } }),
    );
    expect(raw.Item).toBeUndefined();
    expect(await consumeSignatureTicket('x'.repeat(43), user.userId)).toBe(false);
  });

  it('the class and the factory are the same verifier', () => {
    expect(signatureVerifier(users)).toBeInstanceOf(AuthSignatureVerifier);
  });
});
