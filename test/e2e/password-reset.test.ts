import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RESET_LINK_SECONDS } from '#auth/password-reset';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { stubEnvForAll } from '#test/support/env';
import { eventually } from '#test/support/eventually';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { decodeJwt, freshIp, signIn } from '#test/support/security';
import { scanAll } from '#test/support/streams';
import { type Account, createAccount } from '#test/support/users';

/**
 * Passwords after sign-in: the history, an administrator's reset (a temporary password that signs in once and can
 * only be replaced), and the self-service reset by e-mailed link (one-time, 30 minutes, no enumeration).
 */

// A low per-address limit for the rate-limit case; every other request comes from an address of its own.
stubEnvForAll({ LOGIN_RATE_LIMIT_PER_MINUTE: '4', PASSWORD_HISTORY: '3' });

let api: LocalApi;
let admin: string;
beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(() => api.stop());
afterEach(() => {
  vi.useRealTimers();
});

let passwordCounter = 0;
const newPassword = () => `a fresh passphrase ${Date.now()} ${++passwordCounter}`;

const loginAs = (username: string, password: string) =>
  api.request('/auth/login', { method: 'POST', body: { username, password }, localAddress: freshIp() });

const changePassword = (token: string, currentPassword: string, next: string) =>
  api.request('/users/me/password', { method: 'POST', token, body: { currentPassword, newPassword: next } });

const outbox = () => join(process.env.LOCAL_STATE_DIR as string, 'outbox');
const mailsTo = (address: string) =>
  existsSync(outbox())
    ? readdirSync(outbox())
        .map((f) => readFileSync(join(outbox(), f), 'utf8'))
        .filter((m) => m.includes(`To: ${address}`))
    : [];

async function withEmail(prefix: string): Promise<Account & { email: string }> {
  const account = await createAccount(api, ['viewer'], prefix);
  const email = `${account.username}@example.com`;
  const res = await api.request(`/users/${account.userId}`, {
    method: 'PATCH',
    token: admin,
    body: { email, reason: 'Mail address for the reset test' },
  });
  expect(res.status, res.text).toBe(200);
  return { ...account, email };
}

const requestReset = (username: string, localAddress = freshIp()) =>
  api.request('/auth/password-reset/request', { method: 'POST', body: { username }, localAddress });

/** The token of the newest reset link mailed to `address`. */
function linkToken(address: string): string {
  const mails = mailsTo(address);
  const last = mails.at(-1) ?? '';
  const match = /\/console\/#\/reset\?token=([A-Za-z0-9_-]+)/.exec(last);
  expect(match, last).not.toBeNull();
  return match?.[1] as string;
}

const completeReset = (token: string, password: string) =>
  api.request('/auth/password-reset', {
    method: 'POST',
    body: { token, newPassword: password },
    localAddress: freshIp(),
  });

describe('password history', () => {
  // Each change checks up to PASSWORD_HISTORY Argon2id hashes: more time than the default on a busy machine.
  it(
    'a new password must differ from the last PASSWORD_HISTORY (3) passwords, the current one included',
    { timeout: 180_000 },
    async () => {
      const account = await createAccount(api, ['viewer'], 'hist');
      const { accessToken: token } = await signIn(api, account);
      const first = account.password;
      const second = newPassword();
      const third = newPassword();
      expectError(await changePassword(token, first, first), 422, 'VALIDATION_ERROR');
      expect((await changePassword(token, first, second)).status).toBe(204);
      expect((await changePassword(token, second, third)).status).toBe(204);
      for (const old of [first, second, third]) {
        const refused = expectError(await changePassword(token, third, old), 422, 'VALIDATION_ERROR');
        expect(JSON.stringify(refused.details)).toMatch(/last 3 passwords/);
      }
      // The fourth back is forgotten.
      const fourth = newPassword();
      expect((await changePassword(token, third, fourth)).status).toBe(204);
      expect((await changePassword(token, fourth, first)).status).toBe(204);
    },
  );
});

