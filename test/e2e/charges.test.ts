import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type TestUser, userWithRoles } from '#test/support/users';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { scanAll } from '#test/support/streams';
import { decide, seedCharge, signatureFor } from '#test/support/charges';
import { eventually } from '#test/support/eventually';

let api: LocalApi;
let operator: TestUser;
let qm: TestUser;
let qm2: TestUser;
let auditor: TestUser;
let viewer: TestUser;

const charge = {
  articleId: 'E2E-1',
  quantity: 100,
  unit: 'kg',
  productionDate: '2026-05-01',
  expiryDate: '2027-05-01',
};

type AuditItem = {
  seq: number;
  action: string;
  version: number;
  reason: string | null;
  actor: { userId: string; username: string };
  changes: Record<string, unknown>;
};
type HistoryEntry = Omit<AuditItem, 'seq'> & { at: string };

/** One entity's audit trail as GET /audit answers it now. */
async function auditTrail(entityType: string, entityId: string): Promise<AuditItem[]> {
  const res = await api.request(`/audit?entityType=${entityType}&entityId=${entityId}&limit=100`, {
    token: auditor.token,
  });
  expect(res.status, res.text).toBe(200);
  return (res.json as { items: AuditItem[] }).items;
}

/** The audit trail is written asynchronously by the stream poller: ask until `count` records are there. */
const auditOf = (entityType: string, entityId: string, count: number): Promise<AuditItem[]> =>
  eventually(async () => {
    const items = await auditTrail(entityType, entityId);
    expect(items.length, `audit records of ${entityType} ${entityId}`).toBeGreaterThanOrEqual(count);
    return items;
  });

const post = (body: unknown, user = operator) => api.request('/charges', { method: 'POST', token: user.token, body });
/** A new charge (this file's `charge` with the overrides) made by `user`; its id. */
const seed = async (overrides: Record<string, unknown> = {}, user = operator) =>
  (await seedCharge(api, user.token, { ...charge, ...overrides })).chargeId;
const patch = (id: string, version: number | undefined, body: unknown, user = operator) =>
  api.request(`/charges/${id}`, {
    method: 'PATCH',
    token: user.token,
    body,
    headers: version === undefined ? {} : { 'If-Match': `"${version}"` },
  });

beforeAll(async () => {
  api = await startLocalApi();
  [operator, qm, qm2, auditor, viewer] = await Promise.all([
    userWithRoles(api, ['operator']),
    userWithRoles(api, ['quality_manager']),
    userWithRoles(api, ['quality_manager']),
    userWithRoles(api, ['auditor']),
    userWithRoles(api, ['viewer']),
  ]);
});
afterAll(() => api?.stop());

