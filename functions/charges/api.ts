import { httpHandler } from '#platform/http/handler';
import { created, defineRoutes, noContent, ok, route } from '#platform/http/router';
import { signatureVerifier } from '#auth/signature-verifier';
import { UserStore } from '#users/store';
import {
  Charge,
  ChargeHistory,
  ChargePage,
  ChargePatch,
  ChargeReview,
  ChargeVersion,
  DeleteCharge,
  HistoryQuery,
  ListChargesQuery,
  NewCharge,
  parseVersionNumber,
  ReviewBody,
} from './model';
import { ChargeStore } from './store';
import { ChargeService, etagOf } from './service';

const charges = new ChargeService(new ChargeStore(), signatureVerifier(new UserStore()));

export const routes = defineRoutes({
  'POST /charges': route({
    body: NewCharge,
    doc: {
      summary: 'Create a charge',
      description:
        'A new charge starts `in_production` unless `status` names another allowed start (`INVALID_TRANSITION` ' +
        'otherwise); `expiryDate` before `productionDate` is 422. `lotNumber` must be unique (`CONFLICT`); left ' +
        'out, the server assigns the next `<YYYY>-<NNNNN>` of the production year.',
      responses: [{ status: 201, description: 'The charge, version 1', body: Charge, headers: ['Location', 'ETag'] }],
      errors: ['INVALID_TRANSITION', 'CONFLICT'],
    },
    run: async (ctx) => {
      const charge = await charges.create(ctx.body, ctx.caller, ctx.meta);
      return created(charge, { Location: ctx.location(`/charges/${charge.chargeId}`), ETag: etagOf(charge) });
    },
  }),

  'GET /charges': route({
    query: ListChargesQuery,
    doc: {
      summary: 'List charges',
      description:
        'Live charges, newest production date first, filtered by status, article and production date (`from`/`to`); ' +
        '`lotNumber` finds the one charge with that lot number (no second page).',
      responses: [{ status: 200, description: 'A page of charges', body: ChargePage }],
    },
    run: async (ctx) => ok(await charges.list(ctx.query)),
  }),

  'GET /charges/{id}': route({
    doc: {
      summary: 'Read a charge',
      responses: [{ status: 200, description: 'The charge; `ETag` is its version', body: Charge, headers: ['ETag'] }],
    },
    run: async (ctx) => {
      const charge = await charges.get(ctx.params.id);
      return ok(charge, { ETag: etagOf(charge) });
    },
  }),

  'PATCH /charges/{id}': route({
    body: ChargePatch,
    doc: {
      summary: 'Change a charge',
      description:
        'Needs `If-Match` with the version read. A status change follows the lifecycle (`INVALID_TRANSITION`). ' +
        'A QA decision (to `released`, `rejected` or `blocked`) needs `charges:release`, a signer who neither ' +
        'created the charge nor changed its data (`SEGREGATION_OF_DUTIES`) and a `signature` whose meaning fits ' +
        '(`SIGNATURE_REQUIRED`, `SIGNATURE_INVALID`, 422 for the wrong meaning; repeated wrong credentials lock ' +
        'the account, `ACCOUNT_LOCKED`). The data of a decided charge cannot change, and a charge keeps at most ' +
        '1 000 versions (`CONFLICT`).',
      ifMatch: true,
      responses: [{ status: 200, description: 'The charge as changed', body: Charge, headers: ['ETag'] }],
      errors: [
        'CONFLICT',
        'INVALID_TRANSITION',
        'SEGREGATION_OF_DUTIES',
        'SIGNATURE_REQUIRED',
        'SIGNATURE_INVALID',
        'ACCOUNT_LOCKED',
      ],
    },
    run: async (ctx) => {
      const charge = await charges.update(ctx.params.id, ctx.body, ctx.header('if-match'), ctx.caller, ctx.meta);
      return ok(charge, { ETag: etagOf(charge) });
    },
  }),

  'DELETE /charges/{id}': route({
    body: DeleteCharge,
    doc: {
      summary: 'Delete a charge (soft)',
      description: 'Needs `If-Match` and a reason; the charge stays in its history and on the audit trail.',
      ifMatch: true,
      responses: [{ status: 204, description: 'Deleted' }],
    },
    run: async (ctx) => {
      await charges.remove(ctx.params.id, ctx.body.reason, ctx.header('if-match'), ctx.caller, ctx.meta);
      return noContent();
    },
  }),

  'GET /charges/{id}/history': route({
    query: HistoryQuery,
    doc: {
      summary: 'Version history of a charge',
      description:
        'The versions, oldest first, a page of at most 100, with who, when, why, what changed and the signature ' +
        'made on each; deleted charges too.',
      responses: [{ status: 200, description: 'A page of versions', body: ChargeHistory }],
    },
    run: async (ctx) => ok(await charges.history(ctx.params.id, ctx.query)),
  }),

  'GET /charges/{id}/versions/{n}': route({
    doc: {
      summary: 'A charge as it was at one version',
      description: 'The whole charge as written in version `n`, its reason and the signature made on it.',
      responses: [{ status: 200, description: 'The version', body: ChargeVersion }],
    },
    run: async (ctx) => ok(await charges.version(ctx.params.id, parseVersionNumber(ctx.params.n))),
  }),

  'POST /charges/{id}/reviews': route({
    body: ReviewBody,
    doc: {
      summary: 'Sign a periodic review of a charge',
      description:
        'A new version that changes no data, signed with meaning `reviewed`: in the history and on the audit ' +
        'trail. Any live charge, whatever its status.',
      responses: [
        {
          status: 201,
          description: 'The review: the version it wrote and the signature',
          body: ChargeReview,
          headers: ['Location'],
        },
      ],
      errors: ['CONFLICT', 'SIGNATURE_REQUIRED', 'SIGNATURE_INVALID', 'ACCOUNT_LOCKED'],
    },
    run: async (ctx) => {
      const review = await charges.review(ctx.params.id, ctx.body, ctx.caller, ctx.meta);
      return created(review, { Location: ctx.location(`/charges/${review.chargeId}/versions/${review.version}`) });
    },
  }),
});

export const handler = httpHandler(routes);
