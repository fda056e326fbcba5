import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChargeStore } from '#charges/store';
import { verifySignatureBinding } from '#charges/signature';
import { expectError } from '#test/support/assertions';
import { decide, seedCharge, signatureFor } from '#test/support/charges';
import { eventually } from '#test/support/eventually';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { scanAll } from '#test/support/streams';
import { type TestUser, userWithRoles } from '#test/support/users';

/**
 * QA decisions over HTTP with the real signature verifier (functions/auth/signature-verifier.ts): the release
 * right, the four-eyes rule over every data author, the signature's presence, meaning and credentials, the
 * lockout, the signature on the record, and signed reviews. Rules: docs/charges.md.
 */

let api: LocalApi;
let operator: TestUser;
let qm: TestUser;
let qm2: TestUser;
let auditor: TestUser;
let viewer: TestUser;
const store = new ChargeStore();

type Entry = { version: number; action: string; changes: Record<string, unknown>; signature?: Record<string, unknown> };

const patch = (id: string, version: number, body: unknown, user: TestUser, localAddress?: string) =>
  api.request(`/charges/${id}`, {
    method: 'PATCH',
    token: user.token,
    body,
    headers: { 'If-Match': `"${version}"` },
    ...(localAddress ? { localAddress } : {}),
  });

/** A charge `operator` made, in quarantine (version 1). */
const quarantined = async () =>
  (await seedCharge(api, operator.token, { articleId: 'SIG-1', quantity: 10, status: 'quarantine' })).chargeId;

const versionsOf = async (id: string) => {
  const res = await api.request(`/charges/${id}/history`, { token: viewer.token });
  expect(res.status, res.text).toBe(200);
  return (res.json as { versions: Entry[] }).versions;
};

