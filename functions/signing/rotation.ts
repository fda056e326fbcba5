import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { verifyJwtSync } from 'aws-jwt-verify/jwt-verifier';
import type { AuditActor } from '#audit/record';
import type { AuditInput } from '#audit/audit-log';
import { logger, metrics } from '#platform/powertools';
import type { SigningAdapters } from './adapters';
import { parseSecretValue } from './key-ring';
import { type Secrets, type SigningSecretValue, TAG_CURRENT_SINCE, TAG_ROTATION_REQUESTED_BY } from './ports';
import { asError, ChargeRecordsError } from '#platform/errors';

/**
 * Rotation of the signing key with Secrets Manager's four-step protocol. Each step is one small
 * function, idempotent for a retry with the same ClientRequestToken; AWSCURRENT moves only in
 * finishSecret, so a failure anywhere before it leaves signing exactly as it was.
 */

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** The event Secrets Manager sends a rotation function. */
export interface RotationEvent {
  Step: RotationStep;
  SecretId: string;
  ClientRequestToken: string;
}

export interface RotationDeps {
  adapters: SigningAdapters;
  /** How long AWSPREVIOUS keeps verifying after it was demoted (SIGNING_KEY_OVERLAP_SECONDS). */
  overlapSeconds: number;
  issuer: string;
  audience: string;
  /**
   * The shared audit writer (appendAuditRecord in the Lambda): finishSecret puts the promotion on the audit
   * trail through it (`key.rotation`), idempotently per rotation token.
   */
  audit: (input: AuditInput) => Promise<{ status: 'appended' | 'duplicate' }>;
}

/** Who rotated when no person asked: the 30-day schedule, `npm run rotate-keys`, the first local start. */
export const SYSTEM_ACTOR: AuditActor = { userId: 'system', username: 'system' };

/** The audit trail's name for a rotation and the entity it is recorded on (`signing-key/<new kid>`). */
export const ROTATION_AUDIT_ACTION = 'key.rotation';
export const SIGNING_KEY_ENTITY = 'signing-key';

/** Secrets Manager's limit for a tag value. */
const MAX_TAG_VALUE_LENGTH = 256;

/**
 * The tag that names who asked for the rotation with `token`: `<token>/<base64url(JSON actor)>` (base64url keeps
 * any username inside the characters tag values allow). A username too long for the tag is shortened.
 */
export function requesterTag(token: string, actor: AuditActor): Record<string, string> {
  let username = Array.from(actor.username);
  for (;;) {
    const encoded = Buffer.from(JSON.stringify({ userId: actor.userId, username: username.join('') })).toString(
      'base64url',
    );
    const value = `${token}/${encoded}`;
    if (value.length <= MAX_TAG_VALUE_LENGTH || username.length === 0) return { [TAG_ROTATION_REQUESTED_BY]: value };
    username = username.slice(0, -1);
  }
}

/** The requester the tag names for exactly this token; a tag left by another rotation (or none) names nobody. */
export function requesterOf(tags: Record<string, string>, token: string): AuditActor | undefined {
  const value = tags[TAG_ROTATION_REQUESTED_BY];
  if (!value?.startsWith(`${token}/`)) return undefined;
  try {
    const parsed = JSON.parse(
      Buffer.from(value.slice(token.length + 1), 'base64url').toString('utf8'),
    ) as Partial<AuditActor>;
    if (typeof parsed.userId !== 'string' || typeof parsed.username !== 'string' || parsed.userId === '')
      return undefined;
    return { userId: parsed.userId, username: parsed.username };
  } catch {
    return undefined;
  }
}

/** Records who asked for the rotation with `token` on the secret, before the rotation starts. */
export async function noteRequester(secrets: Secrets, token: string, actor: AuditActor): Promise<void> {
  await secrets.tag(requesterTag(token, actor));
}

/** A rotation the protocol refuses (rotation off, token unknown or not pending, a probe that fails). */
export class RotationError extends ChargeRecordsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RotationError';
  }
}

/** KMS' minimum pending window: long enough that no token signed with a retired key outlives it. */
export function deletionWindowDays(overlapSeconds: number): number {
  return Math.min(30, Math.max(7, Math.ceil(overlapSeconds / 86_400)));
}

/**
 * Creates the key and records it at once as the token's AWSPENDING value, asking nothing else of the new key first:
 * the version is the one record of which key this rotation made, so a retry finds it directly by the token. A key
 * whose recording failed is scheduled for deletion before the step fails, so a retry's new key orphans none.
 */