describe('a charge through its whole life, over HTTP', () => {
  it('create → update → quarantine → release by a second user → block; history, audit trail and chain agree', async () => {
    // Act: the whole life, with the refusals a client meets on the way (the rules: test/unit/lifecycle.test.ts).
    const created = await post(charge);
    expect(created.status, created.text).toBe(201);
    const id = (created.json as { chargeId: string }).chargeId;
    expect(created.headers.location).toBe(`/charges/${id}`);

    const got = await api.request(`/charges/${id}`, { token: viewer.token });
    expect(got.headers.etag).toBe('"1"');

    expect((await patch(id, 1, { quantity: 98.5, reason: 'weighed again after drying' })).status).toBe(200);
    expect((await patch(id, 2, { status: 'quarantine', reason: 'sampled for QC' })).status).toBe(200);
    // The operator lacks charges:release (and created the charge): segregation of duties either way.
    const own = await patch(id, 3, { status: 'released', reason: 'my own release' }, operator);
    expectError(own, 403, 'SEGREGATION_OF_DUTIES');
    expectError(await patch(id, 3, { status: 'blocked', reason: 'skip a step' }, qm2), 409, 'INVALID_TRANSITION');
    const released = await decide(api, qm, id, 3, 'released', 'QC certificate 2026-118');
    expect(released.status, released.text).toBe(200);
    expect(released.headers.etag).toBe('"4"');
    expect((await decide(api, qm2, id, 4, 'blocked', 'customer complaint 55')).status).toBe(200);

    // Assess: the history (from the version snapshots) has every version, who made it, why and what changed.
    const history = await api.request(`/charges/${id}/history`, { token: viewer.token });
    expect(history.status, history.text).toBe(200);
    const versions = (history.json as { versions: HistoryEntry[] }).versions;
    expect(versions.map((v) => [v.version, v.actor.username, v.reason])).toEqual([
      [1, operator.username, null],
      [2, operator.username, 'weighed again after drying'],
      [3, operator.username, 'sampled for QC'],
      [4, qm.username, 'QC certificate 2026-118'],
      [5, qm2.username, 'customer complaint 55'],
    ]);
    expect(versions[0]!.action).toBe('create');
    expect(versions[0]!.changes.quantity).toEqual({ from: null, to: 100 });
    expect(versions[1]!.changes).toEqual({ quantity: { from: 100, to: 98.5 } });
    expect(versions[3]!.changes).toEqual({ status: { from: 'quarantine', to: 'released' } });
    expect(versions[4]!.changes).toEqual({ status: { from: 'released', to: 'blocked' } });
    expect(versions[3]).toMatchObject({
      signature: { signer: { userId: qm.userId, username: qm.username }, meaning: 'approved_for_release' },
    });
    expect(versions[4]).toMatchObject({ signature: { signer: { userId: qm2.userId }, meaning: 'blocked' } });
    expect(versions[2]).not.toHaveProperty('signature');
    for (const v of versions) expect(new Date(v.at).toISOString()).toBe(v.at);

    // Assess: the audit trail (from the stream) tells the same, and its chain verifies.
    const trail = await auditOf('charge', id, 5);
    expect(trail.map((r) => [r.seq, r.action, r.version, r.actor.userId, r.reason])).toEqual([
      [1, 'create', 1, operator.userId, null],
      [2, 'update', 2, operator.userId, 'weighed again after drying'],
      [3, 'update', 3, operator.userId, 'sampled for QC'],
      [4, 'update', 4, qm.userId, 'QC certificate 2026-118'],
      [5, 'update', 5, qm2.userId, 'customer complaint 55'],
    ]);
    // The signature is part of the audited change (and so of the hash chain); never a password.
    expect(trail[3]!.changes).toEqual({
      status: { from: 'quarantine', to: 'released' },
      signature: { from: null, to: expect.objectContaining({ meaning: 'approved_for_release' }) },
    });
    expect(JSON.stringify(trail)).not.toContain(qm.password);

    const verify = await api.request(`/audit/verify?entityType=charge&entityId=${id}`, { token: auditor.token });
    expect(verify.json).toEqual({ entityType: 'charge', entityId: id, valid: true, records: 5 });
  });
});

