import { describe, expect, it } from 'vitest';
import {
  assertEditable,
  assertInitialStatus,
  assertTransition,
  EDITABLE_STATUSES,
  INITIAL_STATUSES,
  TRANSITIONS,
} from '#charges/lifecycle';
import { type ChargeState, type ChargeStatus, STATUSES } from '#charges/model';
import type { AuthenticatedUser } from '#platform/auth-context';
import { AppError } from '#platform/errors';
import { permissionsFor, type Role } from '#platform/permissions';

/**
 * The status rules of functions/charges/lifecycle.ts (docs/charges.md), one row per case: every
 * from → to pair, the release permission, the four-eyes rule, the initial status and the data lock. The
 * service runs them before it writes anything (test/integration/charges.test.ts: a refused change writes nothing).
 */

const user = (userId: string, username: string, roles: Role[]): AuthenticatedUser => ({
  userId,
  username,
  roles,
  permissions: permissionsFor(roles),
});
/** Created the charges below. */
const creatorOperator = user('u-olga', 'olga', ['operator']);
const creatorQm = user('u-queenie', 'queenie', ['quality_manager']);
/** Holds charges:release and created nothing. */
const qm = user('u-quentin', 'quentin', ['quality_manager']);
/** Lacks charges:release and created nothing. */
const operator = user('u-otto', 'otto', ['operator']);

const chargeIn = (
  status: ChargeStatus,
  createdBy: AuthenticatedUser = creatorOperator,
  dataAuthors?: string[],
): ChargeState => ({
  chargeId: 'c-1',
  articleId: 'ART-1',
  quantity: 12.5,
  unit: 'kg',
  productionDate: '2026-03-01',
  status,
  version: 4,
  createdAt: '2026-03-01T08:00:00.000Z',
  createdBy: { userId: createdBy.userId, username: createdBy.username },
  updatedAt: '2026-03-02T08:00:00.000Z',
  updatedBy: { userId: createdBy.userId, username: createdBy.username },
  requestId: 'r-1',
  reason: null,
  ...(dataAuthors ? { dataAuthors } : {}),
});

type Outcome = 'allowed' | 'INVALID_TRANSITION' | 'SEGREGATION_OF_DUTIES' | 'CONFLICT';

/** What a rule does with a case: passes, or throws an AppError with this code (returned for further checks). */
function outcomeOf(rule: () => void): { outcome: Outcome; error?: AppError } {
  try {
    rule();
    return { outcome: 'allowed' };
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return { outcome: (err as AppError).code as Outcome, error: err as AppError };
  }
}

const STATUS_OF: Record<Exclude<Outcome, 'allowed'>, number> = {
  INVALID_TRANSITION: 409,
  SEGREGATION_OF_DUTIES: 403,
  CONFLICT: 409,
};

