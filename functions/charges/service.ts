import { randomUUID } from 'node:crypto';
import type { AuthenticatedUser } from '#platform/auth-context';
import { diffFields } from '#audit/diff';
import type { AuditActor } from '#audit/record';
import { attributionKey } from '#audit/adapters';
import { lastChangeOf, stampItem } from '#audit/attribution';
import { AppError, notFound, validationError } from '#platform/errors';
import { assertEditable, assertInitialStatus, assertTransition } from './lifecycle';
import {
  type Charge,
  CHARGE_METADATA_FIELDS,
  type ChargePatch,
  type ChargeState,
  type HistoryEntry,
  type ListChargesQuery,
  type NewCharge,
  CHARGE_UNSIGNED_FIELDS,
  toPublicCharge,
} from './model';
import type { ChargeStore } from './store';
import type { RequestMeta } from '#platform/request-meta';

export type { HistoryEntry };

const actorOf = (user: AuthenticatedUser): AuditActor => ({ userId: user.userId, username: user.username });

/** `If-Match: "3"` (or `W/"3"`, or a bare 3) → 3. Missing → 428; anything else never matches → 412. */
export function parseIfMatch(value: string | undefined): number {
  if (value === undefined || value.trim() === '') {
    throw new AppError('PRECONDITION_REQUIRED', 'If-Match with the charge version ("<version>") is required');
  }
  const match = /^(?:W\/)?"?(\d{1,10})"?$/.exec(value.trim());
  if (!match) throw new AppError('PRECONDITION_FAILED', 'If-Match does not name the current version of the charge');
  return Number(match[1]);
}

export const etagOf = (charge: Pick<Charge, 'version'>) => `"${charge.version}"`;

function assertDateOrder(state: Pick<Charge, 'productionDate' | 'expiryDate'>): void {
  if (state.expiryDate !== undefined && state.expiryDate < state.productionDate) {
    throw validationError('The request is not valid', [
      { path: 'body.expiryDate', code: 'too_small', message: 'expiryDate must not be before productionDate' },
    ]);
  }
}

/** The charge domain: lifecycle, four-eyes rule, optimistic concurrency. Knows no HTTP and no SDK. */
export class ChargeService {
  constructor(private readonly store: ChargeStore) {}

  async create(input: NewCharge, user: AuthenticatedUser, meta: RequestMeta): Promise<Charge> {
    const { requestId } = meta;
    const status = input.status ?? 'in_production';
    assertInitialStatus(status);
    assertDateOrder(input);
    const now = new Date().toISOString();
    const charge: ChargeState = {
      chargeId: randomUUID(),
      articleId: input.articleId,
      quantity: input.quantity,
      unit: input.unit,
      productionDate: input.productionDate,
      ...(input.expiryDate !== undefined ? { expiryDate: input.expiryDate } : {}),
      status,
      ...(input.notes !== undefined ? { notes: input.notes } : {}),
      version: 1,
      createdAt: now,
      createdBy: actorOf(user),
      updatedAt: now,
      updatedBy: actorOf(user),
      requestId,
      reason: null,
    };
    if (!(await this.store.create(await stamp(charge, user, null, meta)))) {
      throw new AppError('CONFLICT', 'A charge with this id exists');
    }
    return toPublicCharge(charge);
  }

  async get(chargeId: string): Promise<Charge> {
    const charge = await this.store.get(chargeId);
    if (!charge || charge.deletedAt) throw notFound('No such charge');
    return toPublicCharge(charge);
  }

  /** The live charge, if the caller's If-Match names its current version (428 without one, 412 when stale). */
  private async currentAt(chargeId: string, ifMatch: string | undefined): Promise<ChargeState> {
    // 404 before 428: a client that adds the missing If-Match should not learn only then that the charge is gone.
    const current = await this.store.get(chargeId);
    if (!current || current.deletedAt) throw notFound('No such charge');
    const expected = parseIfMatch(ifMatch);
    if (current.version !== expected) {
      throw new AppError('PRECONDITION_FAILED', 'The charge has changed since you read it', {
        details: { currentVersion: current.version },
      });
    }
    return current;
  }