describe('the batch data is locked once QA has decided (four-eyes rule beyond the status flag)', () => {
  it('the creator cannot rewrite a released charge; nobody can edit a blocked or rejected one; nothing is written', async () => {
    // Prepare
    const id = await seed({ status: 'quarantine' });
    expect((await decide(api, qm, id, 1, 'released', 'QC certificate 118')).status).toBe(200);

    // Act / Assess: the attack, the creator (an operator) changing what QA released, then every later state.
    const rewrite = await patch(id, 2, { quantity: 9999, unit: 't', articleId: 'E2E-2', reason: 'correction' });
    expectError(rewrite, 409, 'CONFLICT');
    expect(rewrite.json).toMatchObject({
      error: { details: { status: 'released', fields: expect.arrayContaining(['quantity', 'unit', 'articleId']) } },
    });
    // Not even someone with the release right, nor notes alone.
    expectError(await patch(id, 2, { notes: 'added later', reason: 'note after release' }, qm2), 409, 'CONFLICT');
    expect((await decide(api, qm2, id, 2, 'blocked', 'complaint 7')).status).toBe(200);
    expectError(await patch(id, 3, { quantity: 1, reason: 'while blocked' }, qm2), 409, 'CONFLICT');
    expect((await decide(api, qm2, id, 3, 'rejected', 'destroy the lot')).status).toBe(200);
    expectError(await patch(id, 4, { quantity: 1, reason: 'after rejection' }, qm), 409, 'CONFLICT');

    // Assess: nothing of the refused changes was written.
    const got = await api.request(`/charges/${id}`, { token: viewer.token });
    expect(got.json).toMatchObject({ status: 'rejected', quantity: 100, unit: 'kg', articleId: 'E2E-1', version: 4 });
    expect(await auditOf('charge', id, 4)).toHaveLength(4);
  });

  it('a release or rejection cannot come in the request that changes the data it decides on', async () => {
    // Prepare
    const id = await seed({ status: 'quarantine' });

    // Act / Assess
    expectError(
      await patch(id, 1, { status: 'released', quantity: 5, reason: 'fix and release' }, qm),
      409,
      'CONFLICT',
    );
    expectError(
      await patch(id, 1, { status: 'rejected', notes: 'bad', reason: 'fix and reject' }, qm),
      409,
      'CONFLICT',
    );
    // Unchanged values are no change; in production and quarantine the data stays editable.
    const asIs = { status: 'released', quantity: 100, reason: 'release as is' };
    expect((await patch(id, 1, { ...asIs, signature: signatureFor('released', qm.password) }, qm)).status).toBe(200);
    const other = await seed();
    expect((await patch(other, 1, { quantity: 7, status: 'quarantine', reason: 'weighed, to QC' })).status).toBe(200);
  });

  it('a reason needs three visible characters: zero-width or control characters do not count', async () => {
    const id = await seed();
    for (const reason of ['\u200b\u200b\u200b', '\u0000\u0000\u0000', ' \u00a0 \u2060\u2060 ', 'ok\u0007k']) {
      expectError(await patch(id, 1, { quantity: 2, reason }), 422, 'VALIDATION_ERROR');
    }
    expect((await patch(id, 1, { quantity: 2, reason: 'Zeile 1\nZeile 2' })).status).toBe(200);
  });

  it('text that is not well-formed Unicode (a lone surrogate) is 422 in articleId, notes and reason, and writes nothing', async () => {
    expectError(await post({ ...charge, articleId: 'A\ud800' }), 422, 'VALIDATION_ERROR');
    expectError(await post({ ...charge, notes: 'x\udc00y' }), 422, 'VALIDATION_ERROR');
    const id = await seed();
    expectError(await patch(id, 1, { quantity: 3, reason: 'why\ud800' }), 422, 'VALIDATION_ERROR');
    expect((await api.request(`/charges/${id}`, { token: viewer.token })).headers.etag).toBe('"1"');
    // A surrogate pair is one character and fine.
    expect((await patch(id, 1, { notes: 'ok 😀', reason: 'emoji are fine' })).status).toBe(200);
  });
});

describe('list query parameters', () => {
  it('an empty value filters nothing; a misspelt parameter is a 400 naming it, not silently ignored', async () => {
    const empty = await api.request('/charges?status=&articleId=&limit=', { token: viewer.token });
    expect(empty.status, empty.text).toBe(200);
    const typo = await api.request('/charges?stauts=released', { token: viewer.token });
    expectError(typo, 400, 'BAD_REQUEST');
    const error = (typo.json as { error: { message: string; details: { keys?: string[] }[] } }).error;
    expect(error.message).toMatch(/query parameters/);
    expect(error.details.flatMap((d) => d.keys ?? [])).toEqual(['stauts']);
  });
});

