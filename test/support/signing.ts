import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import { type SigningAdapters, awsSigningAdapters, useSigningAdapters } from '#signing/adapters';
import { localSigningAdapters, localSigningAdaptersFromConfig, rotateLocally } from '#local/adapters/signing';
import type { AuditInput } from '#audit/audit-log';
import { type RotationDeps, runRotationStep } from '#signing/rotation';
import { AccessTokens, createAccessTokens } from '#signing/tokens';
import { KeyRing } from '#signing/key-ring';
import { config, resetConfig } from '#platform/config';

export interface LocalSigning {
  dir: string;
  adapters: SigningAdapters;
  deps: RotationDeps;
  /** What the rotations put on the audit trail (an in-memory stand-in: these tests have no audit table). */
  audited: AuditInput[];
  tokens: AccessTokens;
  /** A full rotation (four steps, fresh token) through the production rotation code. */
  rotate(): Promise<string>;
  /** Another AccessTokens on the same keys, e.g. with another issuer or audience. */
  tokensWith(options: Partial<AccessTokens['options']>): AccessTokens;
  cleanup(): void;
}

/** Local key store in a fresh temp directory, with the first key already created. */
export async function localSigning(): Promise<LocalSigning> {
  const dir = mkdtempSync(join(tmpdir(), 'signing-test-'));
  const adapters = localSigningAdapters(join(dir, 'keys'));
  const cfg = config();
  const audited: AuditInput[] = [];
  const deps: RotationDeps = {
    adapters,
    overlapSeconds: cfg.signingKeyOverlapSeconds,
    issuer: cfg.JWT_ISSUER,
    audience: cfg.JWT_AUDIENCE,
    // Idempotent by key, like the real writer.
    audit: async (input) => {
      if (audited.some((a) => a.idempotencyKey !== undefined && a.idempotencyKey === input.idempotencyKey))
        return { status: 'duplicate' };
      audited.push(input);
      return { status: 'appended' };
    },
  };
  const rotate = () => rotateLocally(adapters, (event) => runRotationStep(event, deps));
  await rotate();
  const tokens = createAccessTokens(adapters);
  return {
    dir,
    adapters,
    deps,
    audited,
    tokens,
    rotate,
    tokensWith: (options) =>
      new AccessTokens(
        adapters,
        new KeyRing(adapters, { overlapSeconds: cfg.signingKeyOverlapSeconds, maxAgeMs: 30_000 }),
        { ...tokens.options, ...options },
      ),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The signing secret the AWS-adapter unit tests name (its calls are mocked with aws-sdk-client-mock). */
export const AWS_SIGNING_SECRET = 'arn:aws:secretsmanager:eu-central-1:111122223333:secret:signing-AbCdEf';

/** Around each test of the calling block: SIGNING_SECRET_ID set, so config and adapters are rebuilt as AWS ones. */
export function useAwsSigningAdapters(): void {
  beforeEach(() => {
    vi.stubEnv('SIGNING_SECRET_ID', AWS_SIGNING_SECRET);
    resetConfig();
    useSigningAdapters(awsSigningAdapters);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    resetConfig();
    useSigningAdapters(localSigningAdaptersFromConfig);
  });
}
