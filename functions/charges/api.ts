import { httpHandler } from '#platform/http/handler';
import { created, defineRoutes, noContent, ok, route } from '#platform/http/router';
import { Charge, ChargeHistory, ChargePage, ChargePatch, DeleteCharge, ListChargesQuery, NewCharge } from './model';
import { ChargeStore } from './store';
import { ChargeService, etagOf } from './service';

const charges = new ChargeService(new ChargeStore());

export const routes = defineRoutes({
  'POST /charges': route({
    body: NewCharge,
    doc: {
      summary: 'Create a charge',
      description:
        'A new charge starts `in_production` unless `status` names another allowed start (`INVALID_TRANSITION` ' +
        'otherwise); `expiryDate` before `productionDate` is 422.',
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
        'Live charges, newest production date first, filtered by status, article and production date (`from`/`to`).',
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
        'Needs `If-Match` with the version read. A status change follows the lifecycle (`INVALID_TRANSITION`); ' +
        'releasing needs `charges:release` and someone other than the creator (`SEGREGATION_OF_DUTIES`); the data ' +
        'of a decided charge cannot change (`CONFLICT`).',
      ifMatch: true,
      responses: [{ status: 200, description: 'The charge as changed', body: Charge, headers: ['ETag'] }],
      errors: ['CONFLICT', 'INVALID_TRANSITION', 'SEGREGATION_OF_DUTIES'],
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
    doc: {
      summary: 'Version history of a charge',
      description: 'Every version, oldest first, with who, when, why and what changed; deleted charges too.',
      responses: [{ status: 200, description: 'The versions', body: ChargeHistory }],
    },
    run: async (ctx) => ok(await charges.history(ctx.params.id)),
  }),
});

export const handler = httpHandler(routes);