describe("an administrator's reset", () => {
  it('needs users:manage and a reason', async () => {
    const account = await createAccount(api, ['viewer'], 'reset-perm');
    const { accessToken: token } = await signIn(api, account);
    const path = `/users/${account.userId}/password-reset`;
    expectError(await api.request(path, { method: 'POST', token, body: { reason: 'I want in' } }), 403, 'FORBIDDEN');
    expectError(await api.request(path, { method: 'POST', token: admin, body: {} }), 422, 'VALIDATION_ERROR');
    expectError(
      await api.request(path, { method: 'POST', token: admin, body: { reason: ' x ' } }),
      422,
      'VALIDATION_ERROR',
    );
  });

  it(
    'temporary password: every session ends; it signs in once, only to set a new password',
    { timeout: 120_000 },
    async () => {
      const account = await createAccount(api, ['quality_manager'], 'reset');
      const before = await signIn(api, account);
      const res = await api.request(`/users/${account.userId}/password-reset`, {
        method: 'POST',
        token: admin,
        body: { reason: 'Forgot password, ticket IT-77' },
      });
      expect(res.status, res.text).toBe(200);
      const { temporaryPassword } = res.json as { temporaryPassword: string };

      // Every session ended, and the old password is gone.
      expectError(await api.request('/users/me', { token: before.accessToken }), 401, 'UNAUTHORIZED');
      expectError(await loginAs(account.username, account.password), 401, 'UNAUTHORIZED');

      // The temporary password signs in, marked; its token reaches only the password change, /users/me and logout.
      const login = await loginAs(account.username, temporaryPassword);
      expect(login.status, login.text).toBe(200);
      const token = (login.json as { accessToken: string }).accessToken;
      expect(decodeJwt(token).payload.password_change_required).toBe(true);
      expect((await api.request('/users/me', { token })).status).toBe(200);
      for (const [method, path] of [
        ['GET', '/charges'],
        ['PATCH', '/users/me'],
        ['GET', '/users/me/sessions'],
        ['POST', '/users/me/mfa'],
        ['GET', '/audit'],
      ] as const) {
        const refused = await api.request(path, {
          method,
          token,
          ...(method === 'PATCH' ? { body: { displayName: 'x' } } : {}),
        });
        expectError(refused, 403, 'PASSWORD_CHANGE_REQUIRED');
      }
      expectError(await api.request('/no/such/route', { token }), 404, 'NOT_FOUND');

      // Once: a second sign-in with it fails like a wrong password.
      expectError(await loginAs(account.username, temporaryPassword), 401, 'UNAUTHORIZED');

      // The old password is in the history; a new one lifts the restriction on this very token.
      expectError(await changePassword(token, temporaryPassword, account.password), 422, 'VALIDATION_ERROR');
      const chosen = newPassword();
      expect((await changePassword(token, temporaryPassword, chosen)).status).toBe(204);
      expect((await api.request('/charges', { token })).status).toBe(200);
      const fresh = await loginAs(account.username, chosen);
      expect(fresh.status).toBe(200);
      expect(
        decodeJwt((fresh.json as { accessToken: string }).accessToken).payload.password_change_required,
      ).toBeUndefined();

      // The audit trail has the reset with its reason, and neither password nor hash.
      const records = await eventually(async () => {
        const items = (await scanAll('audit')).filter((i) => i.entityKey === `user#${account.userId}`);
        const reset = items.find((i) => i.action === 'password.reset');
        expect(reset).toBeDefined();
        return { items, reset: reset as { reason?: string } };
      });
      expect(records.reset.reason).toBe('Forgot password, ticket IT-77');
      const text = JSON.stringify(records.items);
      expect(text).not.toContain(temporaryPassword);
      expect(text).not.toContain(chosen);
      expect(text).not.toContain('$argon2id$');
    },
  );
});