const auditOf = (id: string, count: number) =>
  eventually(async () => {
    const res = await api.request(`/audit?entityType=charge&entityId=${id}&limit=100`, { token: auditor.token });
    type Item = { action: string; version: number; changes: Record<string, unknown> };
    const items = (res.json as { items: Item[] }).items;
    expect(items.length).toBeGreaterThanOrEqual(count);
    return items;
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

describe('who may decide', () => {
  it('an operator can neither reject nor block (403), not even with a correct signature; nothing is written', async () => {
    // Prepare: one charge to reject, one released to block.
    const toReject = await quarantined();
    const toBlock = await quarantined();
    expect((await decide(api, qm, toBlock, 1, 'released')).status).toBe(200);
    const before = await scanAll('charges');

    // Act / Assess
    expectError(await decide(api, operator, toReject, 1, 'rejected'), 403, 'SEGREGATION_OF_DUTIES');
    expectError(await decide(api, operator, toBlock, 2, 'blocked'), 403, 'SEGREGATION_OF_DUTIES');
    expect(await scanAll('charges')).toEqual(before);
  });

  it('a quality manager who changed the quantity cannot release it (four-eyes beyond the creator)', async () => {
    // Prepare: qm edits the data of the operator's charge.
    const id = await quarantined();
    expect((await patch(id, 1, { quantity: 11, reason: 'weighed again' }, qm)).status).toBe(200);

    // Act / Assess: qm may not decide on it, whatever the decision; qm2 may.
    expectError(await decide(api, qm, id, 2, 'released'), 403, 'SEGREGATION_OF_DUTIES');
    expectError(await decide(api, qm, id, 2, 'rejected'), 403, 'SEGREGATION_OF_DUTIES');
    expect((await decide(api, qm2, id, 2, 'released')).status).toBe(200);
  });

  it('changing only notes or status does not make anyone a data author', async () => {
    const id = (await seedCharge(api, operator.token, { articleId: 'SIG-2' })).chargeId;
    expect((await patch(id, 1, { notes: 'sampled', status: 'quarantine', reason: 'to QC' }, qm)).status).toBe(200);
    expect((await decide(api, qm, id, 2, 'released')).status).toBe(200);
  });

  it('the creator cannot release their own charge, even as a quality manager', async () => {
    const id = (await seedCharge(api, qm.token, { articleId: 'SIG-3', status: 'quarantine' })).chargeId;
    expectError(await decide(api, qm, id, 1, 'released'), 403, 'SEGREGATION_OF_DUTIES');
  });
});

describe('the signature', () => {
  it('a release without a signature is 403 SIGNATURE_REQUIRED and writes nothing', async () => {
    const id = await quarantined();
    const before = await scanAll('charges');
    expectError(await patch(id, 1, { status: 'released', reason: 'QC ok' }, qm), 403, 'SIGNATURE_REQUIRED');
    expect(await scanAll('charges')).toEqual(before);
  });

  it('a signature whose meaning does not fit the decision is 422, and no password is checked', async () => {
    const id = await quarantined();
    const wrongMeaning = { meaning: 'rejected', password: 'not even checked' };
    const res = await patch(id, 1, { status: 'released', reason: 'QC ok', signature: wrongMeaning }, qm);
    expectError(res, 422, 'VALIDATION_ERROR');
    // A wrong password was not counted: the right one still works at once.
    expect((await decide(api, qm, id, 1, 'released')).status).toBe(200);
  });

  it('a signature on a change that is no QA decision is refused (422)', async () => {
    const id = (await seedCharge(api, operator.token, { articleId: 'SIG-4' })).chargeId;
    const body = { status: 'quarantine', reason: 'to QC', signature: signatureFor('released', operator.password) };
    expectError(await patch(id, 1, body, operator), 422, 'VALIDATION_ERROR');
  });

  it('a refused decision (four-eyes) never checks the password: five wrong ones do not lock', async () => {
    const id = (await seedCharge(api, qm2.token, { articleId: 'SIG-5', status: 'quarantine' })).chargeId;
    const wrong = { status: 'released', reason: 'mine', signature: { meaning: 'approved_for_release', password: 'x' } };
    for (let i = 0; i < 6; i++) expectError(await patch(id, 1, wrong, qm2), 403, 'SEGREGATION_OF_DUTIES');
    const other = await quarantined();
    expect((await decide(api, qm2, other, 1, 'released')).status).toBe(200);
  });

  it('a wrong password is 403 SIGNATURE_INVALID; five wrong ones lock the signer (423), the right one too then', async () => {
    // Prepare: a signer of its own, so the lockout touches no other test.
    const signer = await userWithRoles(api, ['quality_manager']);
    const id = await quarantined();
    const attempt = (password: string) =>
      patch(
        id,
        1,
        { status: 'released', reason: 'QC ok', signature: { meaning: 'approved_for_release', password } },
        signer,
      );

    // Act / Assess
    for (let i = 0; i < 5; i++) expectError(await attempt(`wrong-${i}`), 403, 'SIGNATURE_INVALID');
    expectError(await attempt('wrong-again'), 423, 'ACCOUNT_LOCKED');
    expectError(await attempt(signer.password), 423, 'ACCOUNT_LOCKED');
    const got = await api.request(`/charges/${id}`, { token: viewer.token });
    expect(got.json).toMatchObject({ status: 'quarantine', version: 1 });
  });

  it('the right password signs: the signature is on the version, in the history, in versions/{n} and on the audit trail', async () => {
    // Prepare
    const id = await quarantined();

    // Act
    const res = await decide(api, qm, id, 1, 'released', 'QC certificate 9');

    // Assess: the history entry of version 2 carries the signature, bound to that version.
    expect(res.status, res.text).toBe(200);
    const versions = await versionsOf(id);
    const signature = versions[1]!.signature as Record<string, unknown>;
    expect(signature).toEqual({
      signer: { userId: qm.userId, username: qm.username, displayName: null },
      meaning: 'approved_for_release',
      at: expect.any(String),
      method: 'password',
      versionHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(versions[0]).not.toHaveProperty('signature');
    const v2 = await api.request(`/charges/${id}/versions/2`, { token: viewer.token });
    expect(v2.json).toMatchObject({
      chargeId: id,
      version: 2,
      status: 'released',
      reason: 'QC certificate 9',
      signature,
    });
    const v1 = await api.request(`/charges/${id}/versions/1`, { token: viewer.token });
    expect(v1.json).not.toHaveProperty('signature');

    // Assess: the audit record of version 2 has it among its hashed changes; never a password.
    const trail = await auditOf(id, 2);
    expect(trail[1]!.changes.signature).toEqual({ from: null, to: signature });
    expect(JSON.stringify(trail)).not.toContain(qm.password);
    expect(JSON.stringify(versions)).not.toContain(qm.password);
  });

  it('a signature copied onto another version fails the binding check', async () => {
    // Prepare: version 2 signed (release), version 3 signed (block), read as stored.
    const id = await quarantined();
    expect((await decide(api, qm, id, 1, 'released')).status).toBe(200);
    expect((await decide(api, qm2, id, 2, 'blocked')).status).toBe(200);
    const v2 = (await store.snapshot(id, 2))!;
    const v3 = (await store.snapshot(id, 3))!;

    // Assess: each binds to its own version only — also the release signature laid over version 3's content.
    expect(verifySignatureBinding(v2, v2.signature)).toBe(true);
    expect(verifySignatureBinding(v3, v3.signature)).toBe(true);
    expect(verifySignatureBinding(v3, v2.signature)).toBe(false);
    expect(verifySignatureBinding({ ...v3, signature: v2.signature }, v2.signature)).toBe(false);
    // And a changed byte of the signed version breaks it too.
    expect(verifySignatureBinding({ ...v2, quantity: 10.001 }, v2.signature)).toBe(false);
  });
});

describe('signed periodic reviews', () => {
  it('an auditor signs a review of a released charge: 201, a new version with no data change, in history and audit', async () => {
    // Prepare
    const id = await quarantined();
    expect((await decide(api, qm, id, 1, 'released')).status).toBe(200);

    // Act
    const res = await api.request(`/charges/${id}/reviews`, {
      method: 'POST',
      token: auditor.token,
      body: { signature: { meaning: 'reviewed', password: auditor.password }, comment: 'Annual product review 2026' },
    });

    // Assess
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({
      chargeId: id,
      version: 3,
      comment: 'Annual product review 2026',
      signature: { meaning: 'reviewed', signer: { userId: auditor.userId } },
    });
    expect(res.headers.location).toBe(`/charges/${id}/versions/3`);
    const versions = await versionsOf(id);
    expect(versions[2]).toMatchObject({
      version: 3,
      action: 'review',
      changes: {},
      signature: { meaning: 'reviewed' },
    });
    const got = await api.request(`/charges/${id}`, { token: viewer.token });
    expect(got.json).toMatchObject({ status: 'released', quantity: 10, version: 3 });
    const trail = await auditOf(id, 3);
    expect(trail[2]).toMatchObject({ action: 'review', version: 3 });
    expect(Object.keys(trail[2]!.changes)).toEqual(['signature']);
    const verify = await api.request(`/audit/verify?entityType=charge&entityId=${id}`, { token: auditor.token });
    expect(verify.json).toMatchObject({ valid: true, records: 3 });
  });

  it('refuses a wrong meaning (422), a missing or wrong password (403), a viewer (403) and an unknown charge (404)', async () => {
    const id = await quarantined();
    const review = (body: unknown, user = auditor, charge = id) =>
      api.request(`/charges/${charge}/reviews`, { method: 'POST', token: user.token, body });
    expectError(
      await review({ signature: { meaning: 'approved_for_release', password: 'x' } }),
      422,
      'VALIDATION_ERROR',
    );
    expectError(await review({ signature: { meaning: 'reviewed' } }), 403, 'SIGNATURE_REQUIRED');
    expectError(await review({ signature: { meaning: 'reviewed', password: 'nope' } }), 403, 'SIGNATURE_INVALID');
    expectError(
      await review({ signature: { meaning: 'reviewed', password: viewer.password } }, viewer),
      403,
      'FORBIDDEN',
    );
    expectError(
      await review({ signature: { meaning: 'reviewed', password: auditor.password } }, auditor, 'nope'),
      404,
      'NOT_FOUND',
    );
    expect((await api.request(`/charges/${id}`, { token: viewer.token })).headers.etag).toBe('"1"');
  });
});
