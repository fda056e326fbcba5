import { expect } from 'vitest';
import type { AuthenticatedUser } from '#platform/auth-context';
import type { Charge } from '#charges/model';
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
