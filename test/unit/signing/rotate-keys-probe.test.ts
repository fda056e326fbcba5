import { CreateKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler } from '#signing/rotation-handler';
import { isKeyAgeProbe, KEY_AGE_PROBE } from '#signing/rotation-probe';
import { metrics } from '#platform/powertools';
import { lambdaContext } from '#local/lambda-context';
import { AWS_SIGNING_SECRET, useAwsSigningAdapters } from '#test/support/signing';

/**
 * The event the hourly EventBridge rule sends (lib/constructs/signing-keys.ts, checked in observability.test.ts):
 * the rotation function records the current key's age and rotates nothing.
 */
const SECRET = AWS_SIGNING_SECRET;
const sm = mockClient(SecretsManagerClient);
const kms = mockClient(KMSClient);
const invoke = (event: unknown) => handler(event as typeof KEY_AGE_PROBE, lambdaContext('rotate-keys', 60, 256));

useAwsSigningAdapters();
afterEach(() => {
  sm.reset();
  kms.reset();
});

describe('key-age probe of the rotation function', () => {
  it('recognises only the probe event, not a rotation step', () => {
    expect(isKeyAgeProbe(KEY_AGE_PROBE)).toBe(true);
    expect(isKeyAgeProbe({ Step: 'createSecret', SecretId: SECRET, ClientRequestToken: 't' })).toBe(false);
    expect(isKeyAgeProbe(null)).toBe(false);
  });

  it('records SigningKeyAgeSeconds of AWSCURRENT and touches no key or secret version', async () => {
    // Prepare
    const createdAt = new Date(Date.now() - 3 * 86_400_000).toISOString();
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionStage: 'AWSCURRENT' }).resolves({
      VersionId: 'v1',
      VersionStages: ['AWSCURRENT'],
      SecretString: JSON.stringify({
        keyId: 'k1',
        keyArn: 'arn:aws:kms:eu-central-1:111122223333:key/k1',
        kid: 'kid1',
        createdAt,
      }),
    });
    const added = vi.spyOn(metrics, 'addMetric');

    // Act
    await invoke(KEY_AGE_PROBE);

    // Assess
    const age = added.mock.calls.find((c) => c[0] === 'SigningKeyAgeSeconds');
    expect(age?.[2]).toBeGreaterThanOrEqual(3 * 86_400 - 5);
    expect(age?.[2]).toBeLessThanOrEqual(3 * 86_400 + 5);
    const names = added.mock.calls.map((c) => c[0]);
    expect(names.some((n) => n.startsWith('SigningKeyRotation'))).toBe(false);
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
    expect(sm).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('fails loudly when the secret cannot be read, so the Errors alarm sees a dead probe', async () => {
    sm.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    await expect(invoke(KEY_AGE_PROBE)).rejects.toThrow('AccessDeniedException');
  });
});
