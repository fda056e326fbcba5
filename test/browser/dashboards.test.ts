import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  consoleUser,
  type ConsoleUser,
  expectAccessible,
  consoleSuite,
  openConsole,
  screenshot,
  signIn,
} from '#test/support/browser';
import { login } from '#test/support/auth';
import { seedCharge } from '#test/support/charges';

let qa: ConsoleUser;

const suite = consoleSuite(async ({ api }) => {
  qa = await consoleUser(api, ['quality_manager'], 'dash');
  const token = (await login(api, qa.username, qa.password)).accessToken;
  // Made today: the widgets look back from today.
  const productionDate = new Date().toISOString().slice(0, 10);
  for (const articleId of ['DASH-A', 'DASH-A', 'DASH-B']) await seedCharge(api, token, { articleId, productionDate });
});

async function addWidget(page: Page, title: string, type: string, groupBy: string) {
  await page.getByRole('button', { name: 'Widget hinzufügen' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Titel des Widgets').fill(title);
  await dialog.getByLabel('Darstellung').selectOption(type);
  await dialog.getByLabel('Gruppiert nach').selectOption(groupBy);
  await dialog.getByRole('button', { name: 'Widget hinzufügen' }).click();
  await dialog.waitFor({ state: 'detached' });
}

describe('console dashboards', { timeout: 120_000 }, () => {
  it('a QA manager builds a dashboard with two kinds of widget, moves one, and finds it again after a reload', async () => {
    // Prepare
    const { context, page, problems } = await openConsole(suite.browser, suite.api);
    await signIn(page, qa.username, qa.password);
    await page.getByRole('link', { name: 'Dashboards' }).click();
    await page.getByRole('heading', { name: 'Dashboards', level: 1 }).waitFor();

    // Act: a new dashboard with a stacked bar chart and a key figure
    await page.getByLabel('Titel des Dashboards').fill('Linie 3');
    await page.getByRole('button', { name: 'Neues Dashboard' }).click();
    await page.getByRole('heading', { name: 'Linie 3', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Bearbeiten' }).click();
    await addWidget(page, 'Chargen je Status', 'stacked_bar', 'status');
    await addWidget(page, 'Chargen je Artikel', 'kpi', 'article');
    await page.getByRole('button', { name: 'Chargen je Artikel breiter' }).click();
    await page.getByRole('button', { name: 'Speichern' }).click();
    await page.getByRole('button', { name: 'Bearbeiten' }).waitFor();

    // Assess: after a reload both widgets are there, the chart drawn with its data table, the key figure counting 3
    await page.reload();
    const chart = page.getByRole('region', { name: 'Chargen je Status' });
    await chart.getByRole('img', { name: 'Chargen je Status' }).waitFor();
    await chart.getByText('Daten als Tabelle').click();
    await chart.getByRole('table', { name: 'Daten von Chargen je Status' }).waitFor();
    const kpi = page.getByRole('region', { name: 'Chargen je Artikel' });
    await expect.poll(() => kpi.locator('.kpi').innerText()).toBe('3');
    expect(await kpi.getAttribute('data-layout')).toBe('0,6,15,6');
    await expectAccessible(page, 'dashboard');
    await screenshot(page, 'dashboard');

    // Assess: a widget's data downloads as CSV
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      kpi.getByRole('button', { name: 'Daten von Chargen je Artikel als CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path()) as string, 'utf8');
    expect(csv).toMatch(/^\ufeffperiod,DASH-A,DASH-B\r\n/);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a viewer sees the shared QA overview but cannot change it', async () => {
    // Prepare
    const viewer = await consoleUser(suite.api, ['viewer'], 'dview');
    const { context, page } = await openConsole(suite.browser, suite.api, { lang: 'en' });
    await signIn(page, viewer.username, viewer.password);

    // Act
    await page.getByRole('link', { name: 'Dashboards' }).click();
    await page.getByRole('link', { name: 'QA overview' }).click();

    // Assess
    await page.getByRole('heading', { name: 'QA overview', level: 1 }).waitFor();
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    await expectAccessible(page, 'shared dashboard');
    await context.close();
  });
});
