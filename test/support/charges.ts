import { randomBytes, randomUUID } from 'node:crypto';
import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { toItems } from '#charges/store';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import type { AuthenticatedUser } from '#platform/auth-context';
import type { Role } from '#platform/permissions';
import { hashPassword } from '#users/passwords';
import { UserStore } from '#users/store';
import type { Charge, ChargeState } from '#charges/model';
import { callHandler } from './events';
import type { LocalApi } from './local-api';

/** A valid new charge: tests lay the fields that matter to them over it. */
export const NEW_CHARGE = { articleId: 'SEED-1', quantity: 1, unit: 'kg', productionDate: '2026-03-01' } as const;

/** Fields laid over NEW_CHARGE; one set to `undefined` is left out of the request. */
export type ChargeOverrides = Record<string, unknown>;

/** Creates a charge over HTTP as the token's user; fails the test unless 201. Returns the charge as answered. */
export async function seedCharge(api: LocalApi, token: string, overrides: ChargeOverrides = {}): Promise<Charge> {
  const res = await api.request('/charges', { method: 'POST', token, body: { ...NEW_CHARGE, ...overrides } });
  expect(res.status, res.text).toBe(201);
  return res.json as Charge;
}

/** The same through the charges handler in-process, `user` as the authorizer describes them (no server). */
export async function seedChargeAs(user: AuthenticatedUser, overrides: ChargeOverrides = {}): Promise<Charge> {
  const res = await callHandler('charges', {
    method: 'POST',
    resource: '/charges',
    user,
    body: { ...NEW_CHARGE, ...overrides },
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json as Charge;
}

/** The signature meaning each QA decision is signed with (functions/charges/lifecycle.ts). */
export const DECISION_MEANING = {
  released: 'approved_for_release',
  rejected: 'rejected',
  blocked: 'blocked',
} as const;
export type Decision = keyof typeof DECISION_MEANING;

/** The `signature` of a QA decision, signed with the signer's password. */
export const signatureFor = (status: Decision, password: string) => ({ meaning: DECISION_MEANING[status], password });

/**
 * A signed QA decision over HTTP: PATCH with If-Match, the new status, a reason and the signer's password. Returns
 * the response (the caller checks it: refusals are tested with this too).
 */
export function decide(
  api: LocalApi,
  signer: { token: string; password: string },
  chargeId: string,
  version: number,
  status: Decision,
  reason = `QA decision: ${status}`,
) {
  return api.request(`/charges/${chargeId}`, {
    method: 'PATCH',
    token: signer.token,
    headers: { 'If-Match': `"${version}"` },
    body: { status, reason, signature: signatureFor(status, signer.password) },
  });
}

/**
 * Makes a caller as `userWith` describes them a real account that can sign (in-process tests: the signature
 * verifier reads the signer from the users table): the user is created with these roles and a fresh password, and
 * `user` takes its id and username. Returns the password.
 */
export async function makeSigner(user: AuthenticatedUser, displayName?: string): Promise<string> {
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const created = await new UserStore().create(
    {
      username: `${user.username}-${randomBytes(4).toString('hex')}`,
      passwordHash: await hashPassword(password),
      roles: [...user.roles] as Role[],
      ...(displayName ? { displayName } : {}),
    },
    { actor: { userId: 'system', username: 'test' } },
  );
  user.userId = created.userId;
  user.username = created.username;
  return password;
}

/**
 * Writes `count` versions of a charge straight to the table (BatchWriteItem, 25 a call, a few calls at a time):
 * snapshots 1…count made from `base`, each with its own quantity and reason, and the live item at the last one —
 * so a test or benchmark gets a long history without thousands of HTTP calls. Not stamped: the audit trail
 * treats such items as written outside the API.
 */
export async function seedVersions(base: ChargeState, count: number): Promise<ChargeState> {
  const db = documentDb();
  const table = tableName('charges');
  const state = (version: number): ChargeState => ({
    ...base,
    version,
    quantity: version,
    reason: version === 1 ? null : `change ${version}`,
    updatedAt: new Date(Date.parse(base.createdAt) + version * 1000).toISOString(),
  });
  const items = Array.from({ length: count }, (_, i) => toItems(state(i + 1)).snapshot);
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  const write = async (batch: Record<string, unknown>[]) => {
    let pending = batch.map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (out.UnprocessedItems?.[table] ?? []) as typeof pending;
    }
  };
  for (let i = 0; i < batches.length; i += 4) await Promise.all(batches.slice(i, i + 4).map(write));
  const last = state(count);
  await db.send(new PutCommand({ TableName: table, Item: toItems(last).live }));
  return last;
}

/** A charge state to seed versions from: the fields of a real charge, a fresh id, no lot number claim. */
export function chargeState(overrides: Partial<ChargeState> = {}): ChargeState {
  const actor = { userId: 'seed-user', username: 'seed' };
  return {
    chargeId: randomUUID(),
    articleId: 'SEED-VERSIONS',
    quantity: 1,
    unit: 'kg',
    productionDate: '2026-03-01',
    status: 'in_production',
    version: 1,
    createdAt: '2026-03-01T08:00:00.000Z',
    createdBy: actor,
    updatedAt: '2026-03-01T08:00:00.000Z',
    updatedBy: actor,
    requestId: 'seed',
    reason: null,
    dataAuthors: [actor.userId],
    ...overrides,
  };
}
