import { AppError, validationError } from '#platform/errors';
import type { AuthenticatedUser } from '#platform/auth-context';
import type { SignatureMeaning } from '#auth/signatures';
import type { Charge, ChargeState, ChargeStatus } from './model';

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
 * The QA decisions and the signature meaning each one needs: moving a charge to released, rejected or blocked
 * (blocked → released included) is a decision QA signs for.
 */
export const QA_DECISIONS: Readonly<Partial<Record<ChargeStatus, SignatureMeaning>>> = {
  released: 'approved_for_release',
  rejected: 'rejected',
  blocked: 'blocked',
};

export const isQaDecision = (from: ChargeStatus, to: ChargeStatus) => from !== to && QA_DECISIONS[to] !== undefined;

/** Who wrote the charge's data: the creator and every later author of a field other than status and notes. */
export function dataAuthorsOf(charge: Pick<ChargeState, 'createdBy' | 'dataAuthors'>): readonly string[] {
  return charge.dataAuthors ?? [charge.createdBy.userId];
}

/**
 * Checks a status change, cheapest refusal first and all before any signature is verified: the release
 * permission, the lifecycle, then the four-eyes rule — nobody who wrote the charge's data (its creator or a later
 * editor of any field but status and notes) may sign a QA decision on it.
 */
export function assertTransition(charge: ChargeState, to: ChargeStatus, user: AuthenticatedUser): void {
  const decision = QA_DECISIONS[to] !== undefined;
  // The release right is itself a segregation of duties: operators produce, QA decides.
  if (decision && !user.permissions.includes('charges:release')) {
    throw new AppError('SEGREGATION_OF_DUTIES', `Setting a charge ${to} is a QA decision: it needs charges:release`);
  }
  if (!TRANSITIONS[charge.status].includes(to)) {
    throw new AppError('INVALID_TRANSITION', `A charge cannot go from ${charge.status} to ${to}`, {
      details: { from: charge.status, to, allowed: TRANSITIONS[charge.status] },
    });
  }
  if (decision && dataAuthorsOf(charge).includes(user.userId)) {
    const creator = charge.createdBy.userId === user.userId;
    throw new AppError(
      'SEGREGATION_OF_DUTIES',
      creator
        ? 'The creator of a charge cannot decide on it (four-eyes rule)'
        : 'Someone who changed the data of a charge cannot decide on it (four-eyes rule)',
    );
  }
}

/** A QA decision's signature must say what is decided: approving for release, rejecting or blocking. */
export function assertSignatureMeaning(to: ChargeStatus, meaning: SignatureMeaning): void {
  const expected = QA_DECISIONS[to];
  if (meaning !== expected) {
    throw validationError('The signature does not mean this decision', [
      {
        path: 'body.signature.meaning',
        code: 'invalid_value',
        message: `Setting a charge ${to} is signed with meaning ${String(expected)}`,
      },
    ]);
  }
}
