import type { Page } from 'playwright-core';
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
} from '#test/support/browser';

let operator: ConsoleUser;
let qa: ConsoleUser;

const suite = consoleSuite(async ({ api }) => {
  operator = await consoleUser(api, ['operator'], 'op');
  qa = await consoleUser(api, ['quality_manager'], 'qa');
});

const article = `WEB-${Date.now()}`;
let chargeUrl = '';

async function dialogField(page: Page, label: string | RegExp) {
  return page.getByRole('dialog').getByLabel(label);
}

describe('console charges', { timeout: 90_000 }, () => {
  it('an operator creates a charge, edits it with a reason and puts it in quarantine', async () => {
    // Prepare
    const { context, page, problems } = await openConsole(suite.browser, suite.api);
    await signIn(page, operator.username, operator.password);
    await page.getByRole('heading', { name: 'Chargen' }).waitFor();

    // Act: create
    await page.getByRole('link', { name: 'Neue Charge' }).click();
    await page.getByRole('heading', { name: 'Neue Charge anlegen' }).waitFor();
    await expectAccessible(page, 'create charge');
    await page.getByLabel('Artikel').fill(article);
    await page.getByLabel('Menge').fill('250,5');
    await page.getByLabel('Einheit').selectOption('kg');
    await page.getByLabel('Produktionsdatum').fill('2026-03-01');
    await page.getByLabel('Notizen').fill('Erste Schicht — Ł, ß, 😀');
    await page.getByRole('button', { name: 'Charge anlegen' }).click();

    // Assess: the detail page of the new charge, numbers as German writes them
    const heading = page.getByRole('heading', { name: /^Charge / });
    await heading.waitFor();
    chargeUrl = page.url();
    await page.getByText('250,5 kg').waitFor();
    await expectAccessible(page, 'charge detail');

    // Act: edit with a reason
    await page.getByRole('button', { name: 'Bearbeiten' }).click();
    await (await dialogField(page, 'Menge')).fill('260');
    await (await dialogField(page, 'Begründung')).fill('Nachwiegen ergab 260 kg');
    await expectAccessible(page, 'edit dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Speichern' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.getByText('260 kg').first().waitFor();

    // Act: quarantine (a status change of the operator's own: a reason, no signature)
    await page.getByRole('button', { name: 'In Quarantäne' }).click();
    await (await dialogField(page, 'Begründung der Statusänderung')).fill('Warten auf Laborbefund');
    await page.getByRole('dialog').getByRole('button', { name: 'Status ändern' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });

    // Assess: three versions in the timeline, the reasons with them
    const timeline = page.getByRole('list', { name: 'Versionen' });
    await timeline.getByText('Begründung: Warten auf Laborbefund').waitFor();
    await timeline.getByText('Begründung: Nachwiegen ergab 260 kg').waitFor();
    expect(await timeline.locator(':scope > li').count()).toBe(3);
    // An operator may not decide: no release button.
    expect(await page.getByRole('button', { name: 'Freigeben' }).count()).toBe(0);
    await expectNoTokenExposed(page);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a second QA user finds it by filter and releases it with an electronic signature', async () => {
    // Prepare
    const { context, page, problems } = await openConsole(suite.browser, suite.api);
    await signIn(page, qa.username, qa.password);
    await page.getByRole('heading', { name: 'Chargen' }).waitFor();

    // Act: filter the list
    await page.getByLabel('Artikel').fill(article);
    await page.getByRole('button', { name: 'Filtern' }).click();
    const table = page.getByRole('table', { name: 'Chargenliste' });
    await table.getByRole('cell', { name: article }).waitFor();
    expect(await table.getByRole('row').count()).toBe(2);
    await expectAccessible(page, 'charges list');
    await screenshot(page, 'charges-list');
    await table.getByRole('link').first().click();

    // Act: the signature dialog — meaning named, password asked again
    await page.getByRole('button', { name: 'Freigeben' }).click();
    const dialog = page.getByRole('dialog', { name: 'Elektronische Unterschrift' });
    await dialog.waitFor();
    await dialog.getByText('Zur Freigabe genehmigt').first().waitFor();
    await dialog.getByLabel('Begründung der Statusänderung').fill('Laborbefund in Ordnung');
    await dialog.getByLabel('Passwort zur Bestätigung').fill('wrong-password-here');
    await expectAccessible(page, 'signature dialog');
    await screenshot(page, 'signature-dialog');
    await dialog.getByRole('button', { name: 'Unterschreiben' }).click();

    // Assess: a wrong password is refused with the API's message and error id
    await dialog
      .getByRole('alert')
      .getByText(/Fehler-ID: [0-9a-f-]{36}/)
      .waitFor();

    await dialog.getByLabel('Passwort zur Bestätigung').fill(qa.password);
    await dialog.getByRole('button', { name: 'Unterschreiben' }).click();
    await dialog.waitFor({ state: 'detached' });

    // Assess: released, and the signature is in the history with name, meaning and time with zone
    await page.getByRole('definition').getByText('Freigegeben').waitFor();
    const signed = page.getByText(
      new RegExp(`Unterschrieben von ${qa.username} \\(Zur Freigabe genehmigt\\), .*(MEZ|MESZ|UTC|GMT)`),
    );
    await signed.waitFor();
    await screenshot(page, 'charge-detail');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('compares two versions side by side with the changed fields marked', async () => {
    // Prepare
    const { context, page, problems } = await openConsole(suite.browser, suite.api);
    await signIn(page, qa.username, qa.password);
    await page.goto(chargeUrl);
    await page.getByRole('heading', { name: /^Charge / }).waitFor();

    // Act
    await page.getByLabel('Linke Version').selectOption('1');
    await page.getByLabel('Rechte Version').selectOption('4');
    await page.getByRole('button', { name: 'Vergleichen' }).click();

    // Assess
    const table = page.getByRole('table', { name: 'Vergleich von Version 1 und 4' });
    await table.waitFor();
    const quantity = table.getByRole('row', { name: /Menge/ });
    expect(await quantity.textContent()).toContain('geändert');
    expect(await quantity.textContent()).toContain('250.5');
    expect(await quantity.textContent()).toContain('260');
    expect(await table.getByRole('row', { name: /Artikel/ }).textContent()).not.toContain('geändert');
    expect(await table.getByRole('row', { name: /Status/ }).textContent()).toContain('geändert');
    await expectAccessible(page, 'compare versions');
    await screenshot(page, 'compare');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('downloads the Chargenbericht with the bearer token, never a token in the URL', async () => {
    const { context, page } = await openConsole(suite.browser, suite.api);
    await signIn(page, qa.username, qa.password);
    await page.goto(chargeUrl);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Chargenbericht (PDF)' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^Chargenbericht-.+\.pdf$/);
    const stream = await file.createReadStream();
    const first = await new Promise<Buffer>((resolve) => stream.once('data', (c: Buffer) => resolve(c)));
    expect(first.subarray(0, 4).toString()).toBe('%PDF');
    expect(requests.filter((u) => /token|eyJ/i.test(u))).toEqual([]);
    await context.close();
  });
});
