import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretsManagerClientSecrets, secretValue } from '#auth/client-secrets';
import { clientSecretEnvVar, LocalClientSecrets } from '#local/adapters/local-client-secrets';

/** The SSO client secret port: Secrets Manager in AWS, the environment or a 0600 file locally. */

describe('SecretsManagerClientSecrets', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  it('reads the secret clientSecretRef names, plain or as JSON {clientSecret}, and caches it', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: 'sso/corp' }).resolves({ SecretString: 's3cr3t' });
    sm.on(GetSecretValueCommand, { SecretId: 'sso/partner' }).resolves({ SecretString: '{"clientSecret":"p4rtner"}' });
    const secrets = new SecretsManagerClientSecrets(new SecretsManagerClient({ region: 'eu-central-1' }));

    // Act
    const corp = await secrets.clientSecret({ id: 'corp', clientSecretRef: 'sso/corp' });
    const again = await secrets.clientSecret({ id: 'corp', clientSecretRef: 'sso/corp' });
    const partner = await secrets.clientSecret({ id: 'partner', clientSecretRef: 'sso/partner' });

    // Assess
    expect([corp, again, partner]).toEqual(['s3cr3t', 's3cr3t', 'p4rtner']);
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('is a public client without clientSecretRef, and refuses an empty secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '  ' });
    const secrets = new SecretsManagerClientSecrets(new SecretsManagerClient({ region: 'eu-central-1' }));
    expect(await secrets.clientSecret({ id: 'public' })).toBeUndefined();
    expect(sm).not.toHaveReceivedCommand(GetSecretValueCommand);
    await expect(secrets.clientSecret({ id: 'corp', clientSecretRef: 'sso/empty' })).rejects.toThrow(/empty/);
  });

  it('reads a JSON secret without clientSecret as no secret', () => {
    expect(secretValue('{"other":"x"}')).toBeUndefined();
    expect(secretValue('{not json')).toBe('{not json');
  });
});

describe('LocalClientSecrets', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sso-secrets-'));
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes OIDC_CLIENT_SECRET_<ID> first, then <state>/oidc/<id>.secret, else none', async () => {
    expect(clientSecretEnvVar('plant-west')).toBe('OIDC_CLIENT_SECRET_PLANT_WEST');
    const secrets = new LocalClientSecrets(dir);
    expect(await secrets.clientSecret({ id: 'plant-west' })).toBeUndefined();

    mkdirSync(join(dir, 'oidc'), { mode: 0o700 });
    const file = join(dir, 'oidc', 'plant-west.secret');
    writeFileSync(file, 'from-file\n', { mode: 0o600 });
    expect(await secrets.clientSecret({ id: 'plant-west' })).toBe('from-file');

    vi.stubEnv('OIDC_CLIENT_SECRET_PLANT_WEST', 'from-env');
    expect(await secrets.clientSecret({ id: 'plant-west' })).toBe('from-env');
  });

  it('refuses a secret file others can read', async () => {
    mkdirSync(join(dir, 'oidc'), { mode: 0o700 });
    const file = join(dir, 'oidc', 'corp.secret');
    writeFileSync(file, 'leaky');
    chmodSync(file, 0o644);
    await expect(new LocalClientSecrets(dir).clientSecret({ id: 'corp' })).rejects.toThrow(/owner only/);
  });
});
