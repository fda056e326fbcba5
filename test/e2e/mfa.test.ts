import { Secret } from 'otpauth';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { totpAt } from '#auth/totp';
import { expectError } from '#test/support/assertions';
import { eventually } from '#test/support/eventually';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { freshIp, signIn } from '#test/support/security';
import { scanAll } from '#test/support/streams';
import { type Account, createAccount } from '#test/support/users';

/**
 * TOTP MFA through HTTP: enrolment, login with a code (each code once), recovery codes (each once), lockout for
 * wrong codes, removal, and the audit trail without secrets. The local server runs in this process, so moving
 * `Date` moves its clock too: each step of the test gets a fresh 30-second code.
 */

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(() => api.stop());
afterEach(() => {
  vi.useRealTimers();
});

/** A clock in the future that the test moves on by whole TOTP steps. */
function steppedClock() {
  let at = (Math.floor(Date.now() / 30_000) + 3000) * 30_000 + 5_000;
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  return {
    next() {
      at += 30_000;
      vi.setSystemTime(at);
    },
  };
}

const codeFor = (secret: string) => totpAt(Secret.fromBase32(secret), Date.now());

/** A six-digit code that no step within the accepted window produces now. */
function wrongCode(secret: string): string {
  const accepted = new Set([-30_000, 0, 30_000].map((d) => totpAt(Secret.fromBase32(secret), Date.now() + d)));
  return ['000000', '111111', '222222', '333333'].find((c) => !accepted.has(c)) as string;
}

const loginWith = (account: Account, fields: Record<string, unknown>, localAddress = freshIp()) =>
  api.request('/auth/login', {
    method: 'POST',
    body: { username: account.username, password: account.password, ...fields },
    localAddress,
  });

interface Enrolled {
  account: Account;
  secret: string;
  recoveryCodes: string[];
}

async function enrolled(clock: { next(): void }): Promise<Enrolled> {
  const account = await createAccount(api, ['operator'], 'mfa');
  const { accessToken: token } = await signIn(api, account);
  const started = await api.request('/users/me/mfa', { method: 'POST', token });
  expect(started.status, started.text).toBe(200);
  const { secret, otpauthUri } = started.json as { secret: string; otpauthUri: string };
  expect(otpauthUri).toContain(`secret=${secret}`);
  const confirmed = await api.request('/users/me/mfa/confirm', {
    method: 'POST',
    token,
    body: { totp: codeFor(secret) },
  });
  expect(confirmed.status, confirmed.text).toBe(200);
  const { recoveryCodes } = confirmed.json as { recoveryCodes: string[] };
  expect(recoveryCodes).toHaveLength(10);
  clock.next(); // the confirming code is spent
  return { account, secret, recoveryCodes };
}

describe('enrolment', () => {
  it('start → secret once; a wrong code does not confirm; the right one does; starting again is 409', async () => {
    const clock = steppedClock();
    const account = await createAccount(api, ['viewer'], 'mfa-enrol');
    const { accessToken: token } = await signIn(api, account);
    expectError(
      await api.request('/users/me/mfa/confirm', { method: 'POST', token, body: { totp: '123456' } }),
      409,
      'CONFLICT',
    );
    const { secret } = (await api.request('/users/me/mfa', { method: 'POST', token })).json as { secret: string };
    expectError(
      await api.request('/users/me/mfa/confirm', { method: 'POST', token, body: { totp: wrongCode(secret) } }),
      422,
      'VALIDATION_ERROR',
    );
    // Not on yet: the password alone still signs in.
    expect((await loginWith(account, {})).status).toBe(200);
    const ok = await api.request('/users/me/mfa/confirm', { method: 'POST', token, body: { totp: codeFor(secret) } });
    expect(ok.status, ok.text).toBe(200);
    expectError(await api.request('/users/me/mfa', { method: 'POST', token }), 409, 'CONFLICT');
    // The secret is never shown again.
    const me = await api.request('/users/me', { token });
    expect(me.text).not.toContain(secret);
    clock.next();
  });
});