async function createSecret(token: string, deps: RotationDeps): Promise<void> {
  const { secrets, keys } = deps.adapters;
  const existing = await secrets.getValue({ versionId: token });
  if (existing) {
    logger.info('createSecret: version already has a value', { rotationId: token });
    return;
  }
  const key = await keys.createKey(token);
  const value: SigningSecretValue = { keyId: key.keyId, keyArn: key.keyArn, createdAt: new Date().toISOString() };
  try {
    await secrets.putValue(token, JSON.stringify(value), ['AWSPENDING']);
  } catch (err) {
    if (await keyRecordedAnyway(token, key.keyId, deps)) return;
    throw err;
  }
  logger.info('createSecret: new signing key staged AWSPENDING', { rotationId: token, keyId: key.keyId });
}

/**
 * After a failed PutSecretValue: true when the token's version exists after all (the put landed and only its answer
 * was lost, or a concurrent attempt recorded its own key), so the step has done its work. Our key, unless it is the
 * recorded one, is scheduled for deletion: nothing names it, nothing will ever use it.
 */
async function keyRecordedAnyway(token: string, keyId: string, deps: RotationDeps): Promise<boolean> {
  const { secrets, keys } = deps.adapters;
  const stored = await secrets.getValue({ versionId: token }).catch(() => undefined);
  const recordedKeyId = stored ? parseSecretValue(stored.value).keyId : undefined;
  if (recordedKeyId === keyId) {
    logger.info('createSecret: the value was stored although the call failed', { rotationId: token, keyId });
    return true;
  }
  try {
    await keys.scheduleDeletion(keyId, deletionWindowDays(0));
    logger.warn('createSecret: the new key could not be recorded; scheduled for deletion', {
      rotationId: token,
      keyId,
    });
  } catch (err) {
    // The one case that leaves a key behind: it carries the rotation token as a tag for whoever cleans up.
    logger.error('createSecret: a key that nothing names could not be scheduled for deletion', {
      rotationId: token,
      keyId,
      error: asError(err),
    });
  }
  return stored !== undefined;
}

/**
 * Nothing to do: in other rotations this step configures the target system (a database password) with
 * the pending secret. Here the KMS key *is* the secret and it already exists; publishing it to verifiers
 * happens by the AWSPENDING label itself (the JWKS lists pending keys), so tokens signed after
 * finishSecret are verifiable everywhere.
 */
async function setSecret(token: string): Promise<void> {
  logger.info('setSecret: nothing to configure, the key is the secret', { rotationId: token });
}

/** Signs a probe token with the pending key through the port and verifies it against its public JWK. */
async function testSecret(token: string, deps: RotationDeps): Promise<void> {
  const { secrets, keys } = deps.adapters;
  const version = await secrets.getValue({ versionId: token });
  if (!version) throw new RotationError(`testSecret: version ${token} has no value`);
  const value = parseSecretValue(version.value);
  const jwk = await keys.publicJwk(value.keyId);
  const now = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: jwk.kid })).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({
      iss: deps.issuer,
      aud: deps.audience,
      sub: 'rotation-probe',
      iat: now,
      nbf: now,
      exp: now + 60,
      jti: randomUUID(),
      type: 'probe',
    }),
  ).toString('base64url');
  const signature = await keys.sign(value.keyId, Buffer.from(`${header}.${payload}`));
  try {
    verifyJwtSync(
      `${header}.${payload}.${signature.toString('base64url')}`,
      { keys: [{ ...jwk }] },
      {
        issuer: deps.issuer,
        audience: deps.audience,
        graceSeconds: 60,
      },
    );
  } catch (err) {
    throw new RotationError(`testSecret: the pending key's probe token does not verify (${(err as Error).message})`, {
      cause: err,
    });
  }
  logger.info('testSecret: probe token signed and verified', { rotationId: token, kid: jwk.kid });
}

/** The kid of a version's key: stored in the value, except in the initial value CDK writes. */
async function kidOfVersion(versionId: string, deps: RotationDeps): Promise<string | undefined> {
  const version = await deps.adapters.secrets.getValue({ versionId });
  if (!version) return undefined;
  const value = parseSecretValue(version.value);
  return value.kid ?? (await deps.adapters.keys.publicJwk(value.keyId)).kid;
}

/**
 * Puts the promotion on the audit trail: entity `signing-key/<new kid>`, action `key.rotation`,
 * `changes.current` from the old kid to the new one, the requester (or `system`) as actor, the rotation token
 * as requestId. Kids are public key thumbprints; no key material, key id or secret value is recorded.
 */
