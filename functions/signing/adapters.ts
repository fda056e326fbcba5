import { KMSClient } from '@aws-sdk/client-kms';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AuditActor } from '#audit/record';
import { config } from '#platform/config';
import { KmsSigningKeys, parseSigningKeyRoles } from './kms-signing-keys';
import type { Secrets, SigningKeys } from './ports';
import { noteRequester } from './rotation';
import { SecretsManagerSecrets } from './secrets-manager';
import { adapterSet } from '#platform/adapters';

/** What starting a rotation answered: started elsewhere (Secrets Manager calls the rotation function) or done. */
export interface RotationStarted {
  status: 'rotation-started' | 'rotated';
  rotationId: string;
}

/**
 * The signing module's ports, as one set: KMS and Secrets Manager in AWS, the local key store in the local
 * runtime. Lambda code builds the AWS set; the local runtime installs its own with `useSigningAdapters`.
 */
export interface SigningAdapters {
  kind: 'aws' | 'local';
  keys: SigningKeys;
  secrets: Secrets;
  /** Starts a rotation under this ClientRequestToken, with the caller noted for the audit record. */
  requestRotation(token: string, requestedBy: AuditActor): Promise<RotationStarted>;
  /** Local only: cheap change marker of the secret file, so other processes' rotations are seen at once. */
  revision?: () => string;
}

/** KMS and Secrets Manager, for the secret CDK names in SIGNING_SECRET_ID. */
export function awsSigningAdapters(): SigningAdapters {
  const cfg = config();
  const secretId = cfg.SIGNING_SECRET_ID;
  if (!secretId) throw new Error('SIGNING_SECRET_ID is not set: this function has no signing key to use');
  const sm = new SecretsManagerClient({ region: cfg.AWS_REGION });
  const secrets = new SecretsManagerSecrets(sm, secretId);
  return {
    kind: 'aws',
    keys: new KmsSigningKeys(
      new KMSClient({ region: cfg.AWS_REGION }),
      cfg.SIGNING_KEY_TAG,
      cfg.SIGNING_KEY_ROLES ? parseSigningKeyRoles(cfg.SIGNING_KEY_ROLES) : undefined,
    ),
    secrets,
    requestRotation: async (token, requestedBy) => {
      // Named on the secret first, so the rotation function's finishSecret can put the caller on the audit trail.
      await noteRequester(secrets, token, requestedBy);
      const out = await sm.send(
        new RotateSecretCommand({ SecretId: secretId, ClientRequestToken: token, RotateImmediately: true }),
      );
      return { status: 'rotation-started', rotationId: out.VersionId ?? token };
    },
  };
}

const adapters = adapterSet(awsSigningAdapters);

/** The process-wide adapters. */
export const signingAdapters = adapters.get;
/** Installs another set (the local runtime, tests). */
export const useSigningAdapters = adapters.use;
/** Rebuilds the adapters on next use (tests switch the environment between cases). */
export const resetSigningAdapters = adapters.reset;
