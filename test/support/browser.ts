import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { resolve } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '#local/chromium';
import { ensureConsoleBuilt } from '#local/console-build';
import { PROJECT_ROOT } from '#local/paths';
import type { Role } from '#platform/permissions';
import { adminToken } from './auth';
import { type LocalApi, startLocalApi } from './local-api';

/**
 * The browser-test harness: Debian's Chromium driven by Playwright against the local server, which serves the
 * built console under /console/. One browser per test file, one context (cookie jar) per user.
 */
export const CHROMIUM = CHROMIUM_PATH;
export const DESKTOP = { width: 1280, height: 900 };
export const TABLET = { width: 768, height: 1024 };
const SCREENSHOTS = resolve(PROJECT_ROOT, 'docs/console');

/** Builds the console if its build is missing or stale, then starts Chromium. */
export async function launchBrowser(): Promise<Browser> {
  await ensureConsoleBuilt(() => undefined);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface ConsoleSuite {
  api: LocalApi;
  browser: Browser;
}

/**
 * A browser-test file's setup: one local server and one Chromium for the whole file, then `setup` (its users, its
 * data); both are closed after the file. The fields are set once `beforeAll` has run.
 */
export function consoleSuite(setup?: (suite: ConsoleSuite) => Promise<void>): ConsoleSuite {
  const suite = {} as ConsoleSuite;
  beforeAll(async () => {
    suite.api = await startLocalApi();
    suite.browser = await launchBrowser();
    await setup?.(suite);
  }, 120_000);
  afterAll(async () => {
    await suite.browser?.close();
    await suite.api?.stop();
  });
  return suite;
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Errors the page logged (CSP violations, uncaught exceptions): a test ends by expecting none. */
  problems: string[];
}

/** A fresh browser profile (no cookies) on the console's start page, German unless told otherwise. */
export async function openConsole(
  browser: Browser,
  api: LocalApi,
  options: { viewport?: { width: number; height: number }; lang?: 'de' | 'en' } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? DESKTOP,
    locale: 'de-DE',
    timezoneId: 'Europe/Berlin',
  });
  if (options.lang) await context.addInitScript(`localStorage.setItem('charge-records.lang', '${options.lang}')`);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A 4xx the console shows on purpose is logged by the browser as a failed resource; that is not a problem.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(msg.text());
  });
  await page.goto(`${api.url}/console/`);
  return { context, page, problems };
}

/** Signs in through the form, as a person would, and waits for the signed-in navigation. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel(/^(Benutzername|Username)/).fill(username);
  await page.getByLabel(/^(Passwort|Password)/).fill(password);
  await page.getByRole('button', { name: /^(Anmelden|Sign in)$/ }).click();
  await page.getByRole('navigation').waitFor();
}

/** axe-core on what the page shows now: no serious or critical violation (WCAG 2.x A/AA rules). */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    `axe on ${name}`,
  ).toEqual([]);
}

/** Saves a screenshot for docs/console.md: the tests take them, so they always show the current console. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/**
 * No token where it could leak: nothing in local or session storage but the language, no JWT or refresh token in
 * the URL, and no cookie the page's scripts can read.
 */
export async function expectNoTokenExposed(page: Page): Promise<void> {
  // A string: the page's globals (localStorage, location, document) are not in this Node project's types.
  const exposed = await page.evaluate<{ local: string[]; session: string[]; url: string; cookie: string }>(
    '({ local: Object.keys(localStorage), session: Object.keys(sessionStorage), url: location.href, cookie: document.cookie })',
  );
  expect(exposed.local.filter((k) => k !== 'charge-records.lang')).toEqual([]);
  expect(exposed.session).toEqual([]);
  expect(exposed.url).not.toMatch(/eyJ|token|rt_/i);
  expect(exposed.cookie).toBe('');
}

export interface ConsoleUser {
  userId: string;
  username: string;
  password: string;
}

/** A user with these roles, made through the API by the bootstrap admin; not signed in. */
export async function consoleUser(api: LocalApi, roles: Role[], prefix = 'web'): Promise<ConsoleUser> {
  const username = `${prefix}-${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const res = await api.request('/users', {
    method: 'POST',
    token: await adminToken(api),
    body: { username, password, roles, displayName: username, reason: 'Browser test user' },
  });
  expect(res.status, res.text).toBe(201);
  return { userId: (res.json as { userId: string }).userId, username, password };
}

/** A GET with the path sent exactly as written (fetch would resolve `..` before sending). */
export function rawGet(api: LocalApi, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
