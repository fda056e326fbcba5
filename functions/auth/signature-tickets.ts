import { createHash, randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { nowSeconds } from './clock';

/**
 * One-time signature tickets of SSO users, who have no local password to sign with: a fresh SSO sign-in
 * (`purpose=sign`) issues one, and the signature presents it. 256 random bits, stored only as SHA-256 in
 * auth-state (`sigticket#<hash>`), valid SIGNATURE_MAX_AGE_SECONDS, bound to the user it was issued to, and
 * spent by a conditional update (`usedAt`): two signatures cannot both use it.
 */
export interface SignatureTicket {
  ticket: string;
  /** Seconds until it expires. */
  expiresIn: number;
}

const ticketKey = (ticket: string) => `sigticket#${createHash('sha256').update(ticket).digest('hex')}`;
const TICKET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export async function issueSignatureTicket(userId: string): Promise<SignatureTicket> {
  const ticket = randomBytes(32).toString('base64url');
  const expiresIn = config().SIGNATURE_MAX_AGE_SECONDS;
  await documentDb().send(
    new PutCommand({
      TableName: tableName('auth-state'),
      Item: { pk: ticketKey(ticket), userId, expiresAt: nowSeconds() + expiresIn },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  return { ticket, expiresIn };
}

/**
 * True once for a ticket issued to `userId` and not yet expired; the ticket is spent afterwards. Another user's
 * ticket is refused and left alone; an expired one is refused even while DynamoDB has not deleted it yet.
 */
export async function consumeSignatureTicket(ticket: string, userId: string): Promise<boolean> {
  if (!TICKET_SHAPE.test(ticket)) return false;
  try {
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('auth-state'),
        Key: { pk: ticketKey(ticket) },
        UpdateExpression: 'SET usedAt = :now',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(usedAt) AND userId = :user AND expiresAt > :now',
        ExpressionAttributeValues: { ':user': userId, ':now': nowSeconds() },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
