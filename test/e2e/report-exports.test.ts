import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChargeState } from '#charges/model';
import { toItems } from '#charges/store';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { seedCharge } from '#test/support/charges';
import { type TestUser, userWithRoles } from '#test/support/users';

let api: LocalApi;
let operator: TestUser;
let qm: TestUser;
let auditor: TestUser;
let viewer: TestUser;

beforeAll(async () => {
  api = await startLocalApi();
  [operator, qm, auditor, viewer] = await Promise.all([
    userWithRoles(api, ['operator']),
    userWithRoles(api, ['quality_manager']),
    userWithRoles(api, ['auditor']),
    userWithRoles(api, ['viewer']),
  ]);
}, 120_000);
afterAll(() => api?.stop());

async function get(path: string, token: string) {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}
/** A token of a service account holding reports:read only (no role has reports:read without audit:read). */
async function reportsReaderToken(): Promise<string> {
  const created = await api.request('/service-accounts', {
    method: 'POST',
    token: await adminToken(api),
    body: { name: 'report-reader', permissions: ['reports:read'], reason: 'Exports the batch list nightly' },
  });
  expect(created.status, created.text).toBe(201);
  const { clientId, clientSecret } = created.json as { clientId: string; clientSecret: string };
  const res = await api.request('/auth/token', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
    },
    rawBody: new URLSearchParams({ grant_type: 'client_credentials', scope: 'reports:read' }).toString(),
  });
  expect(res.status, res.text).toBe(200);
  return (res.json as { access_token: string }).access_token;
}
const csv = (body: Buffer) => parse(body.toString('utf8').replace(/^\uFEFF/, '')) as string[][];