describe('login with MFA on', () => {
  it('no code → 401 MFA_REQUIRED; a wrong code → 401 MFA_REQUIRED; the current code → tokens', async () => {
    const clock = steppedClock();
    const { account, secret } = await enrolled(clock);
    const missing = expectError(await loginWith(account, {}), 401, 'MFA_REQUIRED');
    expect(missing.details).toEqual([expect.objectContaining({ path: 'body.totp' })]);
    expectError(await loginWith(account, { totp: wrongCode(secret) }), 401, 'MFA_REQUIRED');
    // A wrong password with a right code is the plain 401: the code says nothing about the password.
    expectError(
      await loginWith({ ...account, password: 'wrong-password-1' }, { totp: codeFor(secret) }),
      401,
      'UNAUTHORIZED',
    );
    const ok = await loginWith(account, { totp: codeFor(secret) });
    expect(ok.status, ok.text).toBe(200);
  });

  it('a code works once: the same code again (replay), even from elsewhere, is refused', async () => {
    const clock = steppedClock();
    const { account, secret } = await enrolled(clock);
    const code = codeFor(secret);
    expect((await loginWith(account, { totp: code })).status).toBe(200);
    expectError(await loginWith(account, { totp: code }), 401, 'MFA_REQUIRED');
    // Nor the previous step's code once a newer one was used.
    const previous = codeFor(secret);
    clock.next();
    expect((await loginWith(account, { totp: codeFor(secret) })).status).toBe(200);
    if (previous !== codeFor(secret)) expectError(await loginWith(account, { totp: previous }), 401, 'MFA_REQUIRED');
  });

  it('a code of the step before or after is accepted (clock drift), two steps away is not', async () => {
    const clock = steppedClock();
    const { account, secret } = await enrolled(clock);
    const ahead = totpAt(Secret.fromBase32(secret), Date.now() + 30_000);
    expect((await loginWith(account, { totp: ahead })).status).toBe(200);
    clock.next();
    clock.next();
    clock.next();
    const twoBehind = totpAt(Secret.fromBase32(secret), Date.now() - 60_000);
    if (twoBehind !== codeFor(secret)) expectError(await loginWith(account, { totp: twoBehind }), 401, 'MFA_REQUIRED');
  });

  it('wrong codes count towards the lockout (5 → 423); missing codes do not', async () => {
    const clock = steppedClock();
    const { account, secret } = await enrolled(clock);
    const ip = freshIp();
    for (let i = 0; i < 8; i++) expectError(await loginWith(account, {}, ip), 401, 'MFA_REQUIRED');
    expect((await loginWith(account, { totp: codeFor(secret) }, ip)).status).toBe(200);
    clock.next();
    for (let i = 0; i < 5; i++)
      expectError(await loginWith(account, { totp: wrongCode(secret) }, ip), 401, 'MFA_REQUIRED');
    expectError(await loginWith(account, { totp: codeFor(secret) }, ip), 423, 'ACCOUNT_LOCKED');
  });

  it('a recovery code signs in once, in place of the code', async () => {
    const clock = steppedClock();
    const { account, recoveryCodes } = await enrolled(clock);
    const code = recoveryCodes[0] as string;
    expect((await loginWith(account, { totp: code.toUpperCase() })).status).toBe(200);
    expectError(await loginWith(account, { totp: code }), 401, 'MFA_REQUIRED');
    expect((await loginWith(account, { totp: recoveryCodes[1] })).status).toBe(200);
  });
});

describe('removal and the audit trail', () => {
  it('removal needs password and a current code (403 otherwise); then the password alone signs in again', async () => {
    const clock = steppedClock();
    const { account, secret, recoveryCodes } = await enrolled(clock);
    const login = await loginWith(account, { totp: codeFor(secret) });
    const token = (login.json as { accessToken: string }).accessToken;
    clock.next();
    expectError(
      await api.request('/users/me/mfa', {
        method: 'DELETE',
        token,
        body: { password: account.password, totp: wrongCode(secret) },
      }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await api.request('/users/me/mfa', {
        method: 'DELETE',
        token,
        body: { password: 'not-my-password', totp: codeFor(secret) },
      }),
      403,
      'FORBIDDEN',
    );
    const removed = await api.request('/users/me/mfa', {
      method: 'DELETE',
      token,
      body: { password: account.password, totp: codeFor(secret) },
    });
    expect(removed.status, removed.text).toBe(204);
    expect((await loginWith(account, {})).status).toBe(200);
    expectError(
      await api.request('/users/me/mfa', {
        method: 'DELETE',
        token,
        body: { password: account.password, totp: '123456' },
      }),
      409,
      'CONFLICT',
    );

    // mfa.enrol and mfa.remove are on the user's audit trail; no secret, code or hash is.
    const records = await eventually(async () => {
      const items = (await scanAll('audit')).filter((i) => i.entityKey === `user#${account.userId}`);
      const actions = items.map((i) => i.action);
      expect(actions).toContain('mfa.enrol');
      expect(actions).toContain('mfa.remove');
      return items;
    });
    const text = JSON.stringify(records);
    expect(text).not.toContain(secret);
    for (const code of recoveryCodes) expect(text).not.toContain(code);
    expect(text).not.toMatch(/[0-9a-f]{64}"\]/); // no list of recovery-code hashes
    const enrol = records.find((r) => r.action === 'mfa.enrol') as {
      changes: Record<string, { from: unknown; to: unknown }>;
    };
    expect(enrol.changes.mfaSecret?.to).toBe('[REDACTED]');
    expect(enrol.changes.recoveryCodeHashes?.to).toBe('[REDACTED]');
  });

  it('the MFA routes need a token', async () => {
    expectError(await api.request('/users/me/mfa', { method: 'POST' }), 401, 'UNAUTHORIZED');
  });
});
