import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_VERSIONS } from '#charges/model';
import { ChargeStore, lotKey } from '#charges/store';
import { chargeState, makeSigner, NEW_CHARGE, seedChargeAs, seedVersions, signatureFor } from '#test/support/charges';
import { callHandler, type EventOptions, userWith } from '#test/support/events';
import { createTables, scanAll } from '#test/support/streams';

/**
 * Lot numbers, history pages, versions and the version cap on DynamoDB Local, through the charges handler
 * in-process (the signatures over HTTP: test/e2e/charge-signatures.test.ts).
 */

const operator = userWith(['operator'], 'olga');
const qm = userWith(['quality_manager'], 'quentin');
const auditor = userWith(['auditor'], 'aude');
const viewer = userWith(['viewer'], 'vic');
let qmPassword: string;
let auditorPassword: string;
const store = new ChargeStore();

const call = (options: EventOptions) => callHandler('charges', options);
const post = (body: Record<string, unknown>) =>
  call({ method: 'POST', resource: '/charges', user: operator, body: { ...NEW_CHARGE, ...body } });
const patch = (id: string, version: number, body: unknown, user = operator) =>
  call({
    method: 'PATCH',
    resource: '/charges/{id}',
    pathParameters: { id },
    user,
    headers: { 'If-Match': `"${version}"` },
    body,
  });
const list = (query: Record<string, string>) => call({ resource: '/charges', query, user: viewer });
const history = (id: string, query: Record<string, string> = {}) =>
  call({ resource: '/charges/{id}/history', pathParameters: { id }, query, user: viewer });
const version = (id: string, n: string) =>
  call({ resource: '/charges/{id}/versions/{n}', pathParameters: { id, n }, user: viewer });
const unique = () => randomBytes(4).toString('hex').toUpperCase();

beforeAll(async () => {
  await createTables();
  [qmPassword, auditorPassword] = await Promise.all([makeSigner(qm), makeSigner(auditor)]);
});

