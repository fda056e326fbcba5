import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  consoleUser,
  type ConsoleUser,
  expectNoTokenExposed,
  launchBrowser,
  openConsole,
  signIn,
} from '#test/support/browser';
import { startLocalApi, type LocalApi } from '#test/support/local-api';

/** Short lifetimes so the idle limit passes within the test: access token 8 s, idle limit 12 s. */
const IDLE_SECONDS = 12;
/** Long enough that a refresh on a busy machine still lands before the token it replaces expires. */
const ACCESS_TTL_SECONDS = 8;
let api: LocalApi;
let browser: Browser;
let users: ConsoleUser[];

beforeAll(async () => {
  vi.stubEnv('ACCESS_TOKEN_TTL_SECONDS', String(ACCESS_TTL_SECONDS));
  vi.stubEnv('SESSION_IDLE_SECONDS', String(IDLE_SECONDS));
  api = await startLocalApi();
  // Made first: the admin's own token lives only 4 s here.
  users = await Promise.all([0, 1, 2].map(() => consoleUser(api, ['viewer'])));
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  vi.unstubAllEnvs();
});

describe('console session', { timeout: 90_000 }, () => {
  it('stays signed in while the user works: the access token is refreshed silently', async () => {
    // Prepare
    const user = users[0] as ConsoleUser;
    const { context, page } = await openConsole(browser, api);
    await signIn(page, user.username, user.password);
    const refreshes: number[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/auth/refresh')) refreshes.push(r.status());
    });

    // Act: work for three access-token lifetimes (a key press every second)
    for (let i = 0; i < 3 * ACCESS_TTL_SECONDS; i++) {
      await page.keyboard.press('Shift');
      await page.waitForTimeout(1000);
    }
    await page.getByRole('link', { name: 'Chargen' }).click();

    // Assess: still signed in, after refreshes that all succeeded
    await page.getByRole('heading', { name: 'Chargen' }).waitFor();
    expect(refreshes.length).toBeGreaterThan(0);
    expect(refreshes.every((s) => s === 200)).toBe(true);
    await expectNoTokenExposed(page);
    await context.close();
  });

  it('ends the session at the idle limit and says so', async () => {
    // Prepare
    const user = users[1] as ConsoleUser;
    const { context, page } = await openConsole(browser, api);
    await signIn(page, user.username, user.password);
    await page.getByRole('heading', { name: 'Chargen' }).waitFor();

    // Act: leave it alone past the idle limit, then come back
    await page.waitForTimeout((IDLE_SECONDS + 2) * 1000);
    await page.mouse.click(5, 5);

    // Assess: back on the sign-in page with the reason; nothing of the session is left on screen
    await page.getByText('Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.').waitFor();
    await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
    expect(await page.getByRole('navigation').count()).toBe(0);
    // The server agrees: the session's cookie no longer refreshes.
    const refresh = await page.evaluate(async () => {
      const res = await fetch('/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'charge-records' },
        body: '{}',
      });
      return res.status;
    });
    expect(refresh).toBe(401);
    await context.close();
  });

  it('resumes the session after a reload from the refresh cookie, without a password', async () => {
    const user = users[2] as ConsoleUser;
    const { context, page } = await openConsole(browser, api);
    await signIn(page, user.username, user.password);
    await page.reload();
    await page.getByRole('navigation').waitFor();
    await page.getByRole('heading', { name: 'Chargen' }).waitFor();

    // Sign-out ends it on the server too: a reload then shows the sign-in page.
    await page.getByRole('button', { name: 'Abmelden' }).click();
    await page.getByText('Sie wurden abgemeldet.').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
    await context.close();
  });
});
