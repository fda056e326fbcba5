import { AppError } from '../shared/errors';
import type { AuthenticatedUser } from '../shared/auth-context';
import type { Charge, ChargeStatus } from './model';

/** SPEC §3: in_production → quarantine → released | rejected; released → blocked → released | rejected. */
export const TRANSITIONS: Readonly<Record<ChargeStatus, readonly ChargeStatus[]>> = {
  in_production: ['quarantine'],
  quarantine: ['released', 'rejected'],
  released: ['blocked'],
  blocked: ['released', 'rejected'],
  rejected: [],
};

/** A new charge starts in production, or in quarantine if the request says so. */
export const INITIAL_STATUSES: readonly ChargeStatus[] = ['in_production', 'quarantine'];

export function assertInitialStatus(status: ChargeStatus): void {
  if (!INITIAL_STATUSES.includes(status)) {
    throw new AppError('INVALID_TRANSITION', `A new charge cannot start as ${status}`, {
      details: { to: status, allowed: INITIAL_STATUSES },
    });
  }
}

/**
 * Checks a status change: the release permission, the lifecycle, then the four-eyes rule (the creator may
 * never release their own charge).
 */
export function assertTransition(charge: Charge, to: ChargeStatus, user: AuthenticatedUser): void {
  // SPEC §3 names one error for both release rules: the release right and the four-eyes rule are segregation of duties.
  if (to === 'released' && !user.permissions.includes('charges:release')) {
    throw new AppError('SEGREGATION_OF_DUTIES', 'Releasing a charge needs the charges:release permission');
  }
  if (!TRANSITIONS[charge.status].includes(to)) {
    throw new AppError('INVALID_TRANSITION', `A charge cannot go from ${charge.status} to ${to}`, {
      details: { from: charge.status, to, allowed: TRANSITIONS[charge.status] },
    });
  }
  if (to === 'released' && charge.createdBy.userId === user.userId) {
    throw new AppError('SEGREGATION_OF_DUTIES', 'The creator of a charge cannot release it (four-eyes rule)');
  }
}
