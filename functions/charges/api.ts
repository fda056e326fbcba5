import { httpHandler } from '#platform/http/handler';
import { created, noContent, ok, route, type RouteContext } from '#platform/http/router';
import type { AuthenticatedUser } from '#platform/auth-context';
import { ChargePatch, DeleteCharge, ListChargesQuery, NewCharge } from './model';
import { DynamoChargeStore } from './store';
import { ChargeService, etagOf } from './service';

const charges = new ChargeService(new DynamoChargeStore());

/** The router has checked the route's permission, so a user is always there on these routes. */
const info = (ctx: RouteContext<unknown, unknown>) => ({
  user: ctx.user as AuthenticatedUser,
  requestId: ctx.requestId,
});
const id = (ctx: RouteContext<unknown, unknown>) => ctx.params.id as string;

export const handler = httpHandler({
  'POST /charges': route({
    body: NewCharge,
    run: async (ctx) => {
      const charge = await charges.create(ctx.body, info(ctx));
      return created(charge, { Location: ctx.location(`/charges/${charge.chargeId}`), ETag: etagOf(charge) });
    },
  }),

  'GET /charges': route({
    query: ListChargesQuery,
    run: async (ctx) => ok(await charges.list(ctx.query)),
  }),

  'GET /charges/{id}': route({
    run: async (ctx) => {
      const charge = await charges.get(id(ctx));
      return ok(charge, { ETag: etagOf(charge) });
    },
  }),

  'PATCH /charges/{id}': route({
    body: ChargePatch,
    run: async (ctx) => {
      const charge = await charges.update(id(ctx), ctx.body, ctx.header('if-match'), info(ctx));
      return ok(charge, { ETag: etagOf(charge) });
    },
  }),

  'DELETE /charges/{id}': route({
    body: DeleteCharge,
    run: async (ctx) => {
      await charges.remove(id(ctx), ctx.body.reason, ctx.header('if-match'), info(ctx));
      return noContent();
    },
  }),

  'GET /charges/{id}/history': route({
    run: async (ctx) => ok(await charges.history(id(ctx))),
  }),
});