describe('self-service reset by e-mail', () => {
  it('the link sets a new password once; every session ends; the old password no longer works', async () => {
    const account = await withEmail('self');
    const session = await signIn(api, account);
    expect((await requestReset(account.username)).status).toBe(202);
    const token = linkToken(account.email);
    const mail = mailsTo(account.email).at(-1) as string;
    expect(mail).toMatch(/30 minutes/);

    // The policy is checked first; a refused password leaves the link usable.
    expectError(await completeReset(token, 'short'), 422, 'VALIDATION_ERROR');
    expectError(await completeReset(token, account.password), 422, 'VALIDATION_ERROR');
    const chosen = newPassword();
    expect((await completeReset(token, chosen)).status).toBe(204);

    const again = expectError(await completeReset(token, newPassword()), 422, 'VALIDATION_ERROR');
    expect(again.details).toEqual([expect.objectContaining({ path: 'body.token' })]);
    expectError(await api.request('/users/me', { token: session.accessToken }), 401, 'UNAUTHORIZED');
    expectError(await loginAs(account.username, account.password), 401, 'UNAUTHORIZED');
    expect((await loginAs(account.username, chosen)).status).toBe(200);
  });

  it('a link is dead after 30 minutes, even while its item is still stored', async () => {
    const account = await withEmail('expiry');
    expect((await requestReset(account.username)).status).toBe(202);
    const token = linkToken(account.email);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (RESET_LINK_SECONDS + 1) * 1000);
    expectError(await completeReset(token, newPassword()), 422, 'VALIDATION_ERROR');
    vi.useRealTimers();
    expect((await loginAs(account.username, account.password)).status).toBe(200);
  });

  it('no enumeration: unknown user, user without e-mail, disabled user — the same 202, and no mail', async () => {
    const known = await withEmail('enum');
    const noMail = await createAccount(api, ['viewer'], 'nomail');
    const disabled = await withEmail('gone');
    await api.request(`/users/${disabled.userId}`, {
      method: 'DELETE',
      token: admin,
      body: { reason: 'Left the company' },
    });
    const answers = await Promise.all(
      [known.username, 'no-such-user-anywhere', noMail.username, disabled.username].map((u) => requestReset(u)),
    );
    for (const res of answers) {
      expect(res.status).toBe(202);
      expect(res.text).toBe('');
    }
    const shape = (res: (typeof answers)[number]) =>
      Object.keys(res.headers)
        .filter((h) => !['date', 'x-request-id', 'content-length'].includes(h))
        .sort();
    for (const res of answers) expect(shape(res)).toEqual(shape(answers[0] as (typeof answers)[number]));
    expect(mailsTo(known.email)).toHaveLength(1);
    expect(mailsTo(disabled.email)).toHaveLength(0);
  });

  it('guessed tokens and garbage are refused alike', async () => {
    for (const token of ['A'.repeat(43), 'not a token', 'x']) {
      expectError(await completeReset(token, newPassword()), 422, 'VALIDATION_ERROR');
    }
  });

  it('requests are limited per source address (429 with Retry-After)', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await requestReset(`nobody-${i}`, ip);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 4)).toEqual([202, 202, 202, 202]);
    expect(statuses.at(-1)).toBe(429);
    expect(last?.headers['retry-after']).toMatch(/^\d+$/);
  });
});

describe('usernames are never reassigned', () => {
  it("a disabled user's username is 409, naming the user to re-enable", async () => {
    const account = await createAccount(api, ['viewer'], 'reuse');
    await api.request(`/users/${account.userId}`, { method: 'DELETE', token: admin, body: { reason: 'Left' } });
    const res = await api.request('/users', {
      method: 'POST',
      token: admin,
      body: { username: account.username, password: newPassword(), roles: ['viewer'], reason: 'Rehired' },
    });
    const error = expectError(res, 409, 'CONFLICT');
    expect(error.details).toEqual([
      expect.objectContaining({
        path: 'body.username',
        code: 'username_of_disabled_user',
        message: expect.stringContaining(account.userId),
      }),
    ]);
    // Re-enabling is the way back.
    const enabled = await api.request(`/users/${account.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { disabled: false, reason: 'Rehired' },
    });
    expect(enabled.status).toBe(200);
  });

  it('user-admin changes need a reason; it is kept on the audit record', async () => {
    const account = await createAccount(api, ['viewer'], 'why');
    expectError(
      await api.request(`/users/${account.userId}`, {
        method: 'PATCH',
        token: admin,
        body: { displayName: 'No reason' },
      }),
      422,
      'VALIDATION_ERROR',
    );
    // DELETE without a body is a malformed request; with one that has no reason, a validation error.
    expectError(await api.request(`/users/${account.userId}`, { method: 'DELETE', token: admin }), 400, 'BAD_REQUEST');
    expectError(
      await api.request(`/users/${account.userId}`, { method: 'DELETE', token: admin, body: {} }),
      422,
      'VALIDATION_ERROR',
    );
    expectError(
      await api.request('/users', {
        method: 'POST',
        token: admin,
        body: { username: 'no-reason-user', password: newPassword(), roles: [] },
      }),
      422,
      'VALIDATION_ERROR',
    );
    const res = await api.request(`/users/${account.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { roles: ['auditor'], reason: 'Moves to QA audit' },
    });
    expect(res.status).toBe(200);
    const change = await eventually(async () => {
      const items = (await scanAll('audit')).filter((i) => i.entityKey === `user#${account.userId}`);
      const record = items.find((i) => i.action === 'role.change');
      expect(record).toBeDefined();
      return record as { reason?: string };
    });
    expect(change.reason).toBe('Moves to QA audit');
  });
});
