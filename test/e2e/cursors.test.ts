import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type TestUser, userWithRoles } from '#test/support/users';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { eventually } from '#test/support/eventually';
import { seedCharge } from '#test/support/charges';

/**
 * A cursor from another query, or a forged one, must not reach DynamoDB as an ExclusiveStartKey outside the key
 * condition ("The provided starting key does not match the range key predicate", a 500). Cursors are bound to
 * their query and their key is checked: 400.
 */
let api: LocalApi;
let admin: string;
let operator: TestUser;
let auditor: TestUser;
let other: TestUser;

type Page = { items: unknown[]; nextCursor: string | null };

const decode = (cursor: string) =>
  JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { q: string; p: Record<string, unknown> };
const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
/** The cursor with its position changed but its query digest kept: what a forger who read the format would send. */
const tamper = (cursor: string, change: (p: Record<string, unknown>) => void) => {
  const parsed = decode(cursor);
  change(parsed.p);
  return encode(parsed);
};

async function page(path: string, token: string): Promise<Page> {
  const res = await api.request(path, { token });
  expect(res.status, res.text).toBe(200);
  return res.json as Page;
}

/** A page's cursor; the audit trail is written asynchronously, so ask until there is a next page. */
const cursorOf = (path: string, token: string): Promise<string> =>
  eventually(async () => {
    const { nextCursor } = await page(path, token);
    expect(nextCursor, `next page for ${path}`).toEqual(expect.any(String));
    return nextCursor as string;
  });

const badCursor = async (path: string, token: string) => {
  const error = expectError(await api.request(path, { token }), 400, 'BAD_REQUEST');
  expect(error.message).toMatch(/cursor/);
};

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
  [operator, auditor, other] = await Promise.all([
    userWithRoles(api, ['operator']),
    userWithRoles(api, ['auditor']),
    userWithRoles(api, ['viewer']),
  ]);
  const charge = (productionDate: string, status?: string) =>
    seedCharge(api, operator.token, { articleId: 'CURSOR-1', productionDate, status });
  await Promise.all([
    charge('2026-03-01', 'quarantine'),
    charge('2026-03-02', 'quarantine'),
    charge('2026-03-03', 'quarantine'),
    charge('2026-03-04'),
    charge('2026-03-05'),
  ]);
});
afterAll(() => api?.stop());

describe('GET /charges cursors', () => {
  it('still page through the query they came from', async () => {
    const first = await page('/charges?status=quarantine&limit=2', operator.token);
    expect(first.items).toHaveLength(2);
    const next = await page(`/charges?status=quarantine&limit=2&cursor=${first.nextCursor}`, operator.token);
    expect(next.items.length).toBeGreaterThanOrEqual(1);
  });

  it('from another status is 400', async () => {
    const cursor = await cursorOf('/charges?status=quarantine&limit=1', operator.token);
    await badCursor(`/charges?status=released&cursor=${cursor}`, operator.token);
  });

  it('from the unfiltered list, used with a date range, is 400', async () => {
    const cursor = await cursorOf('/charges?limit=1', operator.token);
    await badCursor(`/charges?cursor=${cursor}&from=2026-10-01&to=2026-10-02`, operator.token);
  });

  it('forged in the old format ({i, k}) is 400', async () => {
    const forged = encode({ i: 'byStatus', k: { status: 'quarantine', listSk: 'x' } });
    await badCursor(`/charges?status=quarantine&cursor=${forged}`, operator.token);
  });

  it('with the right query digest but a key outside the key condition is 400', async () => {
    const path = '/charges?status=quarantine&to=2026-12-31&limit=1';
    const cursor = await cursorOf(path, operator.token);
    await badCursor(`${path}&cursor=${tamper(cursor, (p) => (p.listSk = 'x'))}`, operator.token);
    await badCursor(`${path}&cursor=${tamper(cursor, (p) => (p.status = 'released'))}`, operator.token);
    await badCursor(`${path}&cursor=${tamper(cursor, (p) => (p.sk = 'V#0000000001'))}`, operator.token);
    await badCursor(`${path}&cursor=${tamper(cursor, (p) => delete p.chargeId)}`, operator.token);
  });
});