describe('a PATCH that changes nothing', () => {
  it('writes no version and no audit record: same status, same values → 200 with the charge as it was', async () => {
    // Prepare
    const id = await seed({ notes: 'unchanged' });

    // Act
    const same = await patch(id, 1, {
      status: 'in_production',
      notes: 'unchanged',
      quantity: 100,
      reason: 'nothing really',
    });

    // Assess
    expect(same.status, same.text).toBe(200);
    expect((same.json as { version: number }).version).toBe(1);
    expect(same.headers.etag).toBe('"1"');
    const history = await api.request(`/charges/${id}/history`, { token: operator.token });
    expect((history.json as { versions: unknown[] }).versions).toHaveLength(1);
    // A real change afterwards still needs the unchanged version, and gets exactly one audit record more.
    expect((await patch(id, 1, { notes: 'changed', reason: 'a real change' })).status).toBe(200);
    const audit = await auditOf('charge', id, 2);
    expect(audit.map((a) => a.version)).toEqual([1, 2]);
  });
});

describe('bad input over HTTP leaves no trace', () => {
  it('each refused request writes neither a charge nor an audit record', async () => {
    // Prepare: once this charge's audit record is there, every earlier write has been audited (stream order).
    const barrier = await seed();
    await auditOf('charge', barrier, 1);
    const chargeAudit = async () => (await scanAll('audit')).filter((i) => i.entityType === 'charge');
    const chargesBefore = (await scanAll('charges')).length;
    const auditBefore = (await chargeAudit()).length;

    // Act / Assess: each refusal in the API's error shape.
    expectError(await post({ ...charge, chargeId: 'mine' }), 400, 'BAD_REQUEST');
    expectError(await post({ ...charge, quantity: -5 }), 422, 'VALIDATION_ERROR');
    expectError(await post({ ...charge, unit: 'stone' }), 422, 'VALIDATION_ERROR');
    expectError(await post({ ...charge, status: 'released' }), 409, 'INVALID_TRANSITION');
    expectError(await post(charge, viewer), 403, 'FORBIDDEN');
    expectError(await api.request('/charges', { method: 'POST', body: charge }), 401, 'UNAUTHORIZED');
    expectError(await patch(barrier, 1, { quantity: 1, reason: 'x' }), 422, 'VALIDATION_ERROR');
    expectError(await patch(barrier, 1, { version: 3, reason: 'set the version' }), 400, 'BAD_REQUEST');
    expectError(
      await patch(barrier, undefined, { quantity: 1, reason: 'no precondition' }),
      428,
      'PRECONDITION_REQUIRED',
    );
    expectError(await patch(barrier, 9, { quantity: 1, reason: 'stale version' }), 412, 'PRECONDITION_FAILED');

    // Assess: a good write afterwards; when its audit record is there, a record for any refused request would be too.
    const sentinel = await seed();
    await auditOf('charge', sentinel, 1);
    // The sentinel, its version snapshot and its lot number's claim (the year's lot counter exists already).
    expect((await scanAll('charges')).length).toBe(chargesBefore + 3);
    const after = await chargeAudit();
    expect(after.length).toBe(auditBefore + 1);
    expect(after.filter((i) => i.entityId === barrier)).toHaveLength(1);
  });
});

