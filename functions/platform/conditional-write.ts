import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** A conditional write's outcome: true when it was made, false when its condition did not hold; other errors throw. */
export async function conditionHeld(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/**
 * Optimistic locking on an item's `version` attribute: with `expectedVersion` the write needs the item still at
 * that version; without it the write creates the item and needs no item under its key yet.
 */
export function versionCondition(expectedVersion: number | undefined) {
  return expectedVersion === undefined
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: '#v = :v',
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: { ':v': expectedVersion },
      };
}
