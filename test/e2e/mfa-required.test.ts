import { Secret } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpAt } from '#auth/totp';
import { expectError } from '#test/support/assertions';
import { stubEnvForAll } from '#test/support/env';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { signIn } from '#test/support/security';
import { createAccount } from '#test/support/users';

/** MFA_REQUIRED_ROLES: users of those roles can do nothing but enrol (and read themselves, sign out) until they do. */

stubEnvForAll({ MFA_REQUIRED_ROLES: 'quality_manager,auditor' });

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(() => api.stop());

describe('MFA_REQUIRED_ROLES', () => {
  it('a quality manager without MFA: 403 MFA_ENROLMENT_REQUIRED everywhere but enrolment; enrolled, all works', async () => {
    const account = await createAccount(api, ['quality_manager'], 'mfa-req');
    const { accessToken: token } = await signIn(api, account);
    expectError(await api.request('/charges', { token }), 403, 'MFA_ENROLMENT_REQUIRED');
    expectError(
      await api.request('/users/me', { method: 'PATCH', token, body: { displayName: 'x' } }),
      403,
      'MFA_ENROLMENT_REQUIRED',
    );
    expectError(await api.request('/audit', { token }), 403, 'MFA_ENROLMENT_REQUIRED');
    expect((await api.request('/users/me', { token })).status).toBe(200);

    const started = await api.request('/users/me/mfa', { method: 'POST', token });
    expect(started.status, started.text).toBe(200);
    const { secret } = started.json as { secret: string };
    const confirmed = await api.request('/users/me/mfa/confirm', {
      method: 'POST',
      token,
      body: { totp: totpAt(Secret.fromBase32(secret), Date.now()) },
    });
    expect(confirmed.status, confirmed.text).toBe(200);
    // The very same token now reaches everything its roles allow.
    expect((await api.request('/charges', { token })).status).toBe(200);
  });

  it('roles not in the list are not asked to enrol', async () => {
    const account = await createAccount(api, ['operator'], 'mfa-free');
    const { accessToken: token } = await signIn(api, account);
    expect((await api.request('/charges', { token })).status).toBe(200);
  });
});
