import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { stubEnvForAll } from '#test/support/env';
import { eventually } from '#test/support/eventually';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

/** Report definitions are not a mail relay: few recipients, allowed domains, one mail each, at most hourly, 100 at most. */
stubEnvForAll({
  REPORT_MAX_RECIPIENTS: '3',
  REPORT_RECIPIENT_DOMAINS: 'Example.com, example.org',
  // The limit of 100 definitions is reached through the API.
  RATE_LIMIT_PER_MINUTE: '10000',
});

let api: LocalApi;
let admin: string;

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(() => api?.stop());

const definition = (overrides: Record<string, unknown> = {}) => ({
  name: `limits-${Math.random().toString(36).slice(2, 8)}`,
  title: 'Limits',
  kind: 'charges',
  format: 'csv',
  schedule: null,
  recipients: ['qa@example.com'],
  ...overrides,
});
const create = (body: unknown) => api.request('/reports/definitions', { method: 'POST', token: admin, body });
/**
 * A create as a client makes it in a burst: a 503 (the local authorizer's 5 s timeout on a busy machine, before the
 * reports function is reached) is tried again, as its Retry-After asks; any other answer is the create's.
 */
async function createRetrying(body: unknown) {
  for (let attempt = 1; ; attempt++) {
    const res = await create(body);
    if (res.status !== 503 || attempt === 5) return res;
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
}
const issues = (res: { json: unknown }) =>
  (res.json as { error: { details: Array<{ path: string; code: string }> } }).error.details.map((d) => [
    d.path,
    d.code,
  ]);

describe('recipients', () => {
  it('at most REPORT_MAX_RECIPIENTS: 422', async () => {
    const res = await create(
      definition({ recipients: ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com'] }),
    );
    expectError(res, 422, 'VALIDATION_ERROR');
    expect(issues(res)).toEqual([['body.recipients', 'too_many_recipients']]);
  });

  it('each in REPORT_RECIPIENT_DOMAINS, matched exactly and in any case: 422 naming the recipient', async () => {
    const res = await create(definition({ recipients: ['qa@EXAMPLE.com', 'x@evil.example', 'y@sub.example.com'] }));
    expectError(res, 422, 'VALIDATION_ERROR');
    expect(issues(res)).toEqual([
      ['body.recipients.1', 'recipient_domain'],
      ['body.recipients.2', 'recipient_domain'],
    ]);
  });

  it('each once: 422 for the same address twice', async () => {
    const res = await create(definition({ recipients: ['qa@example.com', 'QA@example.com'] }));
    expect(issues(res)).toEqual([['body.recipients.1', 'duplicate_recipient']]);
  });

  it('the same on PATCH', async () => {
    const made = await create(definition());
    expect(made.status, made.text).toBe(201);
    const id = (made.json as { definitionId: string }).definitionId;
    const res = await api.request(`/reports/definitions/${id}`, {
      method: 'PATCH',
      token: admin,
      body: { recipients: ['x@evil.example'] },
    });
    expect(issues(res)).toEqual([['body.recipients.0', 'recipient_domain']]);
    expect((await api.request(`/reports/definitions/${id}`, { method: 'DELETE', token: admin })).status).toBe(204);
  });

  it('one mail per recipient: nobody sees the others', async () => {
    const recipients = ['one@example.com', 'two@example.org', 'three@example.com'];
    const made = await create(definition({ recipients }));
    expect(made.status, made.text).toBe(201);
    const id = (made.json as { definitionId: string }).definitionId;
    const run = await api.request(`/reports/definitions/${id}/run`, { method: 'POST', token: admin });
    expect(run.status, run.text).toBe(201);
    const { runId, status, deliveredTo } = run.json as { runId: string; status: string; deliveredTo: string[] };
    expect(status).toBe('succeeded');
    expect(deliveredTo).toEqual(recipients);

    const outbox = join(process.env.LOCAL_STATE_DIR as string, 'outbox');
    const mails = readdirSync(outbox)
      .map((f) => readFileSync(join(outbox, f), 'utf8'))
      .filter((m) => m.includes(runId));
    const toLines = mails.map((m) => m.split('\r\n').filter((l) => /^(To|Cc|Bcc):/i.test(l)));
    expect(toLines.sort()).toEqual(recipients.map((r) => [`To: ${r}`]).sort());
    expect((await api.request(`/reports/definitions/${id}`, { method: 'DELETE', token: admin })).status).toBe(204);
  });
});

describe('schedules', () => {
  const refused: Array<[string, string, string]> = [
    ['every 30 minutes', '0/30 * * * ? *', 'schedule_too_frequent'],
    ['twice in one hour', '0,30 6 ? * MON *', 'schedule_too_frequent'],
    ['every minute', '* * * * ? *', 'schedule_too_frequent'],
    ['day-of-week 8, as EventBridge refuses it', '0 0 ? * 8 *', 'invalid_cron'],
    ['day-of-week 0', '0 0 ? * 0 *', 'invalid_cron'],
  ];
  it.each(refused)('%s (%s): 422 %s', async (_name, schedule, code) => {
    const res = await create(definition({ schedule }));
    expectError(res, 422, 'VALIDATION_ERROR');
    expect(issues(res)).toEqual([['body.schedule', code]]);
  });

  it('half-hour summer time: hourly at :45 on Lord Howe Island fires twice within an hour, so 422', async () => {
    const res = await create(definition({ schedule: '45 * * * ? *', timezone: 'Australia/Lord_Howe' }));
    expect(issues(res)).toEqual([['body.schedule', 'schedule_too_frequent']]);
  });

  it('hourly is allowed', async () => {
    const res = await create(definition({ schedule: '0 * * * ? *', timezone: 'Europe/Berlin' }));
    expect(res.status, res.text).toBe(201);
    const id = (res.json as { definitionId: string }).definitionId;
    expect((await api.request(`/reports/definitions/${id}`, { method: 'DELETE', token: admin })).status).toBe(204);
  });
});

describe('the audit trail', () => {
  it('records create, change and delete as report-definition, with actor and changes', async () => {
    const made = await create(definition({ title: 'Before' }));
    expect(made.status, made.text).toBe(201);
    const id = (made.json as { definitionId: string }).definitionId;
    const patched = await api.request(`/reports/definitions/${id}`, {
      method: 'PATCH',
      token: admin,
      body: { title: 'After' },
    });
    expect(patched.status, patched.text).toBe(200);
    expect((await api.request(`/reports/definitions/${id}`, { method: 'DELETE', token: admin })).status).toBe(204);

    // Written from the reports table's stream by the audit function, a moment later.
    const records = await eventually(async () => {
      const res = await api.request(`/audit?entityType=report-definition&entityId=${id}&limit=10`, { token: admin });
      expect(res.status, res.text).toBe(200);
      const items = (res.json as { items: Array<Record<string, unknown>> }).items;
      expect(items).toHaveLength(3);
      return items;
    });
    const byAction = Object.fromEntries(records.map((r) => [r.action, r]));
    expect(Object.keys(byAction).sort()).toEqual(['create', 'delete', 'update']);
    for (const r of records) {
      expect(r).toMatchObject({ entityType: 'report-definition', entityId: id, actor: { username: 'admin' } });
      expect(r.requestId).toEqual(expect.any(String));
    }
    expect(byAction.create?.changes).toMatchObject({ title: { from: null, to: 'Before' } });
    expect(byAction.update?.changes).toEqual({ title: { from: 'Before', to: 'After' } });
    expect(byAction.delete?.changes).toMatchObject({ title: { from: 'After', to: null } });
    const verify = await api.request(`/audit/verify?entityType=report-definition&entityId=${id}`, { token: admin });
    expect(verify.json).toMatchObject({ valid: true });
  });
});

describe('at most 100 definitions', () => {
  it('past 100 a create is 409 CONFLICT, also when many arrive at once; a delete makes room again', async () => {
    const existing = (
      (await api.request('/reports/definitions?limit=100', { token: admin })).json as { items: unknown[] }
    ).items.length;
    const attempts = await Promise.all(
      Array.from({ length: 105 - existing }, () => createRetrying(definition({ recipients: [] }))),
    );
    const statuses = attempts.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(100 - existing);
    expect(statuses.filter((s) => s !== 201)).toEqual([409, 409, 409, 409, 409]);
    const refused = attempts.find((r) => r.status === 409) as (typeof attempts)[number];
    expect(expectError(refused, 409, 'CONFLICT').details).toEqual({ limit: 100 });

    const first = attempts.find((r) => r.status === 201) as (typeof attempts)[number];
    const id = (first.json as { definitionId: string }).definitionId;
    expect((await api.request(`/reports/definitions/${id}`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await create(definition({ recipients: [] }))).status).toBe(201);
    expectError(await create(definition({ recipients: [] })), 409, 'CONFLICT');
  }, 120_000);
});
