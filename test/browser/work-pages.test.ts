import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import {
  consoleUser,
  type ConsoleUser,
  expectAccessible,
  expectNoTokenExposed,
  consoleSuite,
  openConsole,
  screenshot,
  signIn,
  TABLET,
} from '#test/support/browser';
import { login } from '#test/support/auth';
import { seedCharge } from '#test/support/charges';
import { eventually } from '#test/support/eventually';

/** The audit explorer, user administration, reports and "my account", each used as its people use it. */
let qa: ConsoleUser;
let admin: ConsoleUser;

const suite = consoleSuite(async ({ api }) => {
  qa = await consoleUser(api, ['quality_manager'], 'qa');
  admin = await consoleUser(api, ['admin'], 'adm');
});

describe('console work pages', { timeout: 120_000 }, () => {
  it('the audit explorer shows a charge’s records with old → new values and its verified chain', async () => {
    // Prepare: a charge with two versions, written through the API
    const token = (await login(suite.api, qa.username, qa.password)).accessToken;
    const charge = await seedCharge(suite.api, token, { articleId: `AUD-${Date.now()}` });
    const patched = await suite.api.request(`/charges/${charge.chargeId}`, {
      method: 'PATCH',
      token,
      headers: { 'If-Match': `"${charge.version}"` },
      body: { quantity: 7, reason: 'Nachgewogen' },
    });
    expect(patched.status, patched.text).toBe(200);
    await eventually(async () => {
      const res = await suite.api.request(`/audit?entityType=charge&entityId=${charge.chargeId}`, { token });
      expect((res.json as { items: unknown[] }).items).toHaveLength(2);
    });
    const { context, page, problems } = await openConsole(suite.browser, suite.api);
    await signIn(page, qa.username, qa.password);

    // Act: open the explorer for that charge, as a link from a record would
    await page.goto(`${suite.api.url}/console/#/audit?entityType=charge&entityId=${charge.chargeId}`);

    // Assess: both records, the change from 1 to 7 with its reason, the chain recomputed and intact
    await page.getByRole('heading', { name: 'Audit-Trail' }).waitFor();
    const timeline = page.getByRole('list', { name: 'Zeitleiste der Einträge' });
    await timeline.getByText('Grund: Nachgewogen', { exact: false }).waitFor();
    await timeline.getByRole('row', { name: 'quantity 1 7' }).waitFor();
    await page.getByRole('status').getByText('Die Kette ist unverändert (2 Einträge).').waitFor();
    await expectAccessible(page, 'audit explorer');
    await screenshot(page, 'audit-explorer');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('an admin creates a user who must change the password at first sign-in, and resets it with a reason', async () => {
    // Prepare
    const username = `new-${Date.now()}`;
    const { context, page, problems } = await openConsole(suite.browser, suite.api);
    await signIn(page, admin.username, admin.password);
    await page.getByRole('link', { name: 'Benutzer' }).click();
    await page.getByRole('heading', { name: 'Benutzerverwaltung' }).waitFor();

    // Act: create, with keyboard-reachable fields and a reason
    await page.getByRole('button', { name: 'Benutzer anlegen' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Benutzername').fill(username);
    await dialog.getByLabel('Erstes Passwort').fill('a long first password 1');
    await dialog.getByLabel('Anzeigename').fill('Neue Person');
    await dialog.locator('label', { hasText: 'Produktion' }).click();
    await dialog.getByLabel(/^Grund/).fill('Neue Mitarbeiterin in der Abfüllung');
    await expectAccessible(page, 'create user dialog');
    await dialog.getByRole('button', { name: 'Benutzer anlegen' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.getByRole('row', { name: new RegExp(username) });
    await row.waitFor();

    // Assess: the new person signs in with the initial password and must choose their own first
    const first = await openConsole(suite.browser, suite.api);
    await first.page.getByLabel(/^Benutzername/).fill(username);
    await first.page.getByLabel(/^Passwort/).fill('a long first password 1');
    await first.page.getByRole('button', { name: 'Anmelden' }).click();
    await first.page.getByRole('heading', { name: 'Neues Passwort festlegen' }).waitFor();
    await first.context.close();

    // Act: reset the password; the temporary one is shown once
    await page.getByRole('button', { name: `Passwort von ${username} zurücksetzen` }).click();
    await page
      .getByRole('dialog')
      .getByLabel(/^Grund/)
      .fill('Passwort vergessen, Anruf geprüft');
    await page.getByRole('dialog').getByRole('button', { name: 'Bestätigen' }).click();
    const temporary = (await page.getByLabel('Vorläufiges Passwort').innerText()).trim();
    expect(temporary.length).toBeGreaterThanOrEqual(12);
    await expectAccessible(page, 'users admin');
    await screenshot(page, 'users');
    await page.getByRole('dialog').getByRole('button', { name: 'Schließen' }).click();
    expect(problems).toEqual([]);
    await context.close();

    // Assess: the user signs in with it and is asked for a new password before anything else
    const fresh = await openConsole(suite.browser, suite.api);
    await fresh.page.getByLabel(/^Benutzername/).fill(username);
    await fresh.page.getByLabel(/^Passwort/).fill(temporary);
    await fresh.page.getByRole('button', { name: 'Anmelden' }).click();
    await fresh.page.getByRole('heading', { name: 'Neues Passwort festlegen' }).waitFor();
    await fresh.context.close();
  });

  it('a QA manager defines a scheduled report, sees its next runs, runs it now and downloads the file', async () => {
    // Prepare
    const { context, page, problems } = await openConsole(suite.browser, suite.api);
    await signIn(page, qa.username, qa.password);
    await page.getByRole('link', { name: 'Berichte' }).click();
    await page.getByRole('heading', { name: 'Berichte', level: 1 }).waitFor();

    // Act: a weekly definition; the cron helper shows the next runs before saving
    await page.getByRole('button', { name: 'Berichtsdefinition anlegen' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill(`weekly-${Date.now()}`);
    await dialog.getByLabel('Titel').fill('Wöchentliche Freigaben');
    await dialog.getByLabel('Format').selectOption('csv');
    await dialog.getByLabel('Zeitplan (Cron)').fill('0 6 ? * MON *');
    await dialog.getByLabel('Zeitzone').fill('Europe/Berlin');
    await dialog.getByLabel('Empfänger').fill('qa.reports@example.com');
    await expect.poll(() => dialog.getByRole('listitem').count()).toBe(3);
    await dialog.getByLabel('Zeitplan (Cron)').fill('0 6 ? * XYZ *');
    await dialog.locator('.cron-preview .error').waitFor();
    await dialog.getByLabel('Zeitplan (Cron)').fill('0 6 ? * MON *');
    await expectAccessible(page, 'report definition dialog');
    await dialog.getByRole('button', { name: 'Berichtsdefinition anlegen' }).click();
    await dialog.waitFor({ state: 'detached' });

    // Act: run it now
    await page
      .getByRole('button', { name: /jetzt ausführen$/ })
      .first()
      .click();
    const runs = page.getByRole('table', { name: 'Läufe' });
    await runs.getByText('erfolgreich').first().waitFor({ timeout: 60_000 });

    // Assess: the file downloads with the bearer token, never a token in the URL
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      runs
        .getByRole('button', { name: /herunterladen$/ })
        .first()
        .click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    await expectAccessible(page, 'reports');
    await screenshot(page, 'reports');

    await expectNoTokenExposed(page);
    expect(problems).toEqual([]);
    await context.close();

    // Assess: the mailed link, opened in a suite.browser with no session, asks for sign-in and then shows the run
    const outbox = join(process.env.LOCAL_STATE_DIR as string, 'outbox');
    const mail = readdirSync(outbox)
      .map((f) => readFileSync(join(outbox, f), 'utf8'))
      .find((m) => m.includes('qa.reports@example.com')) as string;
    const link = /https?:\/\/\S+\/console\/#\/reports\/runs\/[0-9a-f-]{36}/.exec(mail.replace(/=\r?\n/g, ''))?.[0];
    expect(link).toBeDefined();
    const reader = await openConsole(suite.browser, suite.api);
    await reader.page.goto(link as string);
    await signIn(reader.page, qa.username, qa.password);
    await reader.page.getByRole('heading', { name: /^Berichtslauf: weekly-/ }).waitFor();
    await reader.page.getByRole('table', { name: 'Läufe' }).getByText('erfolgreich').waitFor();
    await reader.context.close();
  });

  it('my account: enrol a second factor with the QR code, get recovery codes, see my sessions — in English on a tablet', async () => {
    // Prepare
    const user = await consoleUser(suite.api, ['viewer'], 'acct');
    const { context, page, problems } = await openConsole(suite.browser, suite.api, { viewport: TABLET, lang: 'en' });
    await signIn(page, user.username, user.password);
    await page.getByRole('link', { name: 'My account' }).click();
    await page.getByRole('heading', { name: 'My account' }).waitFor();

    // Act: enrol
    await page.getByRole('button', { name: 'Set up a second factor' }).click();
    await page.getByRole('img', { name: 'QR code for the authenticator app' }).waitFor();
    const secret = (await page.locator('p', { hasText: 'Key:' }).locator('code').innerText()).trim();
    const code = new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate();
    await page.getByLabel('Code from the app').fill(code);
    await page.getByRole('button', { name: 'Confirm' }).click();

    // Assess: ten one-time recovery codes, the session list with this session
    const codes = page.getByRole('list', { name: 'Recovery codes' });
    await codes.waitFor();
    expect(await codes.getByRole('listitem').count()).toBe(10);
    await page.getByRole('table', { name: 'My sessions' }).getByText('this session').waitFor();
    await expectAccessible(page, 'my account');
    await screenshot(page, 'account');
    await expectNoTokenExposed(page);
    expect(problems).toEqual([]);
    await context.close();
  });
});
