import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readSheet } from 'read-excel-file/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetConfig } from '#platform/config';
import { localScheduler } from '#local/adapters/local-scheduler';
import { expectError } from '#test/support/assertions';
import { type TestUser, userWithRoles } from '#test/support/users';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { eventually } from '#test/support/eventually';
import { seedCharge } from '#test/support/charges';
import { checkResponse } from '#test/support/openapi-contract';

let api: LocalApi;
let operator: TestUser;
let qm: TestUser;
let qm2: TestUser;
let auditor: TestUser;
let viewer: TestUser;
let chargeId: string;
/** The lot number the server gave the charge: the Chargenbericht's title and the exports' first column. */
let lotNumber: string | undefined;
/** The runtime's state directory (startLocalApi gives each test file its own). */
const stateDir = () => process.env.LOCAL_STATE_DIR as string;
const scratch = mkdtempSync(join(tmpdir(), 'reports-e2e-'));

const NOTES = 'Łódź Größe Ærø — Probe 1\n=HYPERLINK("http://x")';

interface Binary {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** The API's files are binary: read them as bytes (the shared client decodes text). */
async function download(path: string, token?: string): Promise<Binary> {
  const res = await fetch(path.startsWith('http') ? path : `${api.url}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    redirect: 'manual',
  });
  const body = Buffer.from(await res.arrayBuffer());
  // API answers (not the download links a 303 leads to) must be as the OpenAPI document says.
  if (!path.startsWith('http')) {
    const text = body.toString('utf8');
    const json = res.headers.get('content-type')?.startsWith('application/json')
      ? (JSON.parse(text) as unknown)
      : undefined;
    checkResponse({
      method: 'GET',
      target: path,
      status: res.status,
      headers: Object.fromEntries(res.headers),
      text,
      json,
    });
  }
  return { status: res.status, headers: res.headers, body };
}

const pdftotext = (bytes: Buffer) => {
  const file = join(scratch, `${Math.random().toString(36).slice(2)}.pdf`);
  writeFileSync(file, bytes);
  return execFileSync('pdftotext', [file, '-']).toString('utf8');
};

beforeAll(async () => {
  api = await startLocalApi();
  [operator, qm, qm2, auditor, viewer] = await Promise.all([
    userWithRoles(api, ['operator'], `op-${Date.now()}`),
    userWithRoles(api, ['quality_manager']),
    userWithRoles(api, ['quality_manager']),
    userWithRoles(api, ['auditor']),
    userWithRoles(api, ['viewer']),
  ]);
  ({ chargeId, lotNumber } = await seedCharge(api, operator.token, {
    articleId: 'ART-Łódź',
    quantity: 1234.5,
    unit: 'kg',
    productionDate: '2026-05-01',
    expiryDate: '2027-05-01',
    notes: NOTES,
    status: 'quarantine',
  }));
  const released = await api.request(`/charges/${chargeId}`, {
    method: 'PATCH',
    token: qm.token,
    headers: { 'If-Match': '"1"' },
    body: {
      status: 'released',
      reason: 'Prüfung bestanden',
      signature: { meaning: 'approved_for_release', password: qm.password },
    },
  });
  expect(released.status, released.text).toBe(200);
  for (let i = 0; i < 3; i++) {
    await seedCharge(api, operator.token, {
      articleId: 'ART-2',
      quantity: 10 + i,
      unit: 'pcs',
      productionDate: `2026-04-0${i + 1}`,
    });
  }
});
afterAll(async () => {
  await api?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('Chargenbericht', () => {
  it('holds the charge, its history with reasons, and who generated it (German)', async () => {
    const res = await download(`/charges/${chargeId}/report.pdf`, auditor.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toMatch(
      new RegExp(`^attachment; filename="chargenbericht-${lotNumber}-`),
    );
    expect(res.body.subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdftotext(res.body);
    expect(text).toContain(`Chargenbericht ${lotNumber}`);
    expect(text).toContain('Statusverlauf und Änderungen');
    expect(text).toContain(chargeId);
    expect(text).toContain('ART-Łódź');
    expect(text).toContain('Łódź Größe Ærø — Probe 1');
    expect(text).toContain('=HYPERLINK("http://x")');
    expect(text).toContain('1.234,5');
    expect(text).toContain('01.05.2026');
    // The history table's narrow columns may wrap a status change (other columns' text between its lines).
    expect(text).toMatch(/Quarantäne\s*->[\s\S]{0,80}Freigegeben/);
    expect(text).toContain('Prüfung bestanden');
    // The QA decision's signature, in German, with its time to the second.
    expect(text).toContain('Elektronische Unterschriften');
    expect(text).toContain('Zur Freigabe genehmigt');
    expect(text).toMatch(/\d{2}\.\d{2}\.\d{4},? \d{2}:\d{2}:\d{2}/);
    expect(text).toContain(`von ${auditor.username}`);
    expect(text).toContain(operator.username);
    expect(text).toMatch(/Seite 1 von 1/);
  });

