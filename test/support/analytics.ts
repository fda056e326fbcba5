import { randomUUID } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { ChargeState } from '#charges/model';
import { toItems } from '#charges/store';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';

const ACTOR = { userId: 'seed', username: 'seed' };

/**
 * Writes a charge's history straight to the charges table (live item and snapshot per version, as the charges store
 * writes them), for analytics tests that need QA decisions on given days without signing each one. Returns the final
 * state. Each step names the fields that change and the time it happens.
 */
export async function chargeHistory(
  first: Pick<ChargeState, 'articleId' | 'quantity' | 'unit' | 'productionDate' | 'status'> & { at: string },
  steps: Array<Partial<ChargeState> & { at: string }> = [],
): Promise<ChargeState> {
  const { at, ...fields } = first;
  let state = {
    ...fields,
    chargeId: randomUUID(),
    version: 1,
    createdAt: at,
    createdBy: ACTOR,
    updatedAt: at,
    updatedBy: ACTOR,
    requestId: randomUUID(),
    reason: null,
  } as ChargeState;
  await put(state);
  for (const { at: stepAt, ...change } of steps) {
    state = { ...state, ...change, version: state.version + 1, updatedAt: stepAt, requestId: randomUUID() };
    await put(state);
  }
  return state;
}

async function put(charge: ChargeState): Promise<void> {
  const { live, snapshot } = toItems(charge);
  await documentDb().send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: tableName('charges'), Item: live } },
        { Put: { TableName: tableName('charges'), Item: snapshot } },
      ],
    }),
  );
}
