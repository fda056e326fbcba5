import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { AuditActor } from '#audit/record';
import { config } from '#platform/config';
import type { SigningAdapters } from '#signing/adapters';
import { noteRequester, ROTATION_STEPS, type RotationEvent } from '#signing/rotation';
import { LocalSecrets, LocalSigningKeys } from './local-signing-keys';

/**
 * The local equivalent of RotateSecret: labels a stub version AWSPENDING (or resumes an unfinished rotation)
 * and runs the four steps in order through `step` — the rotation handler, or runRotationStep directly.
 * `requestedBy` (the API caller) is noted on the secret for the audit record, as the AWS path does.
 */
export async function rotateLocally(
  adapters: SigningAdapters,
  step: (event: RotationEvent) => Promise<void>,
  token: string = randomUUID(),
  requestedBy?: AuditActor,
): Promise<string> {
  if (!(adapters.secrets instanceof LocalSecrets)) throw new Error('rotateLocally needs the local secret store');
  const used = await adapters.secrets.beginRotation(token);
  if (requestedBy) await noteRequester(adapters.secrets, used, requestedBy);
  for (const Step of ROTATION_STEPS) await step({ Step, SecretId: adapters.secrets.path, ClientRequestToken: used });
  return used;
}

/** The local key store in `dir`; a requested rotation runs the rotation function's steps in this process. */
export function localSigningAdapters(dir: string, appTag = 'charge-records'): SigningAdapters {
  const secrets = new LocalSecrets(dir);
  const adapters: SigningAdapters = {
    kind: 'local',
    keys: new LocalSigningKeys(dir, appTag),
    secrets,
    revision: () => secrets.revision(),
    requestRotation: async (token, requestedBy) => {
      const { rotationStep } = await import('#signing/rotation-handler');
      return { status: 'rotated', rotationId: await rotateLocally(adapters, rotationStep, token, requestedBy) };
    },
  };
  return adapters;
}

/** The key store under `${LOCAL_STATE_DIR}/keys/`, read from the configuration when first used. */
export const localSigningAdaptersFromConfig = (): SigningAdapters => {
  const cfg = config();
  return localSigningAdapters(join(cfg.LOCAL_STATE_DIR, 'keys'), cfg.SIGNING_KEY_TAG);
};
