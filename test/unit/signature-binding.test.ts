import { describe, expect, it } from 'vitest';
import type { ChargeState } from '#charges/model';
import { signatureOf, verifySignatureBinding, versionHash } from '#charges/signature';

/** functions/charges/signature.ts: a signature binds to exactly the version whose content it hashes. */

const actor = { userId: 'u-1', username: 'qm' };
const version = (n: number, overrides: Partial<ChargeState> = {}): ChargeState => ({
  chargeId: 'c-1',
  lotNumber: '2026-00001',
  articleId: 'ART-1',
  quantity: 12.5,
  unit: 'kg',
  productionDate: '2026-03-01',
  status: 'released',
  version: n,
  createdAt: '2026-03-01T08:00:00.000Z',
  createdBy: actor,
  updatedAt: `2026-03-0${n}T08:00:00.000Z`,
  updatedBy: actor,
  requestId: `r-${n}`,
  reason: 'QC ok',
  dataAuthors: ['u-0'],
  ...overrides,
});
const signed = (state: ChargeState): ChargeState => ({
  ...state,
  signature: {
    signer: { userId: 'u-1', username: 'qm', displayName: null },
    meaning: 'approved_for_release',
    at: '2026-03-02T08:00:00.000Z',
    method: 'password',
    versionHash: versionHash(state),
  },
});

describe('verifySignatureBinding', () => {
  it('holds for the version signed, whatever the stamp and storage keys say', () => {
    const v2 = signed(version(2));
    const stored = { ...v2, sk: 'V#0000000002', lastChange: { any: 'thing' }, lastChangeMac: 'mac' };
    expect(verifySignatureBinding(stored, v2.signature)).toBe(true);
    expect(signatureOf(v2)).toEqual(v2.signature);
  });

  it('fails for a signature copied onto another version, or onto the same content changed in one field', () => {
    const v2 = signed(version(2));
    const v3 = version(3);
    expect(verifySignatureBinding(v3, v2.signature)).toBe(false);
    expect(verifySignatureBinding({ ...v3, signature: v2.signature }, v2.signature)).toBe(false);
    expect(signatureOf({ ...v3, signature: v2.signature })).toBeUndefined();
    for (const change of [{ quantity: 12.501 }, { reason: 'QC ok.' }, { dataAuthors: [] }, { chargeId: 'c-2' }]) {
      expect(verifySignatureBinding({ ...v2, ...change }, v2.signature), JSON.stringify(change)).toBe(false);
    }
  });

  it('no signature binds nothing', () => {
    expect(verifySignatureBinding(version(1), undefined)).toBe(false);
    expect(signatureOf(version(1))).toBeUndefined();
  });

  it('the hash is the same for the same content in any key order (canonical JSON)', () => {
    const v = version(2);
    const reordered = Object.fromEntries(Object.entries(v).reverse());
    expect(versionHash(reordered)).toBe(versionHash(v));
    expect(versionHash(v)).toMatch(/^[0-9a-f]{64}$/);
  });
});