describe('assertTransition: every from → to pair, by a quality manager who did not create the charge', () => {
  // The lifecycle: in_production → quarantine → released | rejected; released → blocked → released | rejected.
  const pairs: Array<[ChargeStatus, ChargeStatus, Outcome]> = [
    ['in_production', 'in_production', 'INVALID_TRANSITION'],
    ['in_production', 'quarantine', 'allowed'],
    ['in_production', 'released', 'INVALID_TRANSITION'],
    ['in_production', 'rejected', 'INVALID_TRANSITION'],
    ['in_production', 'blocked', 'INVALID_TRANSITION'],
    ['quarantine', 'in_production', 'INVALID_TRANSITION'],
    ['quarantine', 'quarantine', 'INVALID_TRANSITION'],
    ['quarantine', 'released', 'allowed'],
    ['quarantine', 'rejected', 'allowed'],
    ['quarantine', 'blocked', 'INVALID_TRANSITION'],
    ['released', 'in_production', 'INVALID_TRANSITION'],
    ['released', 'quarantine', 'INVALID_TRANSITION'],
    ['released', 'released', 'INVALID_TRANSITION'],
    ['released', 'rejected', 'INVALID_TRANSITION'],
    ['released', 'blocked', 'allowed'],
    ['rejected', 'in_production', 'INVALID_TRANSITION'],
    ['rejected', 'quarantine', 'INVALID_TRANSITION'],
    ['rejected', 'released', 'INVALID_TRANSITION'],
    ['rejected', 'rejected', 'INVALID_TRANSITION'],
    ['rejected', 'blocked', 'INVALID_TRANSITION'],
    ['blocked', 'in_production', 'INVALID_TRANSITION'],
    ['blocked', 'quarantine', 'INVALID_TRANSITION'],
    ['blocked', 'released', 'allowed'],
    ['blocked', 'rejected', 'allowed'],
    ['blocked', 'blocked', 'INVALID_TRANSITION'],
  ];

  it('the table holds every pair of statuses once', () => {
    const keys = pairs.map(([from, to]) => `${from}→${to}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(STATUSES.flatMap((from) => STATUSES.map((to) => `${from}→${to}`)).sort());
  });

  it.each(pairs)('%s → %s: %s', (from, to, expected) => {
    // Act
    const { outcome, error } = outcomeOf(() => assertTransition(chargeIn(from), to, qm));

    // Assess
    expect(outcome).toBe(expected);
    if (error) {
      expect(error.status).toBe(STATUS_OF[error.code as keyof typeof STATUS_OF]);
      // docs/charges.md: details name from, to and the allowed targets.
      expect(error.details).toEqual({ from, to, allowed: TRANSITIONS[from] });
    }
  });

  it('rejected is final: it allows no target at all', () => {
    expect(TRANSITIONS.rejected).toEqual([]);
  });
});

describe('assertTransition: every QA decision needs charges:release, checked before the lifecycle', () => {
  const decisions = ['released', 'rejected', 'blocked'] as const;
  it.each(STATUSES.flatMap((from) => decisions.map((to) => [from, to] as const)))(
    'an operator (no charges:release) setting a %s charge %s → 403 SEGREGATION_OF_DUTIES',
    (from, to) => {
      const { outcome, error } = outcomeOf(() => assertTransition(chargeIn(from), to, operator));
      expect(outcome).toBe('SEGREGATION_OF_DUTIES');
      expect(error?.status).toBe(403);
      expect(error?.message).toMatch(/charges:release/);
    },
  );

  it('the one change that is no QA decision needs no release right: an operator may go in_production → quarantine', () => {
    expect(outcomeOf(() => assertTransition(chargeIn('in_production'), 'quarantine', operator)).outcome).toBe(
      'allowed',
    );
  });
});

describe('assertTransition: the creator never releases their own charge (four-eyes), also after a block', () => {
  it.each([
    ['quarantine', 'SEGREGATION_OF_DUTIES'],
    ['blocked', 'SEGREGATION_OF_DUTIES'],
    // Where releasing is no transition at all, the lifecycle answers first.
    ['in_production', 'INVALID_TRANSITION'],
    ['released', 'INVALID_TRANSITION'],
    ['rejected', 'INVALID_TRANSITION'],
  ] as const)('a quality manager releasing the %s charge they created → %s', (from, expected) => {
    const { outcome, error } = outcomeOf(() => assertTransition(chargeIn(from, creatorQm), 'released', creatorQm));
    expect(outcome).toBe(expected);
    if (expected === 'SEGREGATION_OF_DUTIES') expect(error?.message).toMatch(/creator/);
  });

  it.each([
    ['quarantine', 'rejected'],
    ['released', 'blocked'],
    ['blocked', 'rejected'],
  ] as const)('nor any other QA decision on it: %s → %s → 403 SEGREGATION_OF_DUTIES', (from, to) => {
    expect(outcomeOf(() => assertTransition(chargeIn(from, creatorQm), to, creatorQm)).outcome).toBe(
      'SEGREGATION_OF_DUTIES',
    );
  });

  it('the creator may move their charge into quarantine (no QA decision)', () => {
    expect(
      outcomeOf(() => assertTransition(chargeIn('in_production', creatorQm), 'quarantine', creatorQm)).outcome,
    ).toBe('allowed');
  });

  it.each(['released', 'rejected'] as const)(
    'someone who changed the data since creation cannot set it %s either (four-eyes)',
    (to) => {
      // Prepare: qm edited the quantity of olga's charge, so qm is among its data authors.
      const charge = chargeIn('quarantine', creatorOperator, [creatorOperator.userId, qm.userId]);

      // Act
      const { outcome, error } = outcomeOf(() => assertTransition(charge, to, qm));

      // Assess
      expect(outcome).toBe('SEGREGATION_OF_DUTIES');
      expect(error?.message).toMatch(/changed the data/);
    },
  );

  it('a quality manager who wrote nothing of the data may decide', () => {
    const charge = chargeIn('quarantine', creatorOperator, [creatorOperator.userId, 'u-someone-else']);
    expect(outcomeOf(() => assertTransition(charge, 'released', qm)).outcome).toBe('allowed');
  });

  it('compares user ids, not names', () => {
    // Prepare: someone else under the creator's name, and the creator under another name.
    const namesake = user('u-other', creatorQm.username, ['quality_manager']);
    const renamed = user(creatorQm.userId, 'queenie-renamed', ['quality_manager']);
    const charge = chargeIn('quarantine', creatorQm);

    // Act / Assess
    expect(outcomeOf(() => assertTransition(charge, 'released', namesake)).outcome).toBe('allowed');
    expect(outcomeOf(() => assertTransition(charge, 'released', renamed)).outcome).toBe('SEGREGATION_OF_DUTIES');
  });
});

describe('assertInitialStatus: a new charge starts in production or in quarantine', () => {
  it.each([
    ['in_production', 'allowed'],
    ['quarantine', 'allowed'],
    ['released', 'INVALID_TRANSITION'],
    ['rejected', 'INVALID_TRANSITION'],
    ['blocked', 'INVALID_TRANSITION'],
  ] as const)('%s → %s', (status, expected) => {
    const { outcome, error } = outcomeOf(() => assertInitialStatus(status));
    expect(outcome).toBe(expected);
    if (error) {
      expect(error.status).toBe(409);
      expect(error.details).toEqual({ to: status, allowed: INITIAL_STATUSES });
    }
  });
});

describe('assertEditable: the batch data is locked once QA has decided', () => {
  const fields = ['quantity', 'notes'];

  // The status a charge is in, the status the request leaves it in, with a change to its data.
  it.each([
    ['in_production', 'in_production', 'allowed'],
    ['in_production', 'quarantine', 'allowed'],
    ['in_production', 'released', 'CONFLICT'],
    ['in_production', 'rejected', 'CONFLICT'],
    ['in_production', 'blocked', 'allowed'],
    ['quarantine', 'in_production', 'allowed'],
    ['quarantine', 'quarantine', 'allowed'],
    ['quarantine', 'released', 'CONFLICT'],
    ['quarantine', 'rejected', 'CONFLICT'],
    ['quarantine', 'blocked', 'allowed'],
    ['released', 'in_production', 'CONFLICT'],
    ['released', 'quarantine', 'CONFLICT'],
    ['released', 'released', 'CONFLICT'],
    ['released', 'rejected', 'CONFLICT'],
    ['released', 'blocked', 'CONFLICT'],
    ['rejected', 'in_production', 'CONFLICT'],
    ['rejected', 'quarantine', 'CONFLICT'],
    ['rejected', 'released', 'CONFLICT'],
    ['rejected', 'rejected', 'CONFLICT'],
    ['rejected', 'blocked', 'CONFLICT'],
    ['blocked', 'in_production', 'CONFLICT'],
    ['blocked', 'quarantine', 'CONFLICT'],
    ['blocked', 'released', 'CONFLICT'],
    ['blocked', 'rejected', 'CONFLICT'],
    ['blocked', 'blocked', 'CONFLICT'],
  ] as const)('data changed on a %s charge, status → %s: %s', (status, to, expected) => {
    // Act
    const { outcome, error } = outcomeOf(() => assertEditable(chargeIn(status), fields, to));

    // Assess
    expect(outcome).toBe(expected);
    if (!error) return;
    expect(error.status).toBe(409);
    expect(error.details).toEqual(
      EDITABLE_STATUSES.includes(status)
        ? { status, to, fields } // a release or rejection in the request that changes the data
        : { status, fields, editableIn: EDITABLE_STATUSES }, // the data of a decided charge
    );
  });

  it.each(STATUSES.flatMap((status) => STATUSES.map((to) => [status, to] as const)))(
    'no data changed on a %s charge, status → %s: allowed',
    (status, to) => {
      expect(outcomeOf(() => assertEditable(chargeIn(status), [], to)).outcome).toBe('allowed');
    },
  );
});