  it('speaks English with lang=en and refuses a bad lang', async () => {
    const en = await download(`/charges/${chargeId}/report.pdf?lang=en`, auditor.token);
    const english = pdftotext(en.body);
    expect(english).toContain(`Batch report ${lotNumber}`);
    expect(english).toContain('Electronic signatures');
    expect(english).toContain('Approved for release');
    expect(english).toContain('Status history and changes');
    expect(english).toContain('Page 1 of 1');
    expect(english).toContain('1,234.5');
    expectError(
      await api.request(`/charges/${chargeId}/report.pdf?lang=fr`, { token: auditor.token }),
      422,
      'VALIDATION_ERROR',
    );
    expectError(
      await api.request('/charges/00000000-0000-4000-8000-000000000000/report.pdf', { token: auditor.token }),
      404,
      'NOT_FOUND',
    );
  });

  it('needs reports:read', async () => {
    expectError(await api.request(`/charges/${chargeId}/report.pdf`, { token: viewer.token }), 403, 'FORBIDDEN');
    expectError(await api.request(`/charges/${chargeId}/report.pdf`), 401, 'UNAUTHORIZED');
  });
});

describe('charge list exports', () => {
  it('CSV: BOM, header, filters applied, formula neutralised — read back with csv-parse', async () => {
    const res = await download('/reports/charges.csv?articleId=ART-%C5%81%C3%B3d%C5%BA', auditor.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="charges-\d{8}-\d{6}\.csv"/);
    expect([...res.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const records = parse(res.body.toString('utf8'), { bom: true, columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      Charge: chargeId,
      Artikel: 'ART-Łódź',
      Menge: '1234.5',
      Einheit: 'kg',
      Herstelldatum: '2026-05-01',
      Status: 'released',
      Bemerkungen: NOTES,
      Version: '2',
    });
    await seedCharge(api, operator.token, {
      articleId: 'ART-X',
      productionDate: '2026-01-01',
      notes: '=HYPERLINK("http://x")',
    });
    const en = await download('/reports/charges.csv?articleId=ART-X&lang=en', auditor.token);
    const rows = parse(en.body.toString('utf8'), { bom: true, columns: true }) as Record<string, string>[];
    expect(rows[0]?.Notes).toBe(`'=HYPERLINK("http://x")`);
  });

  it('XLSX: numbers and dates typed — read back with read-excel-file', async () => {
    const res = await download('/reports/charges.xlsx?status=released', qm.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const sheet = await readSheet(res.body);
    const header = sheet[0] as string[];
    expect(header.slice(0, 6)).toEqual(['Chargennummer', 'Charge', 'Artikel', 'Menge', 'Einheit', 'Herstelldatum']);
    expect(sheet).toHaveLength(2);
    const row = sheet[1] as unknown[];
    expect(row[header.indexOf('Menge')]).toBe(1234.5);
    expect(row[header.indexOf('Version')]).toBe(2);
    const produced = row[header.indexOf('Herstelldatum')];
    expect(produced).toBeInstanceOf(Date);
    expect((produced as Date).toISOString()).toBe('2026-05-01T00:00:00.000Z');
    // Times are written as wall-clock times of the export's zone, named in the header.
    expect(row[header.indexOf('Geändert am (UTC)')]).toBeInstanceOf(Date);
    expect(row[header.indexOf('Chargennummer')]).toBe(lotNumber);
    // Text that looks like a formula is marked as text by the cell's quote-prefix style, not by an apostrophe.
    expect(row[header.indexOf('Bemerkungen')]).toBe(NOTES);
  });

  it('PDF list with filters on the page', async () => {
    const res = await download('/reports/charges.pdf?articleId=ART-2&from=2026-04-02&lang=en', auditor.token);
    expect(res.status).toBe(200);
    const text = pdftotext(res.body);
    expect(text).toContain('Batch list');
    expect(text).toContain('Article = ART-2');
    expect(text).toContain('from = 2026-04-02');
    expect(text).toContain('2026-04-03');
    expect(text).not.toContain('2026-04-01');
  });

  it('rejects unknown or bad filters, and needs reports:read', async () => {
    expectError(
      await api.request('/reports/charges.csv?status=bogus', { token: auditor.token }),
      422,
      'VALIDATION_ERROR',
    );
    expectError(
      await api.request('/reports/charges.csv?from=2026-05-02&to=2026-05-01', { token: auditor.token }),
      422,
      'VALIDATION_ERROR',
    );
    expectError(await api.request('/reports/charges.csv?evil=1', { token: auditor.token }), 400, 'BAD_REQUEST');
    expectError(await api.request('/reports/charges.xlsx', { token: operator.token }), 403, 'FORBIDDEN');
    expectError(await api.request('/reports/charges.pdf', { token: viewer.token }), 403, 'FORBIDDEN');
  });

  describe('above the inline limit', () => {
    beforeEach(() => {
      vi.stubEnv('REPORT_INLINE_MAX_BYTES', '200');
      resetConfig();
    });
    afterEach(() => {
      vi.unstubAllEnvs();
      resetConfig();
    });

    it('answers 303 to a short-lived link when the file is above the inline limit', async () => {
      // Act
      const res = await download('/reports/charges.csv', auditor.token);

      // Assess
      expect(res.status).toBe(303);
      const location = res.headers.get('location') as string;
      expect(location).toMatch(new RegExp(`^${api.url}/_local/report-files/exports/`));
      expect(new URL(location).searchParams.get('expires')).toMatch(/^\d+$/);
      const file = await download(location);
      expect(file.status).toBe(200);
      // The stored Content-Type comes back, as S3 serves it.
      expect(file.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(parse(file.body.toString('utf8'), { bom: true, columns: true })).toHaveLength(5);
      // A tampered link is refused, as S3 refuses a bad signature.
      const forged = new URL(location);
      forged.searchParams.set('expires', String(Number(forged.searchParams.get('expires')) + 1));
      expect((await download(forged.toString())).status).toBe(403);
    });
  });
});

describe('audit exports', () => {
  it('an operator or a viewer cannot export audit data; an auditor can', async () => {
    expectError(await api.request('/reports/audit.csv', { token: operator.token }), 403, 'FORBIDDEN');
    expectError(await api.request('/reports/audit.xlsx', { token: viewer.token }), 403, 'FORBIDDEN');
    // The audit trail is written by the stream poller: wait (bounded by attempts) for the charge's records.
    const records = await eventually(async () => {
      const res = await download('/reports/audit.csv', auditor.token);
      expect(res.status).toBe(200);
      const rows = parse(res.body.toString('utf8'), { bom: true, columns: true }) as Record<string, string>[];
      expect(rows.some((r) => r.Objekt === chargeId && r.Aktion === 'update')).toBe(true);
      return rows;
    });
    const update = records.find((r) => r.Objekt === chargeId && r.Aktion === 'update');
    expect(update).toMatchObject({ Objektart: 'charge', Benutzer: qm.username, Begründung: 'Prüfung bestanden' });
    expect(JSON.parse(update?.['Änderungen'] as string)).toMatchObject({
      status: { from: 'quarantine', to: 'released' },
    });

    const xlsx = await download('/reports/audit.xlsx?from=2020-01-01', auditor.token);
    expect(xlsx.status).toBe(200);
    const sheet = await readSheet(xlsx.body);
    expect((sheet[0] as string[])[0]).toBe('Zeitpunkt (UTC)');
    expect((sheet[1] as unknown[])[0]).toBeInstanceOf(Date);
  });
});

describe('report definitions', () => {
  const weekly = {
    name: 'weekly-released',
    title: 'Freigegebene Chargen der Woche',
    kind: 'charges',
    filters: { status: 'released', from: 'P7D' },
    format: 'xlsx',
    schedule: '0 6 ? * MON *',
    timezone: 'Europe/Berlin',
    recipients: ['qa@example.com'],
  };

  it('a viewer or operator cannot manage definitions', async () => {
    expectError(
      await api.request('/reports/definitions', { method: 'POST', token: viewer.token, body: weekly }),
      403,
      'FORBIDDEN',
    );
    expectError(await api.request('/reports/definitions', { token: operator.token }), 403, 'FORBIDDEN');
    expectError(await api.request('/reports/definitions', { token: auditor.token }), 403, 'FORBIDDEN');
  });

  it('refuses bad cron, zone, e-mail, unknown columns and fields', async () => {
    const create = (body: unknown) => api.request('/reports/definitions', { method: 'POST', token: qm.token, body });
    const details = async (body: unknown) =>
      (expectError(await create(body), 422, 'VALIDATION_ERROR').details as { path: string }[]).map((d) => d.path);
    expect(await details({ ...weekly, schedule: '0 6 * * MON *' })).toEqual(['body.schedule']);
    expect(await details({ ...weekly, schedule: 'cron(99 6 ? * MON *)' })).toEqual(['body.schedule']);
    expect(await details({ ...weekly, timezone: 'Europe/Atlantis' })).toEqual(['body.timezone']);
    expect(await details({ ...weekly, recipients: ['qa@example.com', 'not-an-address'] })).toEqual([
      'body.recipients.1',
    ]);
    expect(await details({ ...weekly, columns: ['chargeId', 'password'] })).toEqual(['body.columns.1']);
    expect(await details({ ...weekly, filters: { from: 'last week' } })).toContain('body.filters.from');
    expect(await details({ ...weekly, kind: 'audit', format: 'pdf', filters: {} })).toEqual(['body.format']);
    expectError(await create({ ...weekly, owner: 'me' }), 400, 'BAD_REQUEST');
    const list = await api.request('/reports/definitions', { token: qm.token });
    expect((list.json as { items: unknown[] }).items).toHaveLength(0);
  });

  it('create → a schedule in the local scheduler; update moves it; delete removes it', async () => {
    const created = await api.request('/reports/definitions', {
      method: 'POST',
      token: qm.token,
      body: { ...weekly, schedule: 'cron(0 6 ? * MON *)' },
    });
    expect(created.status, created.text).toBe(201);
    const def = created.json as {
      definitionId: string;
      schedule: string;
      nextRuns: string[];
      lang: string;
      columns: null;
    };
    expect(def).toMatchObject({ schedule: '0 6 ? * MON *', lang: 'de', columns: null });
    expect(created.headers.location).toBe(`/reports/definitions/${def.definitionId}`);
    // Mondays 06:00 in Berlin: 05:00 UTC in winter, 04:00 in summer.
    for (const at of def.nextRuns) expect(new Date(at).getUTCDay()).toBe(1);
    const name = `report-${def.definitionId}`;
    expect(localScheduler().get(name)).toMatchObject({
      cron: '0 6 ? * MON *',
      timezone: 'Europe/Berlin',
      event: { definitionId: def.definitionId },
    });

    const patched = await api.request(`/reports/definitions/${def.definitionId}`, {
      method: 'PATCH',
      token: qm.token,
      body: { schedule: '30 7 ? * FRI *', timezone: 'UTC' },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(localScheduler().get(name)).toMatchObject({ cron: '30 7 ? * FRI *', timezone: 'UTC' });
    expectError(
      await api.request(`/reports/definitions/${def.definitionId}`, {
        method: 'PATCH',
        token: qm.token,
        body: { timezone: 'Nowhere/City' },
      }),
      422,
      'VALIDATION_ERROR',
    );
    expect(localScheduler().get(name)?.timezone).toBe('UTC');

    const off = await api.request(`/reports/definitions/${def.definitionId}`, {
      method: 'PATCH',
      token: qm.token,
      body: { schedule: null },
    });
    expect(off.status).toBe(200);
    expect(localScheduler().get(name)).toBeUndefined();
    await api.request(`/reports/definitions/${def.definitionId}`, {
      method: 'PATCH',
      token: qm.token,
      body: { schedule: '0 6 ? * MON *' },
    });
    expect(localScheduler().get(name)).toBeDefined();

    const del = await api.request(`/reports/definitions/${def.definitionId}`, { method: 'DELETE', token: qm.token });
    expect(del.status).toBe(204);
    expect(localScheduler().get(name)).toBeUndefined();
    expectError(await api.request(`/reports/definitions/${def.definitionId}`, { token: qm.token }), 404, 'NOT_FOUND');
  });

  it('a scheduled run: run record, stored file, and an e-mail in the outbox with the link', async () => {
    const created = await api.request('/reports/definitions', {
      method: 'POST',
      token: qm.token,
      body: { ...weekly, filters: { status: 'released', from: 'P3650D' } },
    });
    expect(created.status, created.text).toBe(201);
    const { definitionId } = created.json as { definitionId: string };
    // The fake clock: what croner does when the schedule is due.
    await localScheduler().fire(`report-${definitionId}`);

    const runs = await api.request(`/reports/runs?definitionId=${definitionId}`, { token: auditor.token });
    expect(runs.status).toBe(200);
    const [run] = (runs.json as { items: Record<string, unknown>[] }).items;
    expect(run).toMatchObject({
      definitionId,
      status: 'succeeded',
      trigger: 'schedule',
      rows: 1,
      format: 'xlsx',
      error: null,
      deliveredTo: ['qa@example.com'],
    });
    expect(run?.bytes).toBeGreaterThan(0);
    expect(Date.parse(run?.finishedAt as string)).toBeGreaterThanOrEqual(Date.parse(run?.startedAt as string));
    expect(run).not.toHaveProperty('objectKey');

    const stored = readdirSync(join(stateDir(), 'reports', 'runs', run?.runId as string));
    // The file, and beside it what S3 would keep as object metadata (its Content-Type).
    expect(stored.sort()).toEqual([run?.filename, `${run?.filename}.meta.json`]);

    const outbox = join(stateDir(), 'outbox');
    const mails = readdirSync(outbox).map((f) => readFileSync(join(outbox, f), 'utf8'));
    const mail = mails.find((m) => m.includes(run?.runId as string)) as string;
    expect(mail).toContain('To: qa@example.com');
    // The mailed link opens the run in the console (a fragment route, so no id reaches a server log).
    expect(mail).toContain(`${api.url}/console/#/reports/runs/${run?.runId}`);
    expect(mail).not.toContain('/download');

    // The console's download: signed-in reader → 303 to the short-lived file URL → the XLSX.
    const redirect = await download(`${api.url}/reports/runs/${run?.runId}/download`, auditor.token);
    expect(redirect.status).toBe(303);
    const file = await download(redirect.headers.get('location') as string);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const sheet = await readSheet(file.body);
    expect(sheet).toHaveLength(2);
    expect((sheet[0] as string[]).slice(0, 2)).toEqual(['Chargennummer', 'Charge']);
    expect((sheet[1] as unknown[]).slice(0, 2)).toEqual([lotNumber, chargeId]);
    expectError(await api.request(`/reports/runs/${run?.runId}/download`, { token: viewer.token }), 403, 'FORBIDDEN');
  });

  it('run now: the same runner code; a run that cannot store its file is retried, then recorded failed', async () => {
    const created = await api.request('/reports/definitions', {
      method: 'POST',
      token: qm.token,
      body: {
        ...weekly,
        name: 'on-demand',
        filters: { status: 'released' },
        format: 'csv',
        schedule: null,
        recipients: [],
        columns: ['articleId', 'quantity'],
      },
    });
    expect(created.status, created.text).toBe(201);
    const { definitionId } = created.json as { definitionId: string };
    expect(localScheduler().get(`report-${definitionId}`)).toBeUndefined();

    const ok = await api.request(`/reports/definitions/${definitionId}/run`, { method: 'POST', token: qm.token });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json).toMatchObject({
      status: 'succeeded',
      trigger: 'manual',
      requestedBy: { username: qm.username },
      rows: 1,
      attempts: 1,
    });
    // The Location names the run itself: readable by a reports:read user, without the object key.
    const runUrl = ok.headers.location as string;
    expect(runUrl).toBe(`/reports/runs/${(ok.json as { runId: string }).runId}`);
    const fetched = await api.request(runUrl, { token: auditor.token });
    expect(fetched.status, fetched.text).toBe(200);
    expect(fetched.json).toEqual(ok.json);
    expect(fetched.json).not.toHaveProperty('objectKey');
    expectError(await api.request('/reports/runs/no-such-run', { token: auditor.token }), 404, 'NOT_FOUND');
    const link = await download(`/reports/runs/${(ok.json as { runId: string }).runId}/download`, auditor.token);
    const file = await download(link.headers.get('location') as string);
    expect(parse(file.body.toString('utf8'), { bom: true })).toEqual([
      ['Artikel', 'Menge'],
      ['ART-Łódź', '1234.5'],
    ]);

    // The object store breaks: where the run folders go is now a file.
    const runsDir = join(stateDir(), 'reports', 'runs');
    rmSync(runsDir, { recursive: true, force: true });
    writeFileSync(runsDir, 'in the way');
    try {
      const failed = await api.request(`/reports/definitions/${definitionId}/run`, { method: 'POST', token: qm.token });
      expect(failed.status, failed.text).toBe(201);
      // The record (readable with reports:read) says what failed, by error id; the cause (a path here, account ids
      // and role ARNs in AWS) stays in the log.
      expect(failed.json).toMatchObject({
        status: 'failed',
        attempts: 2,
        error: expect.stringMatching(
          /^The report could not be built or stored \(error id [0-9a-f-]{36}; see the log\)$/,
        ),
      });
      expect((failed.json as { error: string }).error).not.toMatch(/ENOTDIR|EEXIST|\//);
      const runs = await api.request(`/reports/runs?definitionId=${definitionId}`, { token: qm.token });
      const statuses = (runs.json as { items: { status: string }[] }).items.map((r) => r.status);
      expect(statuses).toEqual(['failed', 'succeeded']);
      expectError(
        await api.request(`/reports/runs/${(failed.json as { runId: string }).runId}/download`, { token: qm.token }),
        404,
        'NOT_FOUND',
      );
    } finally {
      rmSync(runsDir, { force: true });
    }
  });

  it('a quality manager (who holds audit:read) may define an audit report', async () => {
    const created = await api.request('/reports/definitions', {
      method: 'POST',
      token: qm2.token,
      body: {
        name: 'audit-daily',
        title: 'Audit',
        kind: 'audit',
        format: 'csv',
        filters: { from: 'P1D' },
        schedule: '0 5 * * ? *',
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ kind: 'audit', timezone: 'UTC', recipients: [] });
  });
});

describe('definitions: windows, one-line titles, audit mails', () => {
  const audit = {
    name: 'audit-century',
    title: 'Audit des Jahrhunderts',
    kind: 'audit',
    format: 'csv',
    filters: { from: 'P100Y' },
    recipients: ['audit@example.com'],
  };
  const create = (body: unknown) => api.request('/reports/definitions', { method: 'POST', token: qm2.token, body });
  const paths = async (body: unknown) =>
    (expectError(await create(body), 422, 'VALIDATION_ERROR').details as { path: string }[]).map((d) => d.path);

  it('a window longer than 100 years is refused; P100Y runs and finds the trail (from the epoch on)', async () => {
    expect(await paths({ ...audit, name: 'audit-P9999Y', filters: { from: 'P9999Y' } })).toEqual(['body.filters.from']);
    expect(await paths({ ...audit, name: 'audit-P101Y', filters: { from: 'P101Y' } })).toEqual(['body.filters.from']);

    const created = await create(audit);
    expect(created.status, created.text).toBe(201);
    const { definitionId } = created.json as { definitionId: string };
    const run = await api.request(`/reports/definitions/${definitionId}/run`, { method: 'POST', token: qm2.token });
    expect(run.status, run.text).toBe(201);
    const result = run.json as { runId: string; status: string; rows: number };
    expect(result.status).toBe('succeeded');
    expect(result.rows).toBeGreaterThan(0);

    // The mail names every permission the download needs: an audit report is audit data.
    const outbox = join(stateDir(), 'outbox');
    const mail = readdirSync(outbox)
      .map((f) => readFileSync(join(outbox, f), 'utf8'))
      .find((m) => m.includes(result.runId)) as string;
    expect(mail).toContain('To: audit@example.com');
    expect(mail).toContain('Anmeldung mit den Berechtigungen reports:read und audit:read erforderlich');
  });

  it('name and title are one line: control characters are refused', async () => {
    expect(
      await paths({ ...audit, title: 'Wöchentlich\n\nBitte melden Sie sich unter https://evil.example/login an\n' }),
    ).toEqual(['body.title']);
    expect(await paths({ ...audit, title: 'Wöchentlich\r\nBcc: x@example.com' })).toEqual(['body.title']);
    expect(await paths({ ...audit, name: 'weekly\u0000' })).toEqual(['body.name']);
    const created = await create({ ...audit, name: 'one-line', filters: {} });
    expect(created.status, created.text).toBe(201);
    const { definitionId } = created.json as { definitionId: string };
    const patched = await api.request(`/reports/definitions/${definitionId}`, {
      method: 'PATCH',
      token: qm2.token,
      body: { title: 'a\u2028b' },
    });
    expect((expectError(patched, 422, 'VALIDATION_ERROR').details as { path: string }[]).map((d) => d.path)).toEqual([
      'body.title',
    ]);
  });
});

describe('PDFs: characters Noto Sans lacks are shown, not dropped', () => {
  it('CJK and emoji notes print as U+FFFD in the Chargenbericht and the list; Latin text and whole statuses stay', async () => {
    const make = async (notes: string) =>
      (
        await seedCharge(api, operator.token, {
          articleId: 'ART-Łódź-CJK',
          productionDate: '2026-06-01',
          status: 'in_production',
          notes,
        })
      ).chargeId;
    const cjk = await make('测试 テスト 한국어');
    await make('Test 😀 🚀');
    const cjkText = '\uFFFD\uFFFD \uFFFD\uFFFD\uFFFD \uFFFD\uFFFD\uFFFD';

    for (const lang of ['de', 'en']) {
      const report = await download(`/charges/${cjk}/report.pdf?lang=${lang}`, auditor.token);
      expect(report.status).toBe(200);
      const text = pdftotext(report.body);
      expect(text).toContain('ART-Łódź-CJK');
      // The notes field and the history's initial values both show the replacement.
      expect(text.split(cjkText).length - 1).toBeGreaterThanOrEqual(2);
    }

    const list = await download('/reports/charges.pdf?articleId=ART-%C5%81%C3%B3d%C5%BA-CJK&lang=en', auditor.token);
    expect(list.status).toBe(200);
    const text = pdftotext(list.body);
    expect(text).toContain(cjkText);
    expect(text).toContain('Test \uFFFD \uFFFD');
    expect(text).toContain('ART-Łódź-CJK');
    expect(text.match(/in_production/g)).toHaveLength(2);
  });
});
