import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { adapterSet } from '#platform/adapters';
import { config } from '#platform/config';

/** The client secret of an SSO provider (confidential client); undefined: a public client (PKCE only). */
export interface ClientSecrets {
  clientSecret(provider: { id: string; clientSecretRef?: string }): Promise<string | undefined>;
}

/** How long a fetched secret is reused: a rotated secret is picked up this long after the rotation at most. */
const CACHE_MS = 5 * 60 * 1000;

/**
 * Secrets Manager: the secret `clientSecretRef` names (id or ARN). Its value is the client secret itself, or JSON
 * with a `clientSecret` field (the shape a console-created key/value secret has).
 */
export class SecretsManagerClientSecrets implements ClientSecrets {
  private readonly cache = new Map<string, { value: string; until: number }>();

  constructor(private readonly sm: SecretsManagerClient) {}

  async clientSecret(provider: { id: string; clientSecretRef?: string }): Promise<string | undefined> {
    const ref = provider.clientSecretRef;
    if (!ref) return undefined;
    const cached = this.cache.get(ref);
    if (cached && cached.until > Date.now()) return cached.value;
    const out = await this.sm.send(new GetSecretValueCommand({ SecretId: ref }));
    const value = secretValue(out.SecretString);
    if (!value) throw new Error(`The secret of SSO provider ${provider.id} is empty`);
    this.cache.set(ref, { value, until: Date.now() + CACHE_MS });
    return value;
  }
}

export function secretValue(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  if (!trimmed) return undefined;
  if (!trimmed.startsWith('{')) return trimmed;
  try {
    const field = (JSON.parse(trimmed) as { clientSecret?: unknown }).clientSecret;
    return typeof field === 'string' && field !== '' ? field : undefined;
  } catch {
    return trimmed;
  }
}

export const clientSecretAdapters = adapterSet<ClientSecrets>(
  () => new SecretsManagerClientSecrets(new SecretsManagerClient({ region: config().AWS_REGION })),
);
export const useClientSecrets = clientSecretAdapters.use;