describe('ad-hoc exports: columns and deleted charges', () => {
  const article = `COLS-${Date.now()}`;
  let kept: string;
  let deleted: string;

  beforeAll(async () => {
    kept = (await seedCharge(api, operator.token, { articleId: article, notes: 'bleibt' })).chargeId;
    const gone = await seedCharge(api, operator.token, { articleId: article, notes: 'geht' });
    deleted = gone.chargeId;
    const res = await api.request(`/charges/${deleted}`, {
      method: 'DELETE',
      token: qm.token,
      headers: { 'If-Match': '"1"' },
      body: { reason: 'Doppelt erfasst' },
    });
    expect(res.status, res.text).toBe(204);
  });

  it('columns= picks and orders the fields, as a definition does; an unknown one is 422', async () => {
    const res = await get(`/reports/charges.csv?articleId=${article}&columns=notes,lotNumber,chargeId`, auditor.token);
    expect(res.status).toBe(200);
    const rows = csv(res.body);
    expect(rows[0]).toEqual(['Bemerkungen', 'Chargennummer', 'Charge']);
    expect(rows.slice(1).map((r) => r[2])).toEqual([kept]);
    const bad = await api.request(`/reports/charges.csv?columns=chargeId,password`, { token: auditor.token });
    expectError(bad, 422, 'VALIDATION_ERROR');
    const twice = await api.request(`/reports/charges.xlsx?columns=chargeId,chargeId`, { token: auditor.token });
    expectError(twice, 422, 'VALIDATION_ERROR');
  });

  it('includeDeleted=true needs audit:read, and marks each deleted row with its deletion time', async () => {
    const refused = await api.request(`/reports/charges.csv?articleId=${article}&includeDeleted=true`, {
      token: viewer.token,
    });
    expectError(refused, 403, 'FORBIDDEN');
    // A caller who may export (reports:read) but not read the audit trail: the list, yes; the deleted charges, no.
    const reader = await reportsReaderToken();
    expect((await get(`/reports/charges.csv?articleId=${article}`, reader)).status).toBe(200);
    const withDeleted = await api.request(`/reports/charges.csv?articleId=${article}&includeDeleted=true`, {
      token: reader,
    });
    expectError(withDeleted, 403, 'FORBIDDEN');

    const plain = csv((await get(`/reports/charges.csv?articleId=${article}`, auditor.token)).body);
    expect(plain.slice(1).map((r) => r[plain[0]!.indexOf('Charge')])).toEqual([kept]);

    // The deletion reaches the audit trail through the stream: ask until it is there.
    let rows: string[][] = [];
    for (let attempt = 0; attempt < 60; attempt++) {
      const res = await get(`/reports/charges.csv?articleId=${article}&includeDeleted=true`, auditor.token);
      expect(res.status).toBe(200);
      rows = csv(res.body);
      if (rows.length === 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const header = rows[0] as string[];
    const byId = new Map(rows.slice(1).map((r) => [r[header.indexOf('Charge')], r]));
    expect([...byId.keys()].sort()).toEqual([kept, deleted].sort());
    expect(header.at(-1)).toBe('Gelöscht am');
    expect(byId.get(kept)?.at(-1)).toBe('');
    expect(byId.get(deleted)?.at(-1)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("a deleted charge's Chargenbericht: for auditors, marked deleted; 404 for others", async () => {
    const forAuditor = await get(`/charges/${deleted}/report.pdf`, auditor.token);
    expect(forAuditor.status, forAuditor.body.toString().slice(0, 500)).toBe(200);
    expect(forAuditor.body.subarray(0, 5).toString()).toBe('%PDF-');
    const forViewer = await api.request(`/charges/${deleted}/report.pdf`, { token: operator.token });
    expect(forViewer.status).toBe(403); // operators hold no reports:read
    const forQmWithout = await api.request(`/charges/${deleted}/report.pdf`, { token: viewer.token });
    expect([403, 404]).toContain(forQmWithout.status);
  });
});

describe('audit exports with the filters of the audit explorer', () => {
  it('entityType and entityId narrow the export to the records shown; entityId alone is 422', async () => {
    // Prepare: two charges, each with its create record on the trail
    const mine = await seedCharge(api, operator.token, { articleId: `AUDX-${Date.now()}` });
    await seedCharge(api, operator.token, { articleId: `AUDX-other-${Date.now()}` });
    await expect
      .poll(
        async () =>
          (
            (await api.request(`/audit?entityType=charge&entityId=${mine.chargeId}`, { token: auditor.token }))
              .json as {
              items: unknown[];
            }
          ).items.length,
        { timeout: 20_000 },
      )
      .toBe(1);

    // Act
    const res = await get(`/reports/audit.csv?entityType=charge&entityId=${mine.chargeId}&lang=en`, auditor.token);
    const alone = await api.request(`/reports/audit.csv?entityId=${mine.chargeId}`, { token: auditor.token });

    // Assess: exactly that charge's record, and the filter named on the file's own terms
    expect(res.status).toBe(200);
    const rows = csv(res.body).slice(1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(mine.chargeId);
    expectError(alone, 422, 'VALIDATION_ERROR');
  });
});

describe('the local server stays responsive while a big report is built', () => {
  const article = `BULK-${Date.now()}`;
  const COUNT = 2000;
  let lastId = '';

  beforeAll(async () => {
    const actor = { userId: operator.userId, username: operator.username };
    const at = new Date().toISOString();
    const items = Array.from(
      { length: COUNT },
      (_, i): ChargeState =>
        ({
          chargeId: randomUUID(),
          lotNumber: `BULK-${i}`,
          articleId: article,
          quantity: 1000 + i / 1000,
          unit: 'kg',
          productionDate: '2026-02-01',
          status: 'quarantine',
          notes: `Probe ${i} Łódź Größe`,
          version: 1,
          createdAt: at,
          createdBy: actor,
          updatedAt: at,
          updatedBy: actor,
          requestId: 'seed',
          reason: null,
        }) as ChargeState,
    );
    lastId = (items.at(-1) as ChargeState).chargeId;
    const db = documentDb();
    const table = tableName('charges');
    const live = items.map((c) => toItems(c).live);
    for (let i = 0; i < live.length; i += 25) {
      let batch = live.slice(i, i + 25) as Record<string, unknown>[];
      for (let attempt = 0; batch.length > 0 && attempt < 20; attempt++) {
        const res = await db.send(
          new BatchWriteCommand({ RequestItems: { [table]: batch.map((Item) => ({ PutRequest: { Item } })) } }),
        );
        batch = (res.UnprocessedItems?.[table] ?? []).map((r) => r.PutRequest?.Item as Record<string, unknown>);
      }
    }
    // The stream poller audits these writes (out of band) on this process: measure once it is done.
    for (let attempt = 0; attempt < 600; attempt++) {
      const res = await api.request(`/audit?entityType=charge&entityId=${lastId}`, { token: auditor.token });
      if (res.status === 200 && (res.json as { items: unknown[] }).items.length > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // The report worker starts with the first report: start it now, so the measured export is a warm one.
    expect((await get(`/reports/charges.pdf?articleId=${article}-none`, qm.token)).status).toBe(200);
  }, 400_000);

  it('health answers during a 2 000-row German PDF export take a small part of the export’s time', async () => {
    // A health answer that never comes (the server resets a request it could not read in time) counts as failed.
    const health = async () => {
      const t = performance.now();
      try {
        const res = await fetch(`${api.url}/status/health`);
        await res.arrayBuffer();
        return { ms: performance.now() - t, failed: res.status === 200 ? undefined : `status ${res.status}` };
      } catch (err) {
        return { ms: performance.now() - t, failed: String((err as Error).cause ?? err) };
      }
    };
    const baseline: number[] = [];
    for (let i = 0; i < 20; i++) baseline.push((await health()).ms);

    const started = performance.now();
    let done = false;
    const exported = get(`/reports/charges.pdf?articleId=${article}&lang=de`, qm.token)
      .catch((err: Error) => ({ status: 0, body: Buffer.from(String(err.cause ?? err)) }))
      .finally(() => {
        done = true;
      });
    const during: { ms: number; failed?: string }[] = [];
    while (!done) during.push(await health());
    const file = await exported;
    const exportMs = performance.now() - started;
    const times = during.map((d) => d.ms.toFixed(0));

    // In-process, pdf-lib held the event loop for most of the export: health answers waited for all of it (or were
    // cut off by the server's own request timeouts). Off the event loop, health keeps answering: many answers, each a
    // small part of the export's time.
    expect(
      during.filter((d) => d.failed).map((d) => `${d.failed} after ${d.ms.toFixed(0)} ms`),
      `health answers that failed during a ${exportMs.toFixed(0)} ms export`,
    ).toEqual([]);
    expect(file.status, file.body.toString().slice(0, 300)).toBe(200);
    expect(file.body.subarray(0, 5).toString()).toBe('%PDF-');
    const slowest = Math.max(...during.map((d) => d.ms));
    const median = [...baseline].sort((a, b) => a - b)[10] as number;
    expect(during.length, `export ${exportMs.toFixed(0)} ms, health ${times}`).toBeGreaterThan(10);
    expect(
      slowest / exportMs,
      `slowest ${slowest.toFixed(0)} ms of ${exportMs.toFixed(0)} ms; baseline median ${median.toFixed(1)} ms`,
    ).toBeLessThan(0.25);
  }, 300_000);
});
