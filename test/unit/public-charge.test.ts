import { describe, expect, it } from 'vitest';
import { type Charge, toPublicCharge } from '#charges/model';

const charge: Charge = {
  chargeId: '00000000-0000-4000-8000-000000000001',
  articleId: 'ART-1',
  quantity: 12.5,
  unit: 'kg',
  productionDate: '2026-03-01',
  status: 'quarantine',
  version: 3,
  createdAt: '2026-03-01T08:00:00.000Z',
  createdBy: { userId: 'u1', username: 'anna' },
  updatedAt: '2026-03-02T08:00:00.000Z',
  updatedBy: { userId: 'u2', username: 'bernd' },
};

describe('toPublicCharge: what a client sees of a stored charge item', () => {
  it('drops storage keys, change metadata and any attribute it does not know', () => {
    const item = {
      ...charge,
      sk: 'CHARGE',
      listPk: 'CHARGES',
      listSk: 'x',
      requestId: 'r-1',
      reason: 'why',
      expiresAt: 1,
      internalNote: 'secret',
    };
    expect(toPublicCharge(item)).toStrictEqual(charge);
  });

  it('keeps the optional fields the item has, and adds none it lacks', () => {
    const full = { ...charge, expiryDate: '2027-03-01', notes: 'Probe', deletedAt: '2026-03-03T08:00:00.000Z' };
    expect(toPublicCharge({ ...full, sk: 'CHARGE' })).toStrictEqual(full);
    expect(Object.keys(toPublicCharge(charge))).not.toContain('notes');
  });
});
