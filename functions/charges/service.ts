import { randomUUID } from 'node:crypto';
import type { AuthenticatedUser } from '#platform/auth-context';
import { diffFields } from '#audit/diff';
import type { AuditActor } from '#audit/record';
import { attributionKey } from '#audit/adapters';
import { lastChangeOf, stampItem } from '#audit/attribution';
import { AppError, badRequest, notFound, validationError } from '#platform/errors';
import type { RequestMeta } from '#platform/request-meta';
import { type CursorQuery, decodeCursor, encodeCursor, isKey } from '#platform/cursor';
import type { SignatureInput, SignatureRecord, SignatureVerifier, VerifiedSigner } from '#auth/signatures';
import {
  assertEditable,
  assertInitialStatus,
  assertSignatureMeaning,
  assertTransition,
  dataAuthorsOf,
  isQaDecision,
} from './lifecycle';
import {
  type Charge,
  CHARGE_METADATA_FIELDS,
  type ChargePatch,
  type ChargeReview,
  type ChargeState,
  type ChargeVersion,
  CHARGE_UNSIGNED_FIELDS,
  type HistoryEntry,
  type HistoryQuery,
  type ListChargesQuery,
  MAX_VERSIONS,
  type NewCharge,
  type ReviewBody,
  toPublicCharge,
  VERSION_SK_PREFIX,
} from './model';
import { signatureOf, versionHash } from './signature';
import type { ChargeStore } from './store';

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

/** Fields whose change does not make the writer a data author (four-eyes): the decision itself and remarks. */
const NOT_DATA: ReadonlySet<string> = new Set(['status', 'notes', 'signature']);

/** Lot numbers the server tries before it gives up: another lot may already use `<YYYY>-<NNNNN>` by hand. */
const LOT_ATTEMPTS = 5;
/** Tries of a review that loses the race for the next version to another write. */
const REVIEW_ATTEMPTS = 3;

/** `<YYYY>-<NNNNN>`: the production year and its sequence number, five digits (more once past 99 999). */
export const assignedLotNumber = (year: string, n: number) => `${year}-${String(n).padStart(5, '0')}`;

/** What the history diffs: the data, not the change's bookkeeping nor the signature (shown on its own). */
const HISTORY_IGNORED: ReadonlySet<string> = new Set([...CHARGE_METADATA_FIELDS, 'signature']);

/**
 * The charge domain: lifecycle, QA decisions and their signatures, four-eyes rule, lot numbers, optimistic
 * concurrency. Knows no HTTP and no SDK; signatures are checked through the `SignatureVerifier` port.
 */
