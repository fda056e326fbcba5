import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { SecretDescription, Secrets, SecretVersion } from './ports';

/** The Secrets port on AWS Secrets Manager; one instance per secret. */
export class SecretsManagerSecrets implements Secrets {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async describe(): Promise<SecretDescription> {
    const out = await this.client.send(new DescribeSecretCommand({ SecretId: this.secretId }));
    return {
      rotationEnabled: out.RotationEnabled === true,
      versionStages: out.VersionIdsToStages ?? {},
      tags: Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    };
  }

  async getValue(by: { stage: string } | { versionId: string }): Promise<SecretVersion | undefined> {
    try {
      const out = await this.client.send(
        new GetSecretValueCommand({
          SecretId: this.secretId,
          ...('stage' in by ? { VersionStage: by.stage } : { VersionId: by.versionId }),
        }),
      );
      if (!out.VersionId || out.SecretString === undefined) return undefined;
      return { versionId: out.VersionId, value: out.SecretString, stages: out.VersionStages ?? [] };
    } catch (err) {
      // Secrets Manager answers a stage or version that does not exist with ResourceNotFound.
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  }

  async putValue(versionId: string, value: string, stages: string[]): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.secretId,
        ClientRequestToken: versionId,
        SecretString: value,
        VersionStages: stages,
      }),
    );
  }

  async updateStage(stage: string, moveToVersionId: string, removeFromVersionId?: string): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.secretId,
        VersionStage: stage,
        MoveToVersionId: moveToVersionId,
        RemoveFromVersionId: removeFromVersionId,
      }),
    );
  }

  async tag(tags: Record<string, string>): Promise<void> {
    await this.client.send(
      new TagResourceCommand({
        SecretId: this.secretId,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  }
}
