import type { DynamoDBBatchResponse } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChargeStatus } from '#charges/model';
import type { AuthenticatedUser } from '#platform/auth-context';
import { invoke } from '#local/handlers';
import { makeSigner, seedChargeAs, signatureFor } from '#test/support/charges';
import { callHandler, type EventOptions, userWith } from '#test/support/events';
import { auditRecordsOf, createTables, scanAll, streamReader } from '#test/support/streams';

const operator = userWith(['operator'], 'olga');
const qm = userWith(['quality_manager'], 'quentin');
const viewer = userWith(['viewer'], 'vic');

const call = (options: EventOptions) => callHandler('charges', options);
const body = {
  articleId: 'ART-100',
  quantity: 12.5,
  unit: 'kg',
  productionDate: '2026-03-01',
  expiryDate: '2027-03-01',
  notes: 'Łódź – erste Charge ✓',
};

const create = (user = operator, overrides: Record<string, unknown> = {}) =>
  seedChargeAs(user, { ...body, ...overrides });

const patch = (id: string, user: AuthenticatedUser, version: number | string | undefined, patchBody: unknown) =>
  call({
    method: 'PATCH',
    resource: '/charges/{id}',
    pathParameters: { id },
    user,
    headers: version === undefined ? {} : { 'If-Match': typeof version === 'number' ? `"${version}"` : version },
    body: patchBody,
  });

let qmPassword: string;

beforeAll(async () => {
  await createTables();
  qmPassword = await makeSigner(qm);
});

describe('create and read', () => {
  it('POST creates version 1 in production with Location and ETag; GET returns it with the ETag', async () => {
    const res = await call({ method: 'POST', resource: '/charges', user: operator, body });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      ...body,
      status: 'in_production',
      version: 1,
      createdBy: { userId: operator.userId, username: 'olga' },
    });
    expect(res.json.chargeId).toMatch(/^[A-Za-z0-9_-]+$/);
    // The event is API Gateway's (requestContext.path carries the stage): the Location keeps the stage prefix.
    expect(res.headers.location).toBe(`/v1/charges/${res.json.chargeId}`);
    expect(res.json).not.toHaveProperty('listSk');
    expect(res.json).not.toHaveProperty('sk');

    const got = await call({ resource: '/charges/{id}', pathParameters: { id: res.json.chargeId }, user: viewer });
    expect(got.status).toBe(200);
    expect(got.headers.etag).toBe('"1"');
    expect(got.json).toEqual(res.json);
  });

  it('a new charge may start in quarantine but in no other state', async () => {
    expect((await create(operator, { status: 'quarantine' })).status).toBe('quarantine');
    const released = await call({
      method: 'POST',
      resource: '/charges',
      user: qm,
      body: { ...body, status: 'released' },
    });
    expect(released.status).toBe(409);
    expect(released.json.error.code).toBe('INVALID_TRANSITION');
  });

  it('an unknown id is 404', async () => {
    const res = await call({ resource: '/charges/{id}', pathParameters: { id: 'nope' }, user: viewer });
    expect(res.status).toBe(404);
  });

  it('an unknown id is 404 before a missing If-Match is 428, on PATCH and DELETE', async () => {
    expect((await patch('nope', operator, undefined, { quantity: 1, reason: 'no such charge' })).status).toBe(404);
    const del = await call({
      method: 'DELETE',
      resource: '/charges/{id}',
      pathParameters: { id: 'nope' },
      user: qm,
      body: { reason: 'no such charge' },
    });
    expect(del.status).toBe(404);
  });

  it('a viewer cannot create (403) — the router checks the route permission again behind the authorizer', async () => {
    const res = await call({ method: 'POST', resource: '/charges', user: viewer, body });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('FORBIDDEN');
  });
});

