import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '#local/chromium';
import { CONSOLE_DIST } from '#local/console';
import { ensureConsoleBuilt } from '#local/console-build';
import type { BenchReport } from './index';
import { fmt, percentile, startBenchServer } from './support';

/** The console's first-load budget per page (gzipped JavaScript), and the list's request budget. */
const INITIAL_JS_BUDGET_KB = 150;
const LIST_REQUEST_BUDGET = 3;
const ROWS = 100;
const RUNS = 7;
const ADMIN_PASSWORD = 'bench-admin-password-1';

interface ManifestChunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
  isEntry?: boolean;
}
type Manifest = Record<string, ManifestChunk>;

/** The chunks a page loads before it can render: the entry's static imports, then each lazy step's. */
function closure(manifest: Manifest, keys: string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    const chunk = manifest[key];
    if (!chunk) throw new Error(`no chunk ${key} in the manifest`);
    seen.add(key);
    for (const dep of chunk.imports ?? []) visit(dep);
  };
  keys.forEach(visit);
  return seen;
}

function gzippedKb(manifest: Manifest, keys: Set<string>): number {
  let bytes = 0;
  for (const key of keys) bytes += gzipSync(readFileSync(join(CONSOLE_DIST, manifest[key]!.file)), { level: 9 }).length;
  return bytes / 1024;
}

async function bundleSizes() {
  await ensureConsoleBuilt();
  const manifest = JSON.parse(readFileSync(join(CONSOLE_DIST, '.vite/manifest.json'), 'utf8')) as Manifest;
  const signIn = closure(manifest, ['index.html']);
  const list = closure(manifest, ['index.html', 'src/app/Shell.tsx', 'src/pages/ChargesList.tsx']);
  const all = Object.keys(manifest).filter((k) => manifest[k]!.file.endsWith('.js'));
  const chartChunks = [...list, ...signIn].filter((k) => /chart|recharts|echarts|d3|vega/i.test(k));
  return {
    signInKb: gzippedKb(manifest, signIn),
    listKb: gzippedKb(manifest, list),
    totalKb: gzippedKb(manifest, new Set(all)),
    chartChunks,
  };
}

async function api<T>(base: string, path: string, init: RequestInit & { token?: string } = {}): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
  });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function run(): Promise<BenchReport> {
  const sizes = await bundleSizes();
  const server = await startBenchServer(ADMIN_PASSWORD, { RATE_LIMIT_PER_MINUTE: '100000' });
  const { base } = server;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const { accessToken } = await api<{ accessToken: string }>(base, '/auth/login', {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    for (let i = 0; i < ROWS; i++) {
      await api(base, '/charges', {
        method: 'POST',
        token: accessToken,
        body: JSON.stringify({
          articleId: `BENCH-${i % 7}`,
          quantity: 10 + i,
          unit: 'kg',
          productionDate: '2026-03-01',
        }),
      });
    }

    // The raw API: the same page of 100 charges, fetched and parsed.
    const rawMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await api(base, `/charges?limit=${ROWS}`, { token: accessToken });
      rawMs.push(performance.now() - t);
    }

    // The console: a signed-in browser opens the list of 100 (session resumed from the cookie, as after a reload).
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/console/`);
    await page.getByLabel('Benutzername').fill('admin');
    await page.getByLabel('Passwort').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Anmelden' }).click();
    await page.getByRole('navigation').waitFor();
    const consoleMs: number[] = [];
    let apiRequests = 0;
    for (let i = 0; i < RUNS; i++) {
      const requests: string[] = [];
      const onRequest = (r: { url(): string }) => {
        if (!new URL(r.url()).pathname.startsWith('/console/')) requests.push(r.url());
      };
      await page.goto(`${base}/console/#/charges?limit=${ROWS}`);
      await page
        .locator('table tbody tr')
        .nth(ROWS - 1)
        .waitFor();
      // Counted from the reload on: what one page load of the list costs.
      page.on('request', onRequest);
      await page.reload();
      await page
        .locator('table tbody tr')
        .nth(ROWS - 1)
        .waitFor();
      // Milliseconds since this navigation started, by the page's own clock.
      consoleMs.push(await page.evaluate(() => performance.now()));
      page.off('request', onRequest);
      apiRequests = Math.max(apiRequests, requests.length);
    }
    await context.close();

    const raw = percentile(rawMs, 50);
    const ui = percentile(consoleMs, 50);
    const markdown = [
      '| measure | value |',
      '|---|---:|',
      `| initial JavaScript, sign-in page (gzip) | ${fmt(sizes.signInKb, 1)} KB |`,
      `| initial JavaScript, charges list (gzip) | ${fmt(sizes.listKb, 1)} KB |`,
      `| all console JavaScript (gzip) | ${fmt(sizes.totalKb, 1)} KB |`,
      `| API requests to show the list of ${ROWS} | ${apiRequests} |`,
      `| raw API: GET /charges?limit=${ROWS}, p50 of ${RUNS} | ${fmt(raw, 1)} ms |`,
      `| console: page load → ${ROWS} rows rendered, p50 of ${RUNS} | ${fmt(ui, 1)} ms |`,
      `| console ÷ raw API | ${fmt(ui / raw, 1)} × |`,
      '',
      'The console time is a full page load in headless Chromium against the local server: the HTML and scripts ' +
        '(from cache after the first run), the session resumed from the refresh cookie, `GET /users/me` and the ' +
        'page of charges, then React rendering the table.',
    ].join('\n');
    return {
      title: 'Console (browser)',
      markdown,
      targets: [
        {
          target: `sign-in page initial JS ≤ ${INITIAL_JS_BUDGET_KB} KB gzipped`,
          met: sizes.signInKb <= INITIAL_JS_BUDGET_KB,
          measured: `${fmt(sizes.signInKb, 1)} KB`,
        },
        {
          target: `charges list initial JS ≤ ${INITIAL_JS_BUDGET_KB} KB gzipped`,
          met: sizes.listKb <= INITIAL_JS_BUDGET_KB,
          measured: `${fmt(sizes.listKb, 1)} KB`,
        },
        {
          target: 'no chart library in an initial load',
          met: sizes.chartChunks.length === 0,
          measured: sizes.chartChunks.length === 0 ? 'none' : sizes.chartChunks.join(', '),
        },
        {
          target: `charges list of ${ROWS} rows in ≤ ${LIST_REQUEST_BUDGET} API requests`,
          met: apiRequests <= LIST_REQUEST_BUDGET,
          measured: String(apiRequests),
        },
      ],
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
