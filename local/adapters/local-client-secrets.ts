import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type ClientSecrets, secretValue } from '#auth/client-secrets';
import { config } from '#platform/config';

/** `OIDC_CLIENT_SECRET_<ID>`: the provider id upper-cased, every other character an underscore. */
export const clientSecretEnvVar = (providerId: string) =>
  `OIDC_CLIENT_SECRET_${providerId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/**
 * The local stand-in for Secrets Manager's client secrets: the environment variable, else the file
 * `<LOCAL_STATE_DIR>/oidc/<id>.secret` (readable by its owner only, as every local secret); neither: a public client.
 */
export class LocalClientSecrets implements ClientSecrets {
  constructor(private readonly stateDir: string) {}

  async clientSecret(provider: { id: string }): Promise<string | undefined> {
    const fromEnv = process.env[clientSecretEnvVar(provider.id)];
    if (fromEnv && fromEnv.trim() !== '') return fromEnv.trim();
    const file = join(this.stateDir, 'oidc', `${provider.id}.secret`);
    if (!existsSync(file)) return undefined;
    if ((statSync(file).mode & 0o077) !== 0) throw new Error(`${file} must be readable by its owner only (chmod 600)`);
    return secretValue(readFileSync(file, 'utf8'));
  }
}

export const localClientSecretsFromConfig = () => new LocalClientSecrets(config().LOCAL_STATE_DIR);
