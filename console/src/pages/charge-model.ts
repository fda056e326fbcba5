import type { ChargeStatus, Permission, SignatureMeaning } from '../api/types';

/** The lifecycle as the server enforces it; the console only offers what the server would accept. */
export const TRANSITIONS: Record<ChargeStatus, readonly ChargeStatus[]> = {
  in_production: ['quarantine'],
  quarantine: ['released', 'rejected'],
  released: ['blocked'],
  blocked: ['released', 'rejected'],
  rejected: [],
};

/** A QA decision needs `charges:release` and an electronic signature with this meaning. */
export const QA_MEANING: Partial<Record<ChargeStatus, SignatureMeaning>> = {
  released: 'approved_for_release',
  rejected: 'rejected',
  blocked: 'blocked',
};

export function actionsFor(status: ChargeStatus, permissions: readonly Permission[]): ChargeStatus[] {
  return TRANSITIONS[status].filter((to) =>
    QA_MEANING[to] ? permissions.includes('charges:release') : permissions.includes('charges:write'),
  );
}

/** The fields shown in the detail and compared between versions, in this order. */
export const CHARGE_FIELDS = [
  'lotNumber',
  'articleId',
  'quantity',
  'unit',
  'productionDate',
  'expiryDate',
  'status',
  'notes',
  'version',
  'updatedAt',
  'updatedBy',
] as const;

/** What the SSO re-authentication window posts to the console that opened it, once the provider confirmed the user. */
export const SIGNED_MESSAGE = 'charge-records:signed';