  async update(
    chargeId: string,
    patch: ChargePatch,
    ifMatch: string | undefined,
    user: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<Charge> {
    const current = await this.currentAt(chargeId, ifMatch);
    const { reason, expiryDate, notes, ...fields } = patch;
    const next: ChargeState = { ...current, ...stripUndefined(fields) };
    if (expiryDate === null) delete next.expiryDate;
    else if (expiryDate !== undefined) next.expiryDate = expiryDate;
    if (notes === null) delete next.notes;
    else if (notes !== undefined) next.notes = notes;
    assertDateOrder(next);
    if (patch.status !== undefined && patch.status !== current.status) assertTransition(current, patch.status, user);
    // A version is a change (+1 per change): a PATCH that sets every field to the value it has
    // (the status it is already in, say) writes no version and no audit record, and answers the charge as is.
    const changes = diffFields(
      current as unknown as Record<string, unknown>,
      next as unknown as Record<string, unknown>,
      CHARGE_METADATA_FIELDS,
    );
    assertEditable(
      current,
      Object.keys(changes).filter((field) => field !== 'status'),
      next.status,
    );
    if (Object.keys(changes).length === 0) return toPublicCharge(current);
    return this.write(current, next, reason, user, meta);
  }

  async remove(
    chargeId: string,
    reason: string,
    ifMatch: string | undefined,
    user: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<void> {
    const current = await this.currentAt(chargeId, ifMatch);
    await this.write(current, { ...current, deletedAt: new Date().toISOString() }, reason, user, meta);
  }

  /** Every version, oldest first, with who, when, why and what changed (from the immutable snapshots). */
  async history(chargeId: string): Promise<{ chargeId: string; versions: HistoryEntry[] }> {
    const versions = await this.store.versions(chargeId);
    if (versions.length === 0) throw notFound('No such charge');
    const entries = versions.map((state, i): HistoryEntry => {
      const previous = i === 0 ? undefined : versions[i - 1];
      return {
        version: state.version,
        action: i === 0 ? 'create' : state.deletedAt && !previous?.deletedAt ? 'delete' : 'update',
        at: state.updatedAt,
        actor: state.updatedBy,
        reason: state.reason ?? null,
        requestId: state.requestId,
        changes: diffFields(
          previous as Record<string, unknown> | undefined,
          state as unknown as Record<string, unknown>,
          CHARGE_METADATA_FIELDS,
        ),
      };
    });
    return { chargeId, versions: entries };
  }

  list(query: ListChargesQuery) {
    return this.store.list(query).then((page) => ({
      items: page.items.map((c) => toPublicCharge(c)),
      nextCursor: page.nextCursor,
    }));
  }

  private async write(
    current: ChargeState,
    next: ChargeState,
    reason: string,
    user: AuthenticatedUser,
    meta: RequestMeta,
  ) {
    const { requestId } = meta;
    const written: ChargeState = {
      ...next,
      version: current.version + 1,
      updatedAt: new Date().toISOString(),
      updatedBy: actorOf(user),
      requestId,
      reason: reason.trim(),
    };
    const stamped = await stamp(written, user, written.reason, meta);
    if (!(await this.store.save(stamped, current.version))) {
      // Someone else wrote between our read and our conditional write: exactly one of us wins.
      throw new AppError('PRECONDITION_FAILED', 'The charge has changed since you read it');
    }
    return toPublicCharge(stamped);
  }
}

/** The charge with its `lastChange` and the attribution MAC over both: the stream trusts nothing else. */
async function stamp(
  charge: ChargeState,
  user: AuthenticatedUser,
  reason: string | null,
  meta: RequestMeta,
): Promise<ChargeState> {
  const { lastChangeMac: _previous, ...rest } = charge;
  const item = { ...rest, lastChange: lastChangeOf(actorOf(user), reason, meta, charge.updatedAt) };
  return stampItem(attributionKey(), 'charge', charge.chargeId, item, CHARGE_UNSIGNED_FIELDS);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
