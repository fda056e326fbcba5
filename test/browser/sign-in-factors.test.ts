import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOTP } from 'otpauth';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetOidcVerifiers } from '#auth/oidc';
import { resetSsoDiscovery } from '#auth/sso';
import { resetConfig } from '#platform/config';
import { login } from '#test/support/auth';
import {
  consoleUser,
  expectAccessible,
  expectNoTokenExposed,
  launchBrowser,
  openConsole,
  screenshot,
} from '#test/support/browser';
import { startLocalApi, type LocalApi } from '#test/support/local-api';
import { startTestIdp, type TestIdp } from '#test/support/oidc-provider';

/** Sign-in beyond the password: the second factor, SSO against a real OpenID provider, and the mailed reset link. */
let api: LocalApi;
let browser: Browser;
let idp: TestIdp;

beforeAll(async () => {
  api = await startLocalApi();
  idp = await startTestIdp({ redirectUris: [`${api.url}/auth/sso/callback`] });
  idp.addAccount('qa-lead', { roles: ['plant-qa'], preferredUsername: 'qa.lead.sso' });
  vi.stubEnv(
    'OIDC_PROVIDERS',
    JSON.stringify([
      idp.providerEntry({ id: 'plant', displayName: 'Werk-Login', roleMap: { 'plant-qa': ['quality_manager'] } }),
    ]),
  );
  vi.stubEnv('OIDC_CLIENT_SECRET_PLANT', idp.clientSecret);
  resetConfig();
  resetOidcVerifiers();
  resetSsoDiscovery();
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await idp?.stop();
  vi.unstubAllEnvs();
  resetConfig();
  resetOidcVerifiers();
  resetSsoDiscovery();
});

describe('console sign-in factors', { timeout: 120_000 }, () => {
  it('asks for the TOTP code of an enrolled user and signs in with it', async () => {
    // Prepare: a user with a confirmed second factor, enrolled through the API
    const user = await consoleUser(api, ['viewer'], 'totp');
    const token = (await login(api, user.username, user.password)).accessToken;
    const enrol = await api.request('/users/me/mfa', { method: 'POST', token, body: {} });
    expect(enrol.status, enrol.text).toBe(200);
    const totp = new TOTP({ secret: (enrol.json as { secret: string }).secret, digits: 6, period: 30 });
    const confirm = await api.request('/users/me/mfa/confirm', {
      method: 'POST',
      token,
      body: { totp: totp.generate() },
    });
    expect(confirm.status, confirm.text).toBe(200);
    const { context, page, problems } = await openConsole(browser, api);

    // Act: password first; the code step follows
    await page.getByLabel(/^Benutzername/).fill(user.username);
    await page.getByLabel(/^Passwort/).fill(user.password);
    await page.getByRole('button', { name: 'Anmelden' }).click();
    const code = page.getByLabel(/^Einmalcode/);
    await code.waitFor();
    await expectAccessible(page, 'TOTP step');
    // The next step's code: the one used to confirm is spent, and a code works once.
    await code.fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole('button', { name: 'Anmelden' }).click();

    // Assess
    await page.getByRole('navigation').waitFor();
    await expectNoTokenExposed(page);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('signs in with SSO at the test identity provider and lands in the console with the mapped role', async () => {
    // Prepare
    const { context, page, problems } = await openConsole(browser, api);

    // Act: the provider's button, its own login form, back to the console
    await page.getByRole('link', { name: 'Anmelden mit Werk-Login' }).click();
    await page.locator('input[name="login"]').fill('qa-lead');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();

    // Assess: signed in as the SSO user; a QA manager's navigation; no token anywhere the page can read
    await page.getByRole('navigation').waitFor();
    await page.getByText('qa.lead.sso').first().waitFor();
    await page.getByRole('link', { name: 'Berichte' }).waitFor();
    expect(page.url()).toContain('/console/');
    await expectNoTokenExposed(page);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('sets a new password through the mailed link, once', async () => {
    // Prepare: a user with an e-mail address
    const user = await consoleUser(api, ['viewer'], 'reset');
    const token = (await login(api, user.username, user.password)).accessToken;
    await api.request('/users/me', { method: 'PATCH', token, body: { email: `${user.username}@example.com` } });
    const { context, page, problems } = await openConsole(browser, api);

    // Act: forgot password → the mail in the local outbox → its link
    await page.getByRole('link', { name: 'Passwort vergessen?' }).click();
    await page.getByLabel(/^Benutzername/).fill(user.username);
    await page.getByRole('button', { name: 'Link anfordern' }).click();
    await page.getByRole('status').waitFor();
    const outbox = join(process.env.LOCAL_STATE_DIR as string, 'outbox');
    const mail = await vi.waitFor(
      () => {
        const found = existsSync(outbox)
          ? readdirSync(outbox)
              .map((f) => readFileSync(join(outbox, f), 'utf8'))
              .find((m) => m.includes(`${user.username}@example.com`))
          : undefined;
        if (!found) throw new Error('no mail yet');
        return found;
      },
      { timeout: 20_000, interval: 250 },
    );
    const link = /https?:\/\/\S+#\/reset\?token=[A-Za-z0-9_-]+/.exec(mail.replace(/=\r?\n/g, ''))?.[0];
    expect(link).toBeDefined();
    await page.goto(new URL(new URL(link as string).hash, `${api.url}/console/`).href);
    await page.getByRole('heading', { name: 'Neues Passwort festlegen' }).waitFor();
    // The token left the address bar as soon as the page read it.
    expect(page.url()).not.toContain('token=');
    await expectAccessible(page, 'reset password');
    await page.getByLabel('Neues Passwort', { exact: true }).fill('a brand new passphrase 7');
    await page.getByLabel('Neues Passwort wiederholen').fill('a brand new passphrase 7');
    await page.getByRole('button', { name: 'Passwort speichern' }).click();

    // Assess: done; the new password works and the link does not work twice
    await page.getByRole('status').getByText('Ihr Passwort ist geändert').waitFor();
    await login(api, user.username, 'a brand new passphrase 7');
    const again = await api.request('/auth/password-reset', {
      method: 'POST',
      body: { token: new URL(link as string).hash.split('token=')[1], newPassword: 'another new passphrase 8' },
    });
    expect(again.status).toBe(422);
    await screenshot(page, 'reset-password');
    expect(problems).toEqual([]);
    await context.close();
  });
});