describe('lot numbers', () => {
  it('a lot number the client sends is kept; a second charge with it is 409 CONFLICT and writes nothing', async () => {
    // Prepare
    const lot = `L-${unique()}/7.a_b`;
    const first = await post({ lotNumber: lot });
    expect(first.status, JSON.stringify(first.json)).toBe(201);
    expect(first.json.lotNumber).toBe(lot);
    const before = await scanAll('charges');

    // Act / Assess: the same number, and the same number in other letter case, are taken.
    const again = await post({ lotNumber: lot });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('CONFLICT');
    expect((await post({ lotNumber: lot.toLowerCase() })).status).toBe(409);
    expect(await scanAll('charges')).toHaveLength(before.length);
  });

  it('concurrent creates of the same lot number: exactly one 201, the rest 409, one charge holds it', async () => {
    const lot = `RACE-${unique()}`;
    const results = await Promise.all(Array.from({ length: 6 }, () => post({ lotNumber: lot })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    const holders = (await scanAll('charges')).filter((i) => i.sk === 'CHARGE' && i.lotNumber === lot);
    expect(holders).toHaveLength(1);
    expect(await store.chargeIdOfLot(lot)).toBe(holders[0]!.chargeId);
  });

  it('left out, the server assigns the next <YYYY>-<NNNNN> of the production year, one sequence per year', async () => {
    // Years no other test uses, so the sequences are this test's alone.
    const year = String(2100 + Math.floor(Math.random() * 800));
    const next = String(Number(year) + 1);
    const lots: string[] = [];
    for (const y of [year, next, year, year, next]) {
      const res = await post({ productionDate: `${y}-06-30` });
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      lots.push(res.json.lotNumber);
    }
    expect(lots).toEqual([`${year}-00001`, `${next}-00001`, `${year}-00002`, `${year}-00003`, `${next}-00002`]);
  });

  it('an assigned number someone already took by hand is skipped, not a conflict', async () => {
    const year = String(2100 + Math.floor(Math.random() * 800));
    expect((await post({ lotNumber: `${year}-00001`, productionDate: `${year}-01-01` })).status).toBe(201);
    const assigned = await post({ productionDate: `${year}-02-01` });
    expect(assigned.status).toBe(201);
    expect(assigned.json.lotNumber).toBe(`${year}-00002`);
  });

  it.each([
    ['with a space', 'A B', 422],
    ['41 characters', 'A'.repeat(41), 422],
    ['empty', '', 422],
    ['a non-ASCII letter', 'LOT-Ä', 422],
    ['a number', 42, 422],
  ])('a lot number %s is refused (%s), nothing written', async (_name, lotNumber, status) => {
    const before = await scanAll('charges');
    const res = await post({ lotNumber });
    expect(res.status).toBe(status);
    expect(await scanAll('charges')).toHaveLength(before.length);
  });

  it('is immutable: a PATCH naming lotNumber is 400', async () => {
    const charge = await seedChargeAs(operator);
    const res = await patch(charge.chargeId, 1, { lotNumber: 'OTHER-1', reason: 'renumber' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('BAD_REQUEST');
  });

  it('GET /charges?lotNumber= finds the one charge (in any letter case), with the other filters held against it', async () => {
    // Prepare
    const lot = `FIND-${unique()}`;
    const charge = await seedChargeAs(operator, { lotNumber: lot, articleId: 'ART-LOT', status: 'quarantine' });

    // Act / Assess
    expect((await list({ lotNumber: lot })).json).toEqual({ items: [charge], nextCursor: null });
    expect((await list({ lotNumber: lot.toLowerCase() })).json.items).toEqual([charge]);
    expect((await list({ lotNumber: lot, status: 'quarantine', articleId: 'ART-LOT' })).json.items).toEqual([charge]);
    expect((await list({ lotNumber: lot, status: 'released' })).json.items).toEqual([]);
    expect((await list({ lotNumber: lot, from: '2027-01-01' })).json.items).toEqual([]);
    expect((await list({ lotNumber: `NONE-${unique()}` })).json).toEqual({ items: [], nextCursor: null });
    expect((await list({ lotNumber: lot, cursor: 'abc' })).status).toBe(400);
    expect((await list({ lotNumber: 'A B' })).status).toBe(422);
  });

  it('a deleted charge is not found by its lot number, and the number stays taken', async () => {
    const lot = `DEL-${unique()}`;
    const charge = await seedChargeAs(operator, { lotNumber: lot });
    const del = await call({
      method: 'DELETE',
      resource: '/charges/{id}',
      pathParameters: { id: charge.chargeId },
      user: qm,
      headers: { 'If-Match': '"1"' },
      body: { reason: 'entered twice' },
    });
    expect(del.status).toBe(204);
    expect((await list({ lotNumber: lot })).json.items).toEqual([]);
    expect((await post({ lotNumber: lot })).status).toBe(409);
  });

  it('the claim item is in no list index (no listSk, status or articleId) and not an audited entity', async () => {
    const lot = `IDX-${unique()}`;
    await seedChargeAs(operator, { lotNumber: lot });
    const claim = (await scanAll('charges')).find((i) => i.chargeId === lotKey(lot).chargeId)!;
    expect(Object.keys(claim).sort()).toEqual(['chargeId', 'lotNumber', 'owner', 'sk']);
  });
});

describe('history pages and versions', () => {
  /** A charge with `n` versions: created, then `n - 1` quantity changes through the API. */
  async function chargeWithVersions(n: number): Promise<string> {
    const { chargeId } = await seedChargeAs(operator, { quantity: 1 });
    for (let v = 1; v < n; v++) {
      const res = await patch(chargeId, v, { quantity: v + 1, reason: `count ${v + 1}` });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
    }
    return chargeId;
  }

  it('pages oldest first with an opaque cursor; every page diffs against the version before it', async () => {
    // Prepare
    const id = await chargeWithVersions(7);

    // Act
    const pages: Array<{ versions: Array<{ version: number; changes: unknown }>; nextCursor: string | null }> = [];
    let cursor: string | undefined;
    do {
      const res = await history(id, { limit: '3', ...(cursor ? { cursor } : {}) });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      pages.push(res.json);
      cursor = res.json.nextCursor ?? undefined;
    } while (cursor && pages.length < 10);

    // Assess
    expect(pages.map((p) => p.versions.map((v) => v.version))).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(pages[1]!.versions[0]!.changes).toEqual({ quantity: { from: 3, to: 4 } });
    expect(pages.at(-1)!.nextCursor).toBeNull();
    const all = await history(id);
    expect(all.json.versions).toHaveLength(7);
    expect(all.json.nextCursor).toBeNull();
  });

  it('a page that ends exactly at the last version has no cursor (no empty page after it)', async () => {
    const id = await chargeWithVersions(4);
    const first = await history(id, { limit: '2' });
    const second = await history(id, { limit: '2', cursor: first.json.nextCursor });
    expect(second.json.versions.map((v: { version: number }) => v.version)).toEqual([3, 4]);
    expect(second.json.nextCursor).toBeNull();
  });

  it('refuses a cursor of another charge or a forged one (400), a limit above 100 (422); unknown charge 404', async () => {
    const a = await chargeWithVersions(3);
    const b = await chargeWithVersions(3);
    const cursorOfA = (await history(a, { limit: '1' })).json.nextCursor as string;
    expect((await history(b, { limit: '1', cursor: cursorOfA })).status).toBe(400);
    expect((await history(a, { cursor: 'not-a-cursor' })).status).toBe(400);
    expect((await history(a, { limit: '101' })).status).toBe(422);
    expect((await history(a, { limit: '0' })).status).toBe(422);
    expect((await history('nope')).status).toBe(404);
  });

  it('versions/{n} is the whole charge as it was at version n; 404 for a version that does not exist', async () => {
    const id = await chargeWithVersions(3);
    const v2 = await version(id, '2');
    expect(v2.status).toBe(200);
    expect(v2.json).toMatchObject({
      chargeId: id,
      version: 2,
      quantity: 2,
      reason: 'count 2',
      status: 'in_production',
    });
    expect(v2.json).not.toHaveProperty('dataAuthors');
    expect(v2.json).not.toHaveProperty('lastChangeMac');
    for (const n of ['4', '0', '-1', 'x', '01', '99999999999']) expect((await version(id, n)).status).toBe(404);
    expect((await version('nope', '1')).status).toBe(404);
  });
});

describe(`at most ${MAX_VERSIONS} versions`, () => {
  it(`the write that would make version ${MAX_VERSIONS + 1} is 409 CONFLICT (PATCH, review, delete); nothing written`, async () => {
    // Prepare: 999 versions written straight to the table, then the 1000th through the API.
    const last = await seedVersions(chargeState({ status: 'quarantine' }), MAX_VERSIONS - 1);
    const id = last.chargeId;
    const thousandth = await patch(id, MAX_VERSIONS - 1, { quantity: 5, reason: 'the last change' });
    expect(thousandth.status, JSON.stringify(thousandth.json)).toBe(200);
    expect(thousandth.json.version).toBe(MAX_VERSIONS);
    const before = await scanAll('charges');

    // Act / Assess
    const more = await patch(id, MAX_VERSIONS, { quantity: 6, reason: 'one too many' });
    expect(more.status).toBe(409);
    expect(more.json.error).toMatchObject({ code: 'CONFLICT', details: { maxVersions: MAX_VERSIONS } });
    const release = await patch(
      id,
      MAX_VERSIONS,
      { status: 'released', reason: 'QC ok', signature: signatureFor('released', qmPassword) },
      qm,
    );
    expect(release.status).toBe(409);
    const review = await call({
      method: 'POST',
      resource: '/charges/{id}/reviews',
      pathParameters: { id },
      user: auditor,
      body: { signature: { meaning: 'reviewed', password: auditorPassword } },
    });
    expect(review.status).toBe(409);
    const del = await call({
      method: 'DELETE',
      resource: '/charges/{id}',
      pathParameters: { id },
      user: qm,
      headers: { 'If-Match': `"${MAX_VERSIONS}"` },
      body: { reason: 'one too many' },
    });
    expect(del.status).toBe(409);
    expect(await scanAll('charges')).toEqual(before);
  });
});

describe('latestVersions (the Chargenbericht reads the latest 200)', () => {
  it('returns the latest n snapshots in ascending order and how many earlier ones exist', async () => {
    // Prepare
    const last = await seedVersions(chargeState(), 250);

    // Act
    const latest = await store.latestVersions(last.chargeId, 200);
    const all = await store.latestVersions(last.chargeId, 300);

    // Assess
    expect(latest.versions.map((v) => v.version)).toEqual(Array.from({ length: 200 }, (_, i) => i + 51));
    expect(latest.earlier).toBe(50);
    expect(all.versions).toHaveLength(250);
    expect(all.earlier).toBe(0);
    expect(await store.latestVersions('nope', 200)).toEqual({ versions: [], earlier: 0 });
  });
});