describe('bad input is refused with the right status and writes nothing', () => {
  const cases: [string, unknown, number][] = [
    ['unknown field', { ...body, color: 'red' }, 400],
    ['immutable chargeId', { ...body, chargeId: 'mine' }, 400],
    ['immutable version', { ...body, version: 7 }, 400],
    ['immutable createdBy', { ...body, createdBy: 'someone' }, 400],
    ['immutable createdAt', { ...body, createdAt: '2020-01-01T00:00:00Z' }, 400],
    ['quantity 0', { ...body, quantity: 0 }, 422],
    ['negative quantity', { ...body, quantity: -1 }, 422],
    ['4 decimals', { ...body, quantity: 1.2345 }, 422],
    ['quantity as string', { ...body, quantity: '5' }, 422],
    ['unknown unit', { ...body, unit: 'lbs' }, 422],
    ['empty articleId', { ...body, articleId: '' }, 422],
    ['articleId of 65 chars', { ...body, articleId: 'A'.repeat(65) }, 422],
    ['impossible date', { ...body, productionDate: '2026-02-30' }, 422],
    ['not a date', { ...body, productionDate: 'yesterday' }, 422],
    ['expiry before production', { ...body, expiryDate: '2026-02-01' }, 422],
    ['notes of 2001 chars', { ...body, notes: 'x'.repeat(2001) }, 422],
    ['unknown status', { ...body, status: 'shipped' }, 422],
    ['missing articleId', { quantity: 1, unit: 'kg', productionDate: '2026-01-01' }, 422],
  ];

  it.each(cases)('POST with %s → %s', async (_name, payload, status) => {
    const before = await scanAll('charges');
    const res = await call({ method: 'POST', resource: '/charges', user: operator, body: payload });
    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(status === 400 ? 'BAD_REQUEST' : 'VALIDATION_ERROR');
    expect(res.json.error.details.length).toBeGreaterThan(0);
    expect(await scanAll('charges')).toHaveLength(before.length);
  });

  it('notes count characters, not bytes: 2000 emoji are fine', async () => {
    const charge = await create(operator, { notes: '🧪'.repeat(2000) });
    expect(charge.version).toBe(1);
  });

  it('422 names the field path', async () => {
    const res = await call({ method: 'POST', resource: '/charges', user: operator, body: { ...body, quantity: -1 } });
    expect(res.json.error.details).toEqual([expect.objectContaining({ path: 'body.quantity' })]);
  });

  it('malformed JSON is 400 and wrong content type 415', async () => {
    const malformed = await call({
      method: 'POST',
      resource: '/charges',
      user: operator,
      rawBody: '{"a":',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    const wrongType = await call({
      method: 'POST',
      resource: '/charges',
      user: operator,
      rawBody: 'a=b',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
  });

  it.each([
    ['unknown field', { quantity: 3, reason: 'fix', colour: 'x' }, 400],
    ['immutable version', { version: 9, reason: 'sneaky change' }, 400],
    ['immutable createdBy', { createdBy: 'me', reason: 'sneaky change' }, 400],
    ['immutable deletedAt', { deletedAt: null, reason: 'undelete me' }, 400],
    ['missing reason', { quantity: 3 }, 422],
    ['reason too short', { quantity: 3, reason: 'ok' }, 422],
    ['reason too long', { quantity: 3, reason: 'r'.repeat(501) }, 422],
    ['only a reason', { reason: 'nothing really' }, 422],
    ['bad quantity', { quantity: 0, reason: 'typo fixed' }, 422],
    ['expiry before production', { expiryDate: '2020-01-01', reason: 'typo fixed' }, 422],
  ])('PATCH with %s → %s, version unchanged', async (_name, payload, status) => {
    const charge = await create();
    const before = await scanAll('charges');
    const res = await patch(charge.chargeId, operator, 1, payload);
    expect(res.status).toBe(status);
    expect(await scanAll('charges')).toEqual(before);
  });
});

describe('optimistic concurrency', () => {
  // Without If-Match: 428, test/e2e/charges.test.ts ("each refused request writes neither a charge nor an audit record").
  it('PATCH with a stale If-Match is 412, with one that names no version too; neither writes', async () => {
    // Prepare
    const charge = await create();

    // Act / Assess
    const stale = await patch(charge.chargeId, operator, 7, { quantity: 2, reason: 'recount' });
    expect(stale.status).toBe(412);
    expect(stale.json.error.code).toBe('PRECONDITION_FAILED');
    const garbage = await patch(charge.chargeId, operator, 'W/"abc"', { quantity: 2, reason: 'recount' });
    expect(garbage.status).toBe(412);

    // Assess: nothing written.
    const got = await call({ resource: '/charges/{id}', pathParameters: { id: charge.chargeId }, user: viewer });
    expect(got.json).toMatchObject({ version: 1, quantity: 12.5 });
  });

  it('two PATCHes with the same If-Match in parallel: exactly one 200 and one 412, version +1 once', async () => {
    // Prepare
    const charge = await create();
    const reader = streamReader(['charges']);

    try {
      // Act
      const results = await Promise.all([
        patch(charge.chargeId, operator, 1, { quantity: 20, reason: 'first writer' }),
        patch(charge.chargeId, qm, 1, { quantity: 30, reason: 'second writer' }),
      ]);

      // Assess: one winner, one version more, and one audit record more (the loser left nothing in the stream).
      expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
      const winner = results.find((r) => r.status === 200)!;
      const got = await call({ resource: '/charges/{id}', pathParameters: { id: charge.chargeId }, user: viewer });
      expect(got.json.version).toBe(2);
      expect(got.headers.etag).toBe('"2"');
      expect(got.json.quantity).toBe(winner.json.quantity);
      const history = await call({
        resource: '/charges/{id}/history',
        pathParameters: { id: charge.chargeId },
        user: viewer,
      });
      expect(history.json.versions).toHaveLength(2);
      const { Records } = await reader.next();
      const own = Records.filter((r) => r.dynamodb?.Keys?.chargeId?.S === charge.chargeId);
      await invoke<DynamoDBBatchResponse>('audit-stream', { Records: own });
      expect(await auditRecordsOf('charge', charge.chargeId)).toHaveLength(2);
    } finally {
      await reader.stop();
    }
  });

  it('ten concurrent PATCHes: exactly one wins', async () => {
    const charge = await create();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        patch(charge.chargeId, operator, 1, { quantity: i + 1, reason: `writer ${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 412)).toHaveLength(9);
  });
});

describe('a refused status change writes nothing (the rules, pair by pair: test/unit/lifecycle.test.ts)', () => {
  /** A charge `creator` made in `from` (in_production or quarantine), or rejected by a quality manager. */
  async function chargeIn(from: ChargeStatus, creator: AuthenticatedUser): Promise<{ id: string; version: number }> {
    const { chargeId } = await create(creator, { status: from === 'rejected' ? 'quarantine' : from });
    if (from !== 'rejected') return { id: chargeId, version: 1 };
    const rejected = await patch(chargeId, qm, 1, {
      status: 'rejected',
      reason: 'failed QC',
      signature: signatureFor('rejected', qmPassword),
    });
    expect(rejected.status, JSON.stringify(rejected.json)).toBe(200);
    return { id: chargeId, version: 2 };
  }

  const refusal = (
    name: string,
    [from, to]: [ChargeStatus, ChargeStatus],
    [creator, actor]: [AuthenticatedUser, AuthenticatedUser],
    [status, code]: [number, string],
  ) => [`${name}: ${status} ${code}`, { from, to, creator, actor, status, code }] as const;
  const fourEyes: [number, string] = [403, 'SEGREGATION_OF_DUTIES'];
  const invalid: [number, string] = [409, 'INVALID_TRANSITION'];

  it.each([
    refusal('the creator releases, even as quality manager', ['quarantine', 'released'], [qm, qm], fourEyes),
    refusal('an operator releases (no charges:release)', ['quarantine', 'released'], [qm, operator], fourEyes),
    refusal('in_production → released', ['in_production', 'released'], [operator, qm], invalid),
    refusal('in_production → blocked', ['in_production', 'blocked'], [operator, qm], invalid),
    refusal('in_production → rejected', ['in_production', 'rejected'], [operator, qm], invalid),
    refusal('quarantine → blocked', ['quarantine', 'blocked'], [operator, qm], invalid),
    refusal('quarantine → in_production', ['quarantine', 'in_production'], [operator, qm], invalid),
    refusal('rejected → quarantine (rejected is final)', ['rejected', 'quarantine'], [operator, qm], invalid),
  ])('%s', async (_title, { from, to, creator, actor, status, code }) => {
    // Prepare
    const charge = await chargeIn(from, creator);
    const before = await scanAll('charges');

    // Act
    const res = await patch(charge.id, actor, charge.version, { status: to, reason: 'try the impossible' });

    // Assess
    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
    expect(await scanAll('charges')).toEqual(before);
  });
});

describe('soft delete', () => {
  it('needs charges:delete, If-Match and a reason; hides the charge but keeps its history', async () => {
    const charge = await create(operator);
    const id = charge.chargeId;
    const del = (user: typeof qm, headers: Record<string, string>, payload: unknown) =>
      call({ method: 'DELETE', resource: '/charges/{id}', pathParameters: { id }, user, headers, body: payload });

    expect((await del(operator, { 'If-Match': '"1"' }, { reason: 'duplicate entry' })).status).toBe(403);
    expect((await del(qm, {}, { reason: 'duplicate entry' })).status).toBe(428);
    expect((await del(qm, { 'If-Match': '"1"' }, { reason: 'no' })).status).toBe(422);
    expect((await del(qm, { 'If-Match': '"1"' }, { reason: 'duplicate entry', force: true })).status).toBe(400);
    const ok = await del(qm, { 'If-Match': '"1"' }, { reason: 'duplicate entry' });
    expect(ok.status).toBe(204);

    expect((await call({ resource: '/charges/{id}', pathParameters: { id }, user: viewer })).status).toBe(404);
    expect((await patch(id, operator, 2, { quantity: 1, reason: 'after delete' })).status).toBe(404);
    const list = await call({ resource: '/charges', query: { articleId: 'ART-DEL' }, user: viewer });
    expect(list.json.items).toEqual([]);
    const history = await call({ resource: '/charges/{id}/history', pathParameters: { id }, user: viewer });
    expect(history.json.versions.at(-1)).toMatchObject({
      version: 2,
      action: 'delete',
      reason: 'duplicate entry',
      actor: { username: qm.username },
      changes: { deletedAt: { from: null, to: expect.any(String) } },
    });
    // The item is still there: soft delete.
    expect((await scanAll('charges')).some((i) => i.chargeId === id && i.sk === 'CHARGE' && i.deletedAt)).toBe(true);
  });
});

describe('listing', () => {
  const article = `ART-LIST-${Date.now()}`;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    for (const [day, status] of [
      ['2026-01-05', 'in_production'],
      ['2026-01-10', 'quarantine'],
      ['2026-01-15', 'quarantine'],
      ['2026-01-20', 'in_production'],
      ['2026-01-25', 'quarantine'],
    ] as const) {
      const c = await create(operator, { articleId: article, productionDate: day, expiryDate: undefined, status });
      ids[day] = c.chargeId;
    }
    const deleted = await create(operator, { articleId: article, productionDate: '2026-01-12' });
    await call({
      method: 'DELETE',
      resource: '/charges/{id}',
      pathParameters: { id: deleted.chargeId },
      user: qm,
      headers: { 'If-Match': '"1"' },
      body: { reason: 'entered twice' },
    });
  });

  const list = (query: Record<string, string>) => call({ resource: '/charges', query, user: viewer });

  it('filters by article, newest production date first, deleted charges hidden', async () => {
    const res = await list({ articleId: article });
    expect(res.status).toBe(200);
    expect(res.json.items.map((c: { productionDate: string }) => c.productionDate)).toEqual([
      '2026-01-25',
      '2026-01-20',
      '2026-01-15',
      '2026-01-10',
      '2026-01-05',
    ]);
    expect(res.json.nextCursor).toBeNull();
  });

  it('combines article, status and date range', async () => {
    const res = await list({ articleId: article, status: 'quarantine', from: '2026-01-10', to: '2026-01-15' });
    expect(res.json.items.map((c: { chargeId: string }) => c.chargeId)).toEqual([ids['2026-01-15'], ids['2026-01-10']]);
  });

  it('filters by status alone and by dates alone', async () => {
    const byStatus = await list({ status: 'quarantine', limit: '100' });
    expect(byStatus.json.items.every((c: { status: string }) => c.status === 'quarantine')).toBe(true);
    const byDate = await list({ from: '2026-01-20', to: '2026-01-20', limit: '100' });
    expect(byDate.json.items.map((c: { chargeId: string }) => c.chargeId)).toContain(ids['2026-01-20']);
    expect(byDate.json.items.every((c: { productionDate: string }) => c.productionDate === '2026-01-20')).toBe(true);
  });

  it('pages with an opaque cursor until the end, without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await list({ articleId: article, limit: '2', ...(cursor ? { cursor } : {}) });
      expect(res.json.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.items.map((c: { chargeId: string }) => c.chargeId));
      cursor = res.json.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('article + status: every page is full while matches remain, however many other lots lie in between', async () => {
    // Only this combination is served with a filter (DynamoDB applies Limit before it): 30 newer lots in
    // production must not turn the first page into an empty one with a cursor.
    const crowded = `ART-CROWD-${Date.now()}`;
    const quarantined: string[] = [];
    for (let day = 1; day <= 3; day++) {
      quarantined.unshift(
        (
          await create(operator, {
            articleId: crowded,
            productionDate: `2026-02-0${day}`,
            expiryDate: undefined,
            status: 'quarantine',
          })
        ).chargeId,
      );
    }
    for (let i = 0; i < 30; i++)
      await create(operator, { articleId: crowded, productionDate: '2026-03-01', expiryDate: undefined });
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const res = await list({ articleId: crowded, status: 'quarantine', limit: '1', ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      pages.push(res.json.items.map((c: { chargeId: string }) => c.chargeId));
      cursor = res.json.nextCursor ?? undefined;
    } while (cursor && pages.length < 10);
    expect(pages).toEqual(quarantined.map((id) => [id]));
    const all = await list({ articleId: crowded, status: 'quarantine', limit: '2' });
    expect(all.json.items.map((c: { chargeId: string }) => c.chargeId)).toEqual(quarantined.slice(0, 2));
    const rest = await list({ articleId: crowded, status: 'quarantine', limit: '2', cursor: all.json.nextCursor });
    expect(rest.json).toMatchObject({ items: [{ chargeId: quarantined[2] }], nextCursor: null });
  });

  it.each([
    [{ limit: '0' }, 422],
    [{ limit: '101' }, 422],
    [{ limit: 'many' }, 422],
    [{ status: 'shipped' }, 422],
    [{ from: '2026-02-01', to: '2026-01-01' }, 422],
    [{ cursor: 'garbage' }, 400],
    [{ sort: 'asc' }, 400],
  ])('rejects %j with %s', async (query, status) => {
    expect((await list(query as Record<string, string>)).status).toBe(status);
  });

  it('a cursor from one kind of query is refused by another', async () => {
    const first = await list({ articleId: article, limit: '1' });
    const res = await list({ status: 'quarantine', cursor: first.json.nextCursor });
    expect(res.status).toBe(400);
  });
});