describe('audit routes over HTTP', () => {
  it('need audit:read', async () => {
    expectError(await api.request('/audit', { token: operator.token }), 403, 'FORBIDDEN');
    expectError(
      await api.request('/audit/verify?entityType=charge&entityId=x', { token: viewer.token }),
      403,
      'FORBIDDEN',
    );
  });

  it('a tampered audit item is caught by /audit/verify', async () => {
    // Prepare
    const id = await seed();
    await patch(id, 1, { quantity: 5, reason: 'recount' });
    await patch(id, 2, { notes: 'checked', reason: 'add note' });
    const trail = await auditOf('charge', id, 3);

    // Act
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('audit'),
        Key: { entityKey: `charge#${id}`, seq: 2 },
        UpdateExpression: 'SET changes.quantity.#to = :v',
        ExpressionAttributeNames: { '#to': 'to' },
        ExpressionAttributeValues: { ':v': 500 },
      }),
    );

    // Assess
    const verify = await api.request(`/audit/verify?entityType=charge&entityId=${id}`, { token: auditor.token });
    expect(verify.json).toMatchObject({
      valid: false,
      records: 3,
      brokenAt: { seq: 2, auditId: (trail[1] as unknown as { auditId: string }).auditId },
    });
  });

  it('an attribute added to a stored audit item (not hashed) is never shown as part of the record', async () => {
    // Prepare
    const id = await seed();
    await auditOf('charge', id, 1);

    // Act
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('audit'),
        Key: { entityKey: `charge#${id}`, seq: 1 },
        UpdateExpression: 'SET approvedBy = :qa, actor.#role = :admin',
        ExpressionAttributeNames: { '#role': 'role' },
        ExpressionAttributeValues: { ':qa': 'quality department', ':admin': 'admin' },
      }),
    );

    // Assess
    const [record] = await auditOf('charge', id, 1);
    expect(record).not.toHaveProperty('approvedBy');
    expect(record?.actor).toEqual({ userId: operator.userId, username: operator.username });
  });

  it('an audit item moved out of the actor and time views (unhashed index attributes edited) is caught too', async () => {
    // Prepare
    const id = await seed();
    await patch(id, 1, { quantity: 5, reason: 'recount' });
    await auditOf('charge', id, 2);

    // Act
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('audit'),
        Key: { entityKey: `charge#${id}`, seq: 2 },
        UpdateExpression: 'SET actorId = :nobody, #month = :old',
        ExpressionAttributeNames: { '#month': 'month' },
        ExpressionAttributeValues: { ':nobody': 'nobody', ':old': '1999-01' },
      }),
    );

    // Assess
    const byActor = await api.request(`/audit?actor=${operator.userId}&entityType=charge&limit=100`, {
      token: auditor.token,
    });
    expect(
      (byActor.json as { items: { entityId: string; seq: number }[] }).items
        .filter((r) => r.entityId === id)
        .map((r) => r.seq),
    ).toEqual([1]);
    const verify = await api.request(`/audit/verify?entityType=charge&entityId=${id}`, { token: auditor.token });
    expect(verify.json).toMatchObject({ valid: false, records: 2, brokenAt: { seq: 2, problem: 'derived_mismatch' } });
  });
});

describe("users' changes are audited from the users stream", () => {
  it('a role change and a disable appear with the acting admin; no password hash in any audit record', async () => {
    // Prepare
    const target = await userWithRoles(api, ['viewer']);
    const admin = await adminToken(api);

    // Act
    const roles = await api.request(`/users/${target.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', roles: ['operator'] },
    });
    expect(roles.status, roles.text).toBe(200);
    const disabled = await api.request(`/users/${target.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', disabled: true },
    });
    expect(disabled.status, disabled.text).toBe(200);

    // Assess: the stream's records, once the disable has arrived.
    const trail = await eventually(async () => {
      const items = await auditTrail('user', target.userId);
      expect(items.some((r) => r.action === 'user.disable' && 'disabled' in r.changes)).toBe(true);
      return items;
    });
    const roleChange = trail.find((r) => r.action === 'role.change' && 'roles' in r.changes);
    expect(roleChange?.changes.roles).toEqual({ from: ['viewer'], to: ['operator'] });
    expect(roleChange?.actor.username).toBe('admin');
    const disable = trail.find((r) => r.action === 'user.disable' && 'disabled' in r.changes);
    expect(disable?.changes.disabled).toEqual({ from: false, to: true });
    expect(disable?.version).toBe(3);
    // The creation came from the stream too, with the secret redacted but its presence recorded.
    expect(trail.find((r) => r.action === 'create')?.changes.passwordHash).toEqual({ from: null, to: '[REDACTED]' });

    const hashes = (await scanAll('users'))
      .map((u) => u.passwordHash)
      .filter((h): h is string => typeof h === 'string');
    expect(hashes.length).toBeGreaterThan(0);
    const everything = JSON.stringify(await scanAll('audit'));
    for (const hash of hashes) expect(everything).not.toContain(hash);
    const verify = await api.request(`/audit/verify?entityType=user&entityId=${target.userId}`, {
      token: auditor.token,
    });
    expect((verify.json as { valid: boolean }).valid).toBe(true);
  });
});
