import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD } from '#test/support/auth';
import {
  consoleUser,
  expectAccessible,
  rawGet,
  expectNoTokenExposed,
  consoleSuite,
  openConsole,
  screenshot,
  signIn,
  TABLET,
} from '#test/support/browser';

const suite = consoleSuite();

describe('console sign-in', { timeout: 60_000 }, () => {
  it('signs in with a password; the token stays in memory, German by default', async () => {
    // Prepare
    const { context, page, problems } = await openConsole(suite.browser, suite.api);
    await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
    await expectAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');

    // Act
    await signIn(page, 'admin', ADMIN_PASSWORD);

    // Assess
    await page.getByRole('heading', { name: 'Chargen' }).waitFor();
    expect(await page.getByRole('link', { name: 'Chargen' }).getAttribute('aria-current')).toBe('page');
    await expectNoTokenExposed(page);
    // The refresh token is an HttpOnly cookie for /auth only.
    const cookies = await context.cookies();
    const refresh = cookies.find((c) => c.name === 'cr_refresh');
    expect(refresh?.httpOnly).toBe(true);
    expect(refresh?.path).toBe('/auth');
    expect(refresh?.sameSite).toBe('Strict');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows a wrong password as the API answered it: message and error id', async () => {
    const { context, page } = await openConsole(suite.browser, suite.api);
    await page.getByLabel('Benutzername').fill('admin');
    await page.getByLabel('Passwort').fill('not-the-password');
    await page.getByRole('button', { name: 'Anmelden' }).click();

    const alert = page.getByRole('alert');
    await alert.waitFor();
    await expect.poll(() => alert.textContent()).toMatch(/Fehler-ID: [0-9a-f-]{36}/);
    await expectAccessible(page, 'sign-in with an error');
    await context.close();
  });

  it('can be used with the keyboard alone', async () => {
    // Prepare
    const user = await consoleUser(suite.api, ['viewer']);
    const { context, page } = await openConsole(suite.browser, suite.api);
    await page.getByLabel('Benutzername').waitFor();

    // Act: the username field has focus on arrival; Tab to the password, Enter submits.
    await page.keyboard.type(user.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.password);
    await page.keyboard.press('Enter');

    // Assess
    await page.getByRole('heading', { name: 'Chargen' }).waitFor();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate<string | undefined>('document.activeElement?.textContent');
    expect(focused).toBe('Zum Inhalt springen');
    await context.close();
  });

  it('switches to English and back, every label with it', async () => {
    const { context, page } = await openConsole(suite.browser, suite.api);
    await page.getByRole('radio', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate<string>('document.documentElement.lang')).toBe('en');
    await page.getByLabel('Username').waitFor();
    await expectAccessible(page, 'sign-in (English)');

    await page.reload();
    // The language is the one thing kept across a reload.
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('radio', { name: 'Deutsch' }).click();
    await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
    await context.close();
  });

  it('asks for a reset link without revealing whether the account exists', async () => {
    const { context, page } = await openConsole(suite.browser, suite.api);
    await page.getByRole('link', { name: 'Passwort vergessen?' }).click();
    await page.getByRole('heading', { name: 'Passwort zurücksetzen' }).waitFor();
    await expectAccessible(page, 'forgot password');
    await page.getByLabel('Benutzername').fill('nobody-at-all');
    await page.getByRole('button', { name: 'Link anfordern' }).click();
    await page.getByText('Wenn es das Konto gibt, ist ein Link unterwegs.').waitFor();
    await context.close();
  });

  it('is usable on a 768 px tablet', async () => {
    const { context, page } = await openConsole(suite.browser, suite.api, { viewport: TABLET });
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Chargen' }).waitFor();
    // Nothing wider than the screen: no sideways scrolling of the whole page.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await expectAccessible(page, 'charges list at 768 px');
    await context.close();
  });

  it('serves the console with a strict CSP, immutable assets and no way out of its folder', async () => {
    const index = await fetch(`${suite.api.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await index.text();
    // No inline script: every <script> has a src.
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();

    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1] as string;
    const js = await fetch(`${suite.api.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');

    const redirect = await fetch(`${suite.api.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/console/');

    // Attack: climb out of console/dist, plainly, percent-encoded, double-encoded, with back slashes, to a dotfile.
    for (const path of [
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/..%2fpackage.json',
      '/console/%252e%252e/package.json',
      '/console/..%5cpackage.json',
      '/console/assets/..%2f..%2f..%2fpackage.json',
      '/console/.vite/manifest.json',
      '/console/%00',
    ]) {
      const res = await rawGet(suite.api, path);
      expect(res.body, path).not.toContain('"charge-records"');
      expect([400, 401, 404], path).toContain(res.status);
    }
  });
});