async function recordPromotion(
  token: string,
  current: string | undefined,
  tags: Record<string, string>,
  deps: RotationDeps,
) {
  const to = await kidOfVersion(token, deps);
  if (!to) throw new RotationError(`finishSecret: version ${token} has no value`);
  const from = current ? ((await kidOfVersion(current, deps)) ?? null) : null;
  const actor = requesterOf(tags, token) ?? SYSTEM_ACTOR;
  const { status } = await deps.audit({
    entityType: SIGNING_KEY_ENTITY,
    entityId: to,
    action: ROTATION_AUDIT_ACTION,
    actor,
    requestId: token,
    changes: { current: { from, to } },
    // A retried finishSecret (same token) finds its record instead of writing a second one.
    idempotencyKey: `${ROTATION_AUDIT_ACTION}#${token}`,
  });
  logger.info('finishSecret: rotation on the audit trail', {
    rotationId: token,
    kid: to,
    previousKid: from,
    actor: actor.userId,
    status,
  });
}

/**
 * Promotes the token's version to AWSCURRENT; Secrets Manager (and the local store) moves AWSPREVIOUS to the
 * version AWSCURRENT left. The key that loses AWSPREVIOUS leaves the JWKS now and is scheduled for deletion.
 */
async function finishSecret(token: string, deps: RotationDeps): Promise<void> {
  const { secrets, keys } = deps.adapters;
  const { versionStages, tags } = await secrets.describe();
  const holder = (stage: string) => Object.keys(versionStages).find((id) => versionStages[id]?.includes(stage));
  const current = holder('AWSCURRENT');
  if (current === token) return;
  const previous = holder('AWSPREVIOUS');

  // On the audit trail before the move, like everything else that decides: if the record cannot be written,
  // the key is not promoted and signing goes on as before; the retry (same token) finds the record written.
  await recordPromotion(token, current, tags, deps);

  // Recorded before the move: if the move fails and is retried, the retry records a later time, and a
  // demotion time that is slightly early can only keep the previous key a moment longer, never shorter.
  await secrets.tag({ [TAG_CURRENT_SINCE]: new Date().toISOString() });
  await secrets.updateStage('AWSCURRENT', token, current);
  logger.info('finishSecret: AWSCURRENT moved', { rotationId: token, previousCurrent: current });

  if (previous && previous !== current && previous !== token) {
    const retired = await secrets.getValue({ versionId: previous });
    if (retired) {
      const { keyId } = parseSecretValue(retired.value);
      await keys.scheduleDeletion(keyId, deletionWindowDays(deps.overlapSeconds));
      logger.info('finishSecret: key older than AWSPREVIOUS scheduled for deletion', { keyId });
    }
  }
}

/** Dispatches one rotation step after the protocol's checks (the AWS rotation template's order). */
export async function runRotationStep(event: RotationEvent, deps: RotationDeps): Promise<void> {
  const { Step: step, ClientRequestToken: token } = event;
  const description = await deps.adapters.secrets.describe();
  if (!description.rotationEnabled) throw new RotationError(`Rotation is not enabled for ${event.SecretId}`);
  const stages = description.versionStages[token];
  if (!stages) throw new RotationError(`Version ${token} has no stage for rotation of ${event.SecretId}`);
  if (stages.includes('AWSCURRENT')) {
    logger.info('Version is already AWSCURRENT: nothing to do', { step, rotationId: token });
    return;
  }
  if (!stages.includes('AWSPENDING')) {
    throw new RotationError(`Version ${token} is not AWSPENDING for rotation of ${event.SecretId}`);
  }
  switch (step) {
    case 'createSecret':
      return createSecret(token, deps);
    case 'setSecret':
      return setSecret(token);
    case 'testSecret':
      return testSecret(token, deps);
    case 'finishSecret':
      return finishSecret(token, deps);
    default:
      throw new RotationError(`Unknown rotation step ${String(step)}`);
  }
}

/** Emits the current key's age, which the SigningKeyTooOld alarm watches (older than 35 days). */
export async function recordKeyAge(adapters: SigningAdapters): Promise<number | undefined> {
  const current = await adapters.secrets.getValue({ stage: 'AWSCURRENT' });
  if (!current) return undefined;
  const { createdAt } = parseSecretValue(current.value);
  if (!createdAt) return undefined;
  const ageSeconds = Math.max(0, Math.round((Date.now() - Date.parse(createdAt)) / 1000));
  metrics.addMetric('SigningKeyAgeSeconds', MetricUnit.Seconds, ageSeconds);
  return ageSeconds;
}

/** Seconds until a rotation may run without cutting off tokens signed by today's AWSPREVIOUS key (0: now). */
export async function secondsUntilSafeRotation(adapters: SigningAdapters, overlapSeconds: number): Promise<number> {
  const { tags, versionStages } = await adapters.secrets.describe();
  const since = tags[TAG_CURRENT_SINCE];
  // Without an AWSPREVIOUS key, a rotation drops nothing from the JWKS.
  if (!since || !Object.values(versionStages).some((s) => s.includes('AWSPREVIOUS'))) return 0;
  return Math.max(0, Math.ceil((Date.parse(since) + overlapSeconds * 1000 - Date.now()) / 1000));
}
