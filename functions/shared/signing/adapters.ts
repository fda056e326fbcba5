import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { config } from '../config';
import { KmsSigningKeys } from './kms-signing-keys';
import { LocalSecrets, LocalSigningKeys } from './local';
import type { Secrets, SigningKeys } from './ports';
import { SecretsManagerSecrets } from './secrets-manager';

/**
 * Which signing adapters this process uses — the one place that decides:
 * - `SIGNING_SECRET_ID` set (CDK sets it on every function that signs, verifies or rotates) → KMS and
 *   Secrets Manager;
 * - running in Lambda without it → a deployment error, said loudly instead of silently signing with
 *   throw-away local keys;
 * - otherwise (npm start, rotate-keys, tests) → the local key store under `${LOCAL_STATE_DIR}/keys/`.
 */
export interface SigningAdapters {
  kind: 'aws' | 'local';
  keys: SigningKeys;
  secrets: Secrets;
  /**
   * AWS only: asks Secrets Manager to run the rotation Lambda now with this ClientRequestToken (the local path
   * runs the steps itself). Resolves to the version id the rotation runs under (the rotation id).
   */
  requestRotation?: (token: string) => Promise<string>;
  /** Local only: cheap change marker of the secret file, so other processes' rotations are seen at once. */
  revision?: () => string;
}

let cached: SigningAdapters | undefined;

export function createSigningAdapters(): SigningAdapters {
  const cfg = config();
  if (cfg.SIGNING_SECRET_ID) {
    const secretId = cfg.SIGNING_SECRET_ID;
    const sm = new SecretsManagerClient({ region: cfg.AWS_REGION });
    return {
      kind: 'aws',
      keys: new KmsSigningKeys(new KMSClient({ region: cfg.AWS_REGION }), cfg.SIGNING_KEY_TAG),
      secrets: new SecretsManagerSecrets(sm, secretId),
      requestRotation: async (token) => {
        const out = await sm.send(new RotateSecretCommand({ SecretId: secretId, ClientRequestToken: token, RotateImmediately: true }));
        return out.VersionId ?? token;
      },
    };
  }
  if (process.env.AWS_LAMBDA_FUNCTION_NAME) {
    throw new Error('SIGNING_SECRET_ID is not set: a Lambda function must not fall back to local signing keys');
  }
  return localSigningAdapters(join(cfg.LOCAL_STATE_DIR, 'keys'), cfg.SIGNING_KEY_TAG);
}

/** The local key store in `dir` (tests point it at a temp directory). */
export function localSigningAdapters(dir: string, appTag = 'charge-records'): SigningAdapters {
  const secrets = new LocalSecrets(dir);
  return { kind: 'local', keys: new LocalSigningKeys(dir, appTag), secrets, revision: () => secrets.revision() };
}

/** The process-wide adapters (SDK clients reused across warm invocations). */
export function signingAdapters(): SigningAdapters {
  cached ??= createSigningAdapters();
  return cached;
}

/** Tests switch LOCAL_STATE_DIR or the environment between cases. */
export function resetSigningAdapters(): void {
  cached = undefined;
}
