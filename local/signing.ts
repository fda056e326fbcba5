import { randomUUID } from 'node:crypto';
import { lambdaContext } from './lambda-context';

/**
 * Local rotation of the signing key: the production rotation handler (functions/signing/rotation-handler.ts)
 * run through its four steps against the local key store, as Secrets Manager would run it in AWS.
 * Imported lazily, after the runtime has set LOCAL_STATE_DIR.
 */
export async function rotateLocalSigningKey(token: string = randomUUID()): Promise<{ token: string; kid: string }> {
  const { handler } = await import('#signing/rotation-handler');
  const { signingAdapters } = await import('#signing/adapters');
  const { rotateLocally } = await import('./adapters/signing');
  const { parseSecretValue } = await import('#signing/key-ring');
  const adapters = signingAdapters();
  const used = await rotateLocally(
    adapters,
    (event) => handler(event, lambdaContext('local-rotate-keys', 30, 256)),
    token,
  );
  const current = await adapters.secrets.getValue({ stage: 'AWSCURRENT' });
  if (!current) return { token: used, kid: '' };
  // Rotation stores the key, not its kid: the kid is the key's thumbprint.
  const { keyId, kid } = parseSecretValue(current.value);
  return { token: used, kid: kid ?? (await adapters.keys.publicJwk(keyId)).kid };
}

/** First start: without an AWSCURRENT signing key nothing can be signed, so make one (a first rotation). */
export async function ensureLocalSigningKey(): Promise<{ created: boolean; kid?: string }> {
  const { signingAdapters } = await import('#signing/adapters');
  const adapters = signingAdapters();
  if (adapters.kind !== 'local') return { created: false };
  if (await adapters.secrets.getValue({ stage: 'AWSCURRENT' })) return { created: false };
  const { kid } = await rotateLocalSigningKey();
  return { created: true, kid };
}