describe('GET /audit cursors', () => {
  it('from one entity, used for another, is 400', async () => {
    const cursor = await cursorOf(`/audit?entityType=user&entityId=${operator.userId}&limit=1`, auditor.token);
    await badCursor(`/audit?entityType=user&entityId=${other.userId}&cursor=${cursor}`, auditor.token);
  });

  it('from one actor, used for another, is 400', async () => {
    const cursor = await cursorOf(`/audit?actor=${operator.userId}&limit=1`, auditor.token);
    await badCursor(`/audit?actor=${other.userId}&cursor=${cursor}`, auditor.token);
  });

  it('forged ({s, k} with foreign attributes) is 400', async () => {
    const forged = encode({ s: 'entity', k: { foo: 'bar' } });
    await badCursor(`/audit?entityType=user&entityId=${operator.userId}&cursor=${forged}`, auditor.token);
  });

  it('with the right query digest but a key of another entity, actor or month is 400', async () => {
    const byEntity = `/audit?entityType=user&entityId=${operator.userId}&limit=1`;
    const entityCursor = await cursorOf(byEntity, auditor.token);
    await badCursor(
      `${byEntity}&cursor=${tamper(entityCursor, (p) => ((p.k as Record<string, unknown>).entityKey = `user#${other.userId}`))}`,
      auditor.token,
    );
    await badCursor(
      `${byEntity}&cursor=${tamper(entityCursor, (p) => ((p.k as Record<string, unknown>).seq = 'one'))}`,
      auditor.token,
    );

    const byActor = `/audit?actor=${operator.userId}&limit=1`;
    const actorCursor = await cursorOf(byActor, auditor.token);
    await badCursor(
      `${byActor}&cursor=${tamper(actorCursor, (p) => ((p.k as Record<string, unknown>).actorId = other.userId))}`,
      auditor.token,
    );

    const byMonth = '/audit?entityType=charge&limit=1';
    const monthCursor = await cursorOf(byMonth, auditor.token);
    await badCursor(`${byMonth}&cursor=${tamper(monthCursor, (p) => (p.m = '1999-01'))}`, auditor.token);
    await badCursor(
      `${byMonth}&cursor=${tamper(monthCursor, (p) => ((p.k as Record<string, unknown>).atId = '0'))}`,
      auditor.token,
    );
    // Still a working cursor when left alone.
    expect((await api.request(`${byMonth}&cursor=${monthCursor}`, { token: auditor.token })).status).toBe(200);
  });
});

describe('GET /users cursors', () => {
  it('with the key changed (kind "nope") is 400', async () => {
    const cursor = await cursorOf('/users?limit=1', admin);
    await badCursor(`/users?cursor=${tamper(cursor, (p) => (p.kind = 'nope'))}`, admin);
    await badCursor(`/users?cursor=${tamper(cursor, (p) => (p.pk = 'username#admin'))}`, admin);
  });

  it('from another list is 400', async () => {
    const cursor = await cursorOf('/charges?limit=1', operator.token);
    await badCursor(`/users?cursor=${cursor}`, admin);
  });
});

