import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuthenticatedUser } from '#platform/auth-context';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import type { AccessTokenClaims } from '#signing/tokens';
import { isServiceAccountId, SERVICE_ACCOUNT_KIND, type ServiceAccount, serviceAccountPk } from './model';

export { isServiceAccountId };

/**
 * The authorizer's view of a service account's token: ONE consistent BatchGetItem for the account and the
 * token's revocation marker. The account's CURRENT state decides — a deleted account or a rotated secret (the
 * token's `sid` is the secret it was issued with) refuses the token on its next request — and its permissions
 * are the stored ones, never a role.
 */
export async function serviceAccountPrincipal(
  claims: Pick<AccessTokenClaims, 'sub' | 'jti' | 'sid'>,
  now: number,
): Promise<{ user: AuthenticatedUser } | { refused: string }> {
  const usersTable = tableName('users');
  const authTable = tableName('auth-state');
  const out = await documentDb().send(
    new BatchGetCommand({
      RequestItems: {
        [usersTable]: { Keys: [{ pk: serviceAccountPk(claims.sub) }], ConsistentRead: true },
        [authTable]: { Keys: [{ pk: `revoked#${claims.jti}` }], ConsistentRead: true },
      },
    }),
  );
  if (out.UnprocessedKeys && Object.keys(out.UnprocessedKeys).length > 0) {
    // Fail closed: a partial read must never let a revoked token through.
    throw new Error('BatchGetItem left keys unprocessed');
  }
  const item = out.Responses?.[usersTable]?.[0];
  const marker = out.Responses?.[authTable]?.[0];
  // TTL deletes late (DynamoDB Local never): an expired marker counts as absent.
  if (marker && (typeof marker.expiresAt !== 'number' || marker.expiresAt > now)) return { refused: 'token revoked' };
  if (!item || item.kind !== SERVICE_ACCOUNT_KIND) return { refused: 'unknown service account' };
  const account = item as unknown as ServiceAccount;
  if (account.deletedAt || !account.credentialId) return { refused: 'service account deleted' };
  if (claims.sid !== account.credentialId) return { refused: 'secret rotated' };
  return {
    user: {
      userId: account.serviceAccountId,
      username: account.name,
      roles: [],
      permissions: [...account.permissions],
    },
  };
}