export class ChargeService {
  constructor(
    private readonly store: ChargeStore,
    private readonly signatures: SignatureVerifier,
  ) {}

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
      dataAuthors: [user.userId],
    };
    const year = input.productionDate.slice(0, 4);
    for (let attempt = 1; attempt <= LOT_ATTEMPTS; attempt++) {
      const lotNumber = input.lotNumber ?? assignedLotNumber(year, await this.store.nextLotSequence(year));
      const candidate = { ...charge, lotNumber };
      const outcome = await this.store.create(await stamp(candidate, user, null, meta));
      if (outcome === 'created') return toPublicCharge(candidate);
      if (outcome === 'exists') throw new AppError('CONFLICT', 'A charge with this id exists');
      // The lot number is taken: by the caller's choice a conflict; an assigned one was used by hand, take the next.
      if (input.lotNumber !== undefined) {
        throw new AppError('CONFLICT', 'Another charge has this lot number', { details: { lotNumber } });
      }
    }
    throw new AppError('CONFLICT', 'No free lot number found for this production year; send one');
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

  /**
   * A change, in this order, so that nothing is verified for a request that is refused anyway: If-Match, dates,
   * the release permission, the lifecycle, the four-eyes rule, the data lock, the signature's meaning, the version
   * cap — and only then the signer's credentials (a wrong password counts towards the lockout).
   */
  async update(
    chargeId: string,
    patch: ChargePatch,
    ifMatch: string | undefined,
    user: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<Charge> {
    const current = await this.currentAt(chargeId, ifMatch);
    const { reason, expiryDate, notes, signature, ...fields } = patch;
    const next: ChargeState = { ...current, ...stripUndefined(fields) };
    if (expiryDate === null) delete next.expiryDate;
    else if (expiryDate !== undefined) next.expiryDate = expiryDate;
    if (notes === null) delete next.notes;
    else if (notes !== undefined) next.notes = notes;
    assertDateOrder(next);
    const decision = isQaDecision(current.status, next.status);
    if (patch.status !== undefined && patch.status !== current.status) assertTransition(current, patch.status, user);
    // A version is a change (+1 per change): a PATCH that sets every field to the value it has
    // (the status it is already in, say) writes no version and no audit record, and answers the charge as is.
    const changes = diffFields(
      current as unknown as Record<string, unknown>,
      next as unknown as Record<string, unknown>,
      CHARGE_METADATA_FIELDS,
    );
    const dataChanged = Object.keys(changes).filter((field) => !NOT_DATA.has(field));
    assertEditable(
      current,
      Object.keys(changes).filter((field) => field !== 'status'),
      next.status,
    );
    if (!decision && signature !== undefined) {
      throw validationError('A signature belongs to a QA decision only', [
        {
          path: 'body.signature',
          code: 'unrecognized_keys',
          message: 'Only a change of status to released, rejected or blocked is signed',
        },
      ]);
    }
    if (decision && signature === undefined) {
      throw new AppError('SIGNATURE_REQUIRED', `Setting a charge ${next.status} is a QA decision: sign it (signature)`);
    }
    if (decision && signature !== undefined) assertSignatureMeaning(next.status, signature.meaning);
    if (Object.keys(changes).length === 0) return toPublicCharge(current);
    assertBelowCap(current);
    const signer = decision ? await this.signatures.verify(user, signature, meta) : undefined;
    if (dataChanged.length > 0) next.dataAuthors = addAuthor(dataAuthorsOf(current), user.userId);
    return toPublicCharge(await this.write(current, next, reason, user, meta, signer && { signer, signature }));
  }

  async remove(
    chargeId: string,
    reason: string,
    ifMatch: string | undefined,
    user: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<void> {
    const current = await this.currentAt(chargeId, ifMatch);
    assertBelowCap(current);
    await this.write(current, { ...current, deletedAt: new Date().toISOString() }, reason, user, meta);
  }

  /**
   * A signed periodic review: a new version that changes no data, only who reviewed it, when and why, with the
   * signature bound to that version — so it is in the history and on the audit trail like every other change.
   * No If-Match: a review vouches for whatever version is current, and names it in its answer.
   */
  async review(chargeId: string, body: ReviewBody, user: AuthenticatedUser, meta: RequestMeta): Promise<ChargeReview> {
    if (body.signature.meaning !== 'reviewed') {
      throw validationError('A review is signed with meaning reviewed', [
        { path: 'body.signature.meaning', code: 'invalid_value', message: 'A review is signed with meaning reviewed' },
      ]);
    }
    let current = await this.live(chargeId);
    assertBelowCap(current);
    const signer = await this.signatures.verify(user, body.signature, meta);
    for (let attempt = 1; ; attempt++) {
      try {
        const written = await this.write(current, { ...current }, body.comment ?? null, user, meta, {
          signer,
          signature: body.signature,
        });
        return {
          chargeId,
          version: written.version,
          comment: written.reason,
          signature: written.signature as SignatureRecord,
        };
      } catch (err) {
        // Another write came first: review the version that is current now (the signer has proven who they are).
        if (!(err instanceof AppError && err.code === 'PRECONDITION_FAILED') || attempt >= REVIEW_ATTEMPTS) throw err;
        current = await this.live(chargeId);
        assertBelowCap(current);
      }
    }
  }

  private async live(chargeId: string): Promise<ChargeState> {
    const current = await this.store.get(chargeId);
    if (!current || current.deletedAt) throw notFound('No such charge');
    return current;
  }

  /**
   * One page of the history, oldest first, with who, when, why, what changed and the signature made on each
   * version; deleted charges too. The cursor is where the page before ended.
   */
  async history(
    chargeId: string,
    query: Pick<HistoryQuery, 'limit' | 'cursor'>,
  ): Promise<{ chargeId: string; versions: HistoryEntry[]; nextCursor: string | null }> {
    const cursorQuery: CursorQuery = { list: 'charge-history', filters: { chargeId } };
    const after =
      query.cursor === undefined
        ? undefined
        : decodeCursor(
            query.cursor,
            cursorQuery,
            (key): key is { chargeId: string; sk: string } =>
              isKey(key, ['chargeId', 'sk']) &&
              key.chargeId === chargeId &&
              /^V#\d{10}$/.test(String(key.sk)) &&
              String(key.sk).startsWith(VERSION_SK_PREFIX),
          );
    const page = await this.store.versionPage(chargeId, query.limit, after);
    if (!after && page.versions.length === 0) throw notFound('No such charge');
    let previous = page.previous;
    const entries = page.versions.map((state): HistoryEntry => {
      const entry = historyEntry(state, previous);
      previous = state;
      return entry;
    });
    return { chargeId, versions: entries, nextCursor: page.next ? encodeCursor(cursorQuery, page.next) : null };
  }

  /** The whole charge as it was at version n, why it was written and the signature made on it (deleted ones too). */
  async version(chargeId: string, n: number | undefined): Promise<ChargeVersion> {
    const state = n === undefined ? undefined : await this.store.snapshot(chargeId, n);
    if (!state) throw notFound('No such version of this charge');
    const signature = signatureOf(state);
    return { ...toPublicCharge(state), reason: state.reason ?? null, ...(signature ? { signature } : {}) };
  }

  async list(query: ListChargesQuery) {
    if (query.lotNumber !== undefined) return this.byLotNumber(query);
    const page = await this.store.list(query);
    return { items: page.items.map((c) => toPublicCharge(c)), nextCursor: page.nextCursor };
  }

  /** A lot number names one charge: found through its claim item, then held against the other filters. */
  private async byLotNumber(query: ListChargesQuery) {
    // There is never a second page, so no cursor can belong to this query.
    if (query.cursor !== undefined) throw badRequest('The cursor is not valid for this query');
    const chargeId = await this.store.chargeIdOfLot(query.lotNumber as string);
    const charge = chargeId === undefined ? undefined : await this.store.get(chargeId);
    const matches =
      charge !== undefined &&
      !charge.deletedAt &&
      (query.status === undefined || charge.status === query.status) &&
      (query.articleId === undefined || charge.articleId === query.articleId) &&
      (query.from === undefined || charge.productionDate >= query.from) &&
      (query.to === undefined || charge.productionDate <= query.to);
    return { items: matches ? [toPublicCharge(charge)] : [], nextCursor: null };
  }

  private async write(
    current: ChargeState,
    next: ChargeState,
    reason: string | null,
    user: AuthenticatedUser,
    meta: RequestMeta,
    signed?: { signer: VerifiedSigner; signature: SignatureInput | undefined },
  ): Promise<ChargeState> {
    const { requestId } = meta;
    const { signature: _carried, ...unsigned } = next;
    const written: ChargeState = {
      ...unsigned,
      version: current.version + 1,
      updatedAt: new Date().toISOString(),
      updatedBy: actorOf(user),
      requestId,
      reason: reason === null ? null : reason.trim(),
    };
    if (signed?.signature) {
      // Bound to this version's content, made before the stamp (whose MAC then covers the signature too).
      written.signature = {
        signer: signed.signer.signer,
        meaning: signed.signature.meaning,
        at: signed.signer.at,
        method: signed.signer.method,
        versionHash: versionHash(written),
      };
    } else if (current.signature !== undefined) {
      // The last signature stays on the item unchanged: it still names (by its hash) the version it was made on.
      written.signature = current.signature;
    }
    const stamped = await stamp(written, user, written.reason, meta);
    if (!(await this.store.save(stamped, current.version))) {
      // Someone else wrote between our read and our conditional write: exactly one of us wins.
      throw new AppError('PRECONDITION_FAILED', 'The charge has changed since you read it');
    }
    return stamped;
  }
}

/** One history entry: the version against the one before it, and the signature made on it, if any. */
function historyEntry(state: ChargeState, previous: ChargeState | undefined): HistoryEntry {
  const signature = signatureOf(state);
  const changes = diffFields(
    previous as Record<string, unknown> | undefined,
    state as unknown as Record<string, unknown>,
    HISTORY_IGNORED,
  );
  const action =
    state.version === 1
      ? 'create'
      : state.deletedAt && !previous?.deletedAt
        ? 'delete'
        : signature?.meaning === 'reviewed'
          ? 'review'
          : 'update';
  return {
    version: state.version,
    action,
    at: state.updatedAt,
    actor: state.updatedBy,
    reason: state.reason ?? null,
    requestId: state.requestId,
    changes,
    ...(signature ? { signature } : {}),
  };
}

/** A charge keeps at most MAX_VERSIONS versions: the write that would exceed them is refused. */
function assertBelowCap(current: ChargeState): void {
  if (current.version >= MAX_VERSIONS) {
    throw new AppError('CONFLICT', `A charge keeps at most ${MAX_VERSIONS} versions`, {
      details: { version: current.version, maxVersions: MAX_VERSIONS },
    });
  }
}

function addAuthor(authors: readonly string[], userId: string): string[] {
  return authors.includes(userId) ? [...authors] : [...authors, userId];
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