describe('GET /reports/definitions and /reports/runs cursors', () => {
  let qm: TestUser;
  const definitions: string[] = [];
  const runsOf: Record<string, string[]> = {};
  const defA = () => definitions[0] as string;
  const defB = () => definitions[1] as string;

  /** Every page of a list from the first: the ids in order, and how many pages it took. */
  async function walk(path: string, id: 'definitionId' | 'runId', limit: number) {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Page = await page(
        `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        qm.token,
      );
      expect(res.items.length).toBeLessThanOrEqual(limit);
      ids.push(...res.items.map((item) => (item as Record<string, string>)[id] as string));
      cursor = res.nextCursor;
      pages += 1;
    } while (cursor && pages < 20);
    expect(cursor).toBeNull();
    return { ids, pages };
  }

  beforeAll(async () => {
    qm = await userWithRoles(api, ['quality_manager']);
    for (const name of ['cursor-a', 'cursor-b', 'cursor-c']) {
      const res = await api.request('/reports/definitions', {
        method: 'POST',
        token: qm.token,
        body: { name, title: name, kind: 'charges', format: 'csv', schedule: null, recipients: [] },
      });
      expect(res.status, res.text).toBe(201);
      definitions.push((res.json as { definitionId: string }).definitionId);
    }
    // Two runs of the first definition, one of the second, none of the third.
    for (const definitionId of [defA(), defA(), defB()]) {
      const res = await api.request(`/reports/definitions/${definitionId}/run`, { method: 'POST', token: qm.token });
      expect(res.status, res.text).toBe(201);
      (runsOf[definitionId] ??= []).push((res.json as { runId: string }).runId);
    }
  });

  it('still page through the list they came from, to a null nextCursor', async () => {
    const first = await page('/reports/definitions?limit=2', qm.token);
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await page(`/reports/definitions?limit=2&cursor=${first.nextCursor}`, qm.token);
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();

    const all = await walk('/reports/definitions', 'definitionId', 1);
    expect([...all.ids].sort()).toEqual([...definitions].sort());
    const runs = await walk('/reports/runs', 'runId', 2);
    expect(runs.ids).toHaveLength(3);
    expect(new Set(runs.ids).size).toBe(3);
    const ofA = await walk(`/reports/runs?definitionId=${defA()}`, 'runId', 1);
    expect([...ofA.ids].sort()).toEqual([...(runsOf[defA()] ?? [])].sort());
  });

  it('forged, in the old format ({k}) or as garbage, is 400', async () => {
    const old = (type: string) =>
      encode({ k: { pk: `${type}#x`, sk: type, kind: type, createdAtId: '2026-01-01T00:00:00.000Z#x' } });
    await badCursor(`/reports/definitions?cursor=${old('definition')}`, qm.token);
    await badCursor(`/reports/runs?cursor=${old('run')}`, qm.token);
    await badCursor(`/reports/runs?definitionId=${defA()}&cursor=${old('run')}`, qm.token);
    await badCursor('/reports/definitions?cursor=not-a-cursor!', qm.token);
    await badCursor(`/reports/runs?cursor=${encode({ q: 'AAAAAAAAAAAAAAAA', p: { pk: 'run#x' } })}`, qm.token);
  });

  it('from the runs of one definition, used for another definition or without the filter, is 400', async () => {
    const ofA = await cursorOf(`/reports/runs?definitionId=${defA()}&limit=1`, qm.token);
    await badCursor(`/reports/runs?definitionId=${defB()}&cursor=${ofA}`, qm.token);
    await badCursor(`/reports/runs?cursor=${ofA}`, qm.token);
    const unfiltered = await cursorOf('/reports/runs?limit=1', qm.token);
    await badCursor(`/reports/runs?definitionId=${defA()}&cursor=${unfiltered}`, qm.token);
    // Still working cursors when used with their own query.
    expect((await api.request(`/reports/runs?definitionId=${defA()}&cursor=${ofA}`, { token: qm.token })).status).toBe(
      200,
    );
    expect((await api.request(`/reports/runs?cursor=${unfiltered}`, { token: qm.token })).status).toBe(200);
  });

  it('from another list is 400', async () => {
    const definitionsCursor = await cursorOf('/reports/definitions?limit=1', qm.token);
    const runsCursor = await cursorOf('/reports/runs?limit=1', qm.token);
    await badCursor(`/reports/runs?cursor=${definitionsCursor}`, qm.token);
    await badCursor(`/reports/definitions?cursor=${runsCursor}`, qm.token);
    await badCursor(`/reports/runs?cursor=${await cursorOf('/charges?limit=1', qm.token)}`, qm.token);
  });

  it('with the right query digest but a tampered key is 400', async () => {
    const definitionsCursor = await cursorOf('/reports/definitions?limit=1', qm.token);
    await badCursor(`/reports/definitions?cursor=${tamper(definitionsCursor, (p) => (p.kind = 'run'))}`, qm.token);
    await badCursor(`/reports/definitions?cursor=${tamper(definitionsCursor, (p) => (p.sk = 'run'))}`, qm.token);
    await badCursor(`/reports/definitions?cursor=${tamper(definitionsCursor, (p) => (p.pk = 'run#x'))}`, qm.token);
    await badCursor(`/reports/definitions?cursor=${tamper(definitionsCursor, (p) => delete p.createdAtId)}`, qm.token);
    await badCursor(`/reports/definitions?cursor=${tamper(definitionsCursor, (p) => (p.createdAtId = 5))}`, qm.token);
    await badCursor(`/reports/definitions?cursor=${tamper(definitionsCursor, (p) => (p.extra = 'x'))}`, qm.token);

    const path = `/reports/runs?definitionId=${defA()}&limit=1`;
    const runsCursor = await cursorOf(path, qm.token);
    await badCursor(`${path}&cursor=${tamper(runsCursor, (p) => (p.kind = 'definition'))}`, qm.token);
    await badCursor(`${path}&cursor=${tamper(runsCursor, (p) => (p.pk = `definition#${defA()}`))}`, qm.token);
    await badCursor(`${path}&cursor=${tamper(runsCursor, (p) => (p.createdAtId = ''))}`, qm.token);
    // Left alone, both still work.
    expect((await api.request(`/reports/definitions?cursor=${definitionsCursor}`, { token: qm.token })).status).toBe(
      200,
    );
    expect((await api.request(`${path}&cursor=${runsCursor}`, { token: qm.token })).status).toBe(200);
  });
});

describe('a cursor longer than any this server writes', () => {
  // Over-long is one more kind of bad cursor: 400 like every other, not a 422 from the list schema.
  it.each(['/charges', '/charges?status=quarantine', '/audit', '/reports/runs', '/reports/definitions', '/users'])(
    '%s → 400',
    async (list) => {
      await badCursor(`${list}${list.includes('?') ? '&' : '?'}cursor=${'A'.repeat(2049)}`, admin);
    },
  );

  it('/users with a 3000-character cursor → 400 (its own schema made it a 422)', async () => {
    await badCursor(`/users?cursor=${'A'.repeat(3000)}`, admin);
  });

  it('a real cursor padded past the limit is refused too', async () => {
    const cursor = await cursorOf('/charges?limit=1', operator.token);
    await badCursor(`/charges?cursor=${cursor}${'A'.repeat(2049 - cursor.length)}`, operator.token);
  });
});
