import { AppError } from '#platform/errors';
import type { AuthenticatedUser } from '#platform/auth-context';
import type { Charge, ChargeStatus } from './model';

/** The lifecycle: in_production → quarantine → released | rejected; released → blocked → released | rejected. */
export const TRANSITIONS: Readonly<Record<ChargeStatus, readonly ChargeStatus[]>> = {
  in_production: ['quarantine'],
  quarantine: ['released', 'rejected'],
  released: ['blocked'],
  blocked: ['released', 'rejected'],
  rejected: [],
};

/**
 * The batch data (article, quantity, unit, dates, notes) may change only before QA has decided: once a charge
 * is released, blocked or rejected its record is what QA vouched for, and a creator editing it afterwards would
 * get data past the four-eyes rule that nobody approved. A release or rejection decides on the data as it
 * stands, so it cannot come in one request with a change to that data either.
 */
export const EDITABLE_STATUSES: readonly ChargeStatus[] = ['in_production', 'quarantine'];
const DECISIONS: readonly ChargeStatus[] = ['released', 'rejected'];

export function assertEditable(charge: Charge, changedFields: readonly string[], to: ChargeStatus): void {
  if (changedFields.length === 0) return;
  if (!EDITABLE_STATUSES.includes(charge.status)) {
    throw new AppError('CONFLICT', `The data of a ${charge.status} charge cannot change`, {
      details: { status: charge.status, fields: changedFields, editableIn: EDITABLE_STATUSES },
    });
  }
  if (to !== charge.status && DECISIONS.includes(to)) {
    throw new AppError('CONFLICT', `A charge cannot be ${to} in the request that changes its data`, {
      details: { status: charge.status, to, fields: changedFields },
    });
  }
}

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
  // One error for both release rules: the release right and the four-eyes rule are segregation of duties.
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
