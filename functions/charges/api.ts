import { httpHandler } from '#platform/http/handler';
import { created, noContent, ok, route } from '#platform/http/router';
import { ChargePatch, DeleteCharge, ListChargesQuery, NewCharge } from './model';
import { ChargeStore } from './store';
import { ChargeService, etagOf } from './service';

const charges = new ChargeService(new ChargeStore());

export const handler = httpHandler({
  'POST /charges': route({
    body: NewCharge,
    run: async (ctx) => {
      const charge = await charges.create(ctx.body, ctx.caller, ctx.meta);
      return created(charge, { Location: ctx.location(`/charges/${charge.chargeId}`), ETag: etagOf(charge) });
    },
  }),

  'GET /charges': route({
    query: ListChargesQuery,
    run: async (ctx) => ok(await charges.list(ctx.query)),
  }),

  'GET /charges/{id}': route({
    run: async (ctx) => {
      const charge = await charges.get(ctx.params.id);
      return ok(charge, { ETag: etagOf(charge) });
    },
  }),

  'PATCH /charges/{id}': route({
    body: ChargePatch,
    run: async (ctx) => {
      const charge = await charges.update(ctx.params.id, ctx.body, ctx.header('if-match'), ctx.caller, ctx.meta);
      return ok(charge, { ETag: etagOf(charge) });
    },
  }),

  'DELETE /charges/{id}': route({
    body: DeleteCharge,
    run: async (ctx) => {
      await charges.remove(ctx.params.id, ctx.body.reason, ctx.header('if-match'), ctx.caller, ctx.meta);
      return noContent();
    },
  }),

  'GET /charges/{id}/history': route({
    run: async (ctx) => ok(await charges.history(ctx.params.id)),
  }),
});
