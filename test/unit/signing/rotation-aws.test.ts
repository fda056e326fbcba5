import { createHash, generateKeyPairSync, privateEncrypt, constants } from 'node:crypto';
import {
  CreateKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  KMSServiceException,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as rotationHandler } from '#signing/rotation-handler';
import { appendAuditRecord } from '#audit/audit-log';
import { verifyChain, type AuditRecord } from '#audit/record';
import { metrics } from '#platform/powertools';
import { lambdaContext } from '#local/lambda-context';
import { resetSigningAdapters, type SigningAdapters } from '#signing/adapters';
import { resetConfig } from '#platform/config';
import { publicKeyToJwk } from '#signing/jwk';
import { KmsSigningKeys, parseSigningKeyRoles, type SigningKeyRoles } from '#signing/kms-signing-keys';
import { TAG_CURRENT_SINCE, TAG_ROTATION_REQUESTED_BY, TAG_ROTATION_TOKEN, TAG_SIGNING_KEY } from '#signing/ports';
import {
  requesterOf,
  requesterTag,
  ROTATION_STEPS,
  type RotationDeps,
  RotationError,
  runRotationStep,
  type RotationStep,
} from '#signing/rotation';
import { callHandler, userWith } from '#test/support/events';
import { AWS_SIGNING_SECRET, useAwsSigningAdapters } from '#test/support/signing';
import { SecretsManagerSecrets } from '#signing/secrets-manager';

const SECRET = AWS_SIGNING_SECRET;
const APP_TAG = 'charge-records-test';
const OLD = 'version-old';
const PREV = 'version-prev';
const TOKEN = 'token-new';
const NEW_KEY = {
  KeyId: '11111111-2222-3333-4444-555555555555',
  Arn: 'arn:aws:kms:eu-central-1:111122223333:key/1111',
};
const SECOND_KEY = {
  KeyId: '22222222-3333-4444-5555-666666666666',
  Arn: 'arn:aws:kms:eu-central-1:111122223333:key/2222',
};
/** The roles CDK names in SIGNING_KEY_ROLES (lib/constructs/signing-keys.ts). */
const KEY_ROLES: SigningKeyRoles = {
  rotation: 'arn:aws:iam::111122223333:role/rotate-keys',
  sign: ['arn:aws:iam::111122223333:role/auth'],
  verify: ['arn:aws:iam::111122223333:role/authorizer', 'arn:aws:iam::111122223333:role/keys'],
};
/** KMS' refusal while a new key's tag does not yet count for IAM (tag-based grants take minutes). */
const accessDenied = () =>
  new KMSServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: {},
    message: 'not authorized to perform kms:GetPublicKey',
  });

const kms = mockClient(KMSClient);
const sm = mockClient(SecretsManagerClient);
const ddb = mockClient(DynamoDBDocumentClient);

/** What KMS would hold: one RSA key pair standing in for the new KMS key. */
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
/** KMS Sign with MessageType DIGEST: PKCS#1 v1.5 over DigestInfo(SHA-256, digest). */
const kmsSign = (digest: Uint8Array) =>
  privateEncrypt(
    { key: pair.privateKey, padding: constants.RSA_PKCS1_PADDING },
    Buffer.concat([SHA256_DIGEST_INFO, digest]),
  );

/** Secrets Manager's view of the secret, updated by the mocked write calls as the real service would. */
interface State {
  stages: Record<string, string[]>;
  values: Record<string, string>;
  tags: Record<string, string>;
  rotationEnabled: boolean;
}
let state: State;
const OLD_KID = 'Pq9xThumbprintOfTheFormerCurrentKey';

const value = (keyId: string, kid?: string) =>
  JSON.stringify({ keyId, keyArn: `arn:aws:kms:::key/${keyId}`, kid, createdAt: '2026-01-01T00:00:00Z' });

/** The audit table as DynamoDB would hold it: items by `entityKey|seq`, puts conditional on the key being new. */
let auditItems: Map<string, Record<string, unknown>>;
const auditKey = (item: Record<string, unknown>) => `${String(item.entityKey)}|${String(item.seq)}`;
/** The audit records (not the idempotency markers), oldest first. */
const auditRecords = () =>
  [...auditItems.values()]
    .filter((i) => !String(i.entityKey).startsWith('event#'))
    .sort((a, b) => Number(a.seq) - Number(b.seq));

function wireAuditTable() {
  ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, unknown>; Limit?: number }) => {
    const items = [...auditItems.values()]
      .filter((i) => i.entityKey === input.ExpressionAttributeValues[':k'])
      .sort((a, b) => Number(b.seq) - Number(a.seq));
    return { Items: items.slice(0, input.Limit ?? items.length) };
  });
  ddb.on(TransactWriteCommand).callsFake((input: { TransactItems: { Put: { Item: Record<string, unknown> } }[] }) => {
    const items = input.TransactItems.map((t) => t.Put.Item);
    const reasons = items.map((item) => ({ Code: auditItems.has(auditKey(item)) ? 'ConditionalCheckFailed' : 'None' }));
    if (reasons.some((r) => r.Code !== 'None')) {
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    for (const item of items) auditItems.set(auditKey(item), item);
    return {};
  });
}

function wireSecretsManager() {
  sm.on(DescribeSecretCommand).callsFake(() => ({
    ARN: SECRET,
    RotationEnabled: state.rotationEnabled,
    VersionIdsToStages: structuredClone(state.stages),
    Tags: Object.entries(state.tags).map(([Key, Value]) => ({ Key, Value })),
  }));
  sm.on(GetSecretValueCommand).callsFake((input: { VersionId?: string; VersionStage?: string }) => {
    const id =
      input.VersionId ?? Object.keys(state.stages).find((v) => state.stages[v]?.includes(input.VersionStage ?? ''));
    if (!id || state.values[id] === undefined) {
      throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
    }
    return { ARN: SECRET, VersionId: id, SecretString: state.values[id], VersionStages: state.stages[id] };
  });
  sm.on(PutSecretValueCommand).callsFake(
    (input: { ClientRequestToken: string; SecretString: string; VersionStages: string[] }) => {
      state.values[input.ClientRequestToken] = input.SecretString;
      for (const st of input.VersionStages) {
        for (const id of Object.keys(state.stages)) state.stages[id] = state.stages[id]!.filter((s) => s !== st);
        state.stages[input.ClientRequestToken] = [...(state.stages[input.ClientRequestToken] ?? []), st];
      }
      return { VersionId: input.ClientRequestToken };
    },
  );
  sm.on(UpdateSecretVersionStageCommand).callsFake(
    (input: { VersionStage: string; MoveToVersionId: string; RemoveFromVersionId?: string }) => {
      if (input.RemoveFromVersionId) {
        state.stages[input.RemoveFromVersionId] = state.stages[input.RemoveFromVersionId]!.filter(
          (s) => s !== input.VersionStage,
        );
      }
      if (input.VersionStage === 'AWSCURRENT' && input.RemoveFromVersionId) {
        for (const id of Object.keys(state.stages))
          state.stages[id] = state.stages[id]!.filter((s) => s !== 'AWSPREVIOUS');
        state.stages[input.RemoveFromVersionId]!.push('AWSPREVIOUS');
      }
      state.stages[input.MoveToVersionId] = [...(state.stages[input.MoveToVersionId] ?? []), input.VersionStage];
      return {};
    },
  );
  sm.on(TagResourceCommand).callsFake((input: { Tags: { Key: string; Value: string }[] }) => {
    for (const { Key, Value } of input.Tags) state.tags[Key] = Value;
    return {};
  });
  // What RotateSecret does before it invokes the rotation function: a value-less version labelled AWSPENDING.
  sm.on(RotateSecretCommand).callsFake((input: { ClientRequestToken: string }) => {
    state.stages[input.ClientRequestToken] = ['AWSPENDING'];
    return { ARN: SECRET, VersionId: input.ClientRequestToken };
  });
}

function wireKms() {
  // Rotation never walks the account's keys: these fail the test if called (see "never lists KMS keys").
  kms.on(ListKeysCommand).rejects(new Error('ListKeys must not be called'));
  kms.on(ListResourceTagsCommand).rejects(new Error('ListResourceTags must not be called'));
  kms
    .on(CreateKeyCommand)
    .resolvesOnce({ KeyMetadata: { KeyId: NEW_KEY.KeyId, Arn: NEW_KEY.Arn } })
    .resolves({ KeyMetadata: { KeyId: SECOND_KEY.KeyId, Arn: SECOND_KEY.Arn } });
  kms
    .on(GetPublicKeyCommand)
    .resolves({ PublicKey: new Uint8Array(spki), KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({ Signature: kmsSign(input.Message) }));
  kms.on(ScheduleKeyDeletionCommand).resolves({});
}

let deps: RotationDeps;
const step = (Step: RotationStep) => runRotationStep({ Step, SecretId: SECRET, ClientRequestToken: TOKEN }, deps);

beforeEach(() => {
  state = {
    rotationEnabled: true,
    stages: { [PREV]: ['AWSPREVIOUS'], [OLD]: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] },
    values: { [PREV]: value('prev-key'), [OLD]: value('old-key', OLD_KID) },
    tags: {},
  };
  auditItems = new Map();
  wireSecretsManager();
  wireKms();
  wireAuditTable();
  const adapters: SigningAdapters = {
    kind: 'aws',
    keys: new KmsSigningKeys(new KMSClient({ region: 'eu-central-1' }), APP_TAG, KEY_ROLES),
    secrets: new SecretsManagerSecrets(new SecretsManagerClient({ region: 'eu-central-1' }), SECRET),
    requestRotation: () => Promise.reject(new Error('these tests drive the steps themselves')),
  };
  deps = {
    adapters,
    overlapSeconds: 960,
    issuer: 'https://issuer.test',
    audience: 'charge-records',
    audit: appendAuditRecord,
  };
});

afterEach(() => {
  kms.reset();
  sm.reset();
  ddb.reset();
});

describe('rotation protocol against Secrets Manager and KMS (mocked)', () => {
  it('runs createSecret → setSecret → testSecret → finishSecret and promotes the new key', async () => {
    // Act
    for (const s of ROTATION_STEPS) await step(s);

    // Assess: one new key with the right spec, usage and tags
    expect(kms).toHaveReceivedCommandTimes(CreateKeyCommand, 1);
    expect(kms).toHaveReceivedCommandWith(CreateKeyCommand, {
      KeySpec: 'RSA_2048',
      KeyUsage: 'SIGN_VERIFY',
      Tags: [
        { TagKey: TAG_SIGNING_KEY, TagValue: APP_TAG },
        { TagKey: TAG_ROTATION_TOKEN, TagValue: TOKEN },
      ],
    });
    // staged AWSPENDING under the token, naming the key (its kid is computed from the key when read)
    expect(sm).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
    const put = sm.commandCalls(PutSecretValueCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ SecretId: SECRET, ClientRequestToken: TOKEN, VersionStages: ['AWSPENDING'] });
    expect(JSON.parse(put.SecretString!)).toEqual({
      keyId: NEW_KEY.KeyId,
      keyArn: NEW_KEY.Arn,
      createdAt: expect.any(String),
    });
    // testSecret signed a probe with the pending key (DIGEST of the signing input)
    expect(kms).toHaveReceivedCommandWith(SignCommand, {
      KeyId: NEW_KEY.KeyId,
      MessageType: 'DIGEST',
      SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    });
    // finishSecret: exactly one stage move, current → token, and the demotion time recorded first
    expect(sm).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 1);
    expect(sm).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      SecretId: SECRET,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: TOKEN,
      RemoveFromVersionId: OLD,
    });
    const calls = sm.calls().map((c) => c.args[0].constructor.name);
    expect(calls.lastIndexOf('TagResourceCommand')).toBeLessThan(calls.lastIndexOf('UpdateSecretVersionStageCommand'));
    expect(sm.commandCalls(TagResourceCommand)[0]!.args[0].input.Tags![0]!.Key).toBe(TAG_CURRENT_SINCE);
    // the key that lost AWSPREVIOUS is scheduled for deletion with the 7-day window
    expect(kms).toHaveReceivedCommandExactlyOnceWith(ScheduleKeyDeletionCommand, {
      KeyId: 'prev-key',
      PendingWindowInDays: 7,
    });
    expect(state.stages[TOKEN]).toContain('AWSCURRENT');
    expect(state.stages[OLD]).toEqual(['AWSPREVIOUS']);
  });

  it('changes nothing when a step is retried with the same token', async () => {
    // Prepare
    for (const s of ROTATION_STEPS) await step(s);
    const writes = () => ({
      create: kms.commandCalls(CreateKeyCommand).length,
      put: sm.commandCalls(PutSecretValueCommand).length,
      move: sm.commandCalls(UpdateSecretVersionStageCommand).length,
      del: kms.commandCalls(ScheduleKeyDeletionCommand).length,
      audit: auditRecords().length,
    });
    const before = writes();
    // Act: every step again (Secrets Manager retries after timeouts)
    for (const s of ROTATION_STEPS) await step(s);
    // Assess
    expect(writes()).toEqual(before);
  });

  it('puts the promotion on the audit trail: signing-key/<new kid>, key.rotation, old → new kid, system as actor', async () => {
    // Act
    for (const s of ROTATION_STEPS) await step(s);

    // Assess: one record through the shared audit writer, hash-chained and idempotency-marked
    const newKid = publicKeyToJwk(pair.publicKey).kid;
    const records = auditRecords();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      entityKey: `signing-key#${newKid}`,
      entityType: 'signing-key',
      entityId: newKid,
      seq: 1,
      action: 'key.rotation',
      actor: { userId: 'system', username: 'system' },
      requestId: TOKEN,
      changes: { current: { from: OLD_KID, to: newKid } },
    });
    expect(verifyChain(records as unknown as AuditRecord[])).toEqual({ valid: true, records: 1 });
    expect(auditItems.has(`event#key.rotation#${TOKEN}|0`)).toBe(true);
    // No key material, key id, ARN or secret value on the trail: kids are public key thumbprints.
    const stored = JSON.stringify(records);
    for (const secretish of [NEW_KEY.KeyId, NEW_KEY.Arn, 'old-key', state.values[TOKEN]!, 'PRIVATE KEY']) {
      expect(stored).not.toContain(secretish);
    }
  });

  it('takes the old kid from the key when the secret value has none (the initial value CDK writes)', async () => {
    // Prepare
    state.values[OLD] = JSON.stringify({ keyId: 'initial-key', keyArn: 'arn:aws:kms:::key/initial-key' });
    // Act
    for (const s of ROTATION_STEPS) await step(s);
    // Assess: the mocked KMS has one public key, so the initial key's kid is the same thumbprint.
    expect(kms).toHaveReceivedCommandWith(GetPublicKeyCommand, { KeyId: 'initial-key' });
    const kid = publicKeyToJwk(pair.publicKey).kid;
    expect(auditRecords()[0]).toMatchObject({ changes: { current: { from: kid, to: kid } } });
  });

  it('records the caller the secret tag names for this token, and no one for a tag left by another rotation', async () => {
    // Prepare: a tag from an earlier request, then one for this rotation.
    const caller = { userId: '7b0d4a63-5d1e-4a0e-9d3b-2b7c8a1f0e11', username: 'Zoë Łukasiewicz-Müller' };
    state.tags = requesterTag('another-token', { userId: 'someone-else', username: 'mallory' });
    expect(requesterOf(state.tags, TOKEN)).toBeUndefined();
    state.tags = requesterTag(TOKEN, caller);
    expect(state.tags[TAG_ROTATION_REQUESTED_BY]).toMatch(/^[A-Za-z0-9 +\-=._:/@]{1,256}$/);
    // Act
    for (const s of ROTATION_STEPS) await step(s);
    // Assess
    expect(auditRecords()[0]).toMatchObject({ actor: caller });
  });

  it('keeps a requester tag within the 256 characters Secrets Manager allows', () => {
    const tag = requesterTag(TOKEN, { userId: 'u-1', username: 'ü'.repeat(200) });
    expect(tag[TAG_ROTATION_REQUESTED_BY]!.length).toBeLessThanOrEqual(256);
    expect(requesterOf(tag, TOKEN)).toMatchObject({ userId: 'u-1', username: expect.stringMatching(/^ü+$/) });
  });

  it('does not promote when the audit record cannot be written; AWSCURRENT stays put', async () => {
    // Prepare
    for (const s of ROTATION_STEPS.slice(0, 3)) await step(s);
    ddb.on(TransactWriteCommand).rejects(new Error('AccessDeniedException'));
    // Act
    await expect(step('finishSecret')).rejects.toThrow('AccessDeniedException');
    // Assess
    expect(sm).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(state.stages[OLD]).toEqual(['AWSCURRENT']);
    expect(state.stages[TOKEN]).toEqual(['AWSPENDING']);
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('writes one audit record when finishSecret fails after recording and is retried with the same token', async () => {
    // Prepare: the stage move fails once, after the record was written.
    for (const s of ROTATION_STEPS.slice(0, 3)) await step(s);
    const move = sm.on(UpdateSecretVersionStageCommand);
    move.rejectsOnce(new Error('ThrottlingException'));
    await expect(step('finishSecret')).rejects.toThrow('ThrottlingException');
    expect(state.stages[OLD]).toEqual(['AWSCURRENT']);
    expect(auditRecords()).toHaveLength(1);
    wireSecretsManager();

    // Act: Secrets Manager retries the step.
    await step('finishSecret');

    // Assess: promoted, and still one record (the retry's append was a duplicate)
    expect(state.stages[TOKEN]).toContain('AWSCURRENT');
    expect(auditRecords()).toHaveLength(1);
  });

  describe('independent of KMS tag propagation, idempotent under retries, without orphaned keys', () => {
    /** What the step left behind: keys made, keys scheduled for deletion, the token's recorded key. */
    const outcome = () => ({
      created: kms.commandCalls(CreateKeyCommand).length,
      deleted: kms.commandCalls(ScheduleKeyDeletionCommand).map((c) => c.args[0].input.KeyId),
      recorded: state.values[TOKEN] ? (JSON.parse(state.values[TOKEN]) as { keyId: string }).keyId : undefined,
    });

    it('creates the key with a key policy naming the roles that use it, so no tag has to propagate first', async () => {
      // Act
      await step('createSecret');
      // Assess
      const policy = JSON.parse(kms.commandCalls(CreateKeyCommand)[0]!.args[0].input.Policy!) as {
        Statement: {
          Sid: string;
          Principal: { AWS: string | string[] };
          Action: string | string[];
          Condition?: unknown;
        }[];
      };
      const bySid = Object.fromEntries(policy.Statement.map((st) => [st.Sid, st]));
      expect(bySid.AccountAdministersThroughIam).toMatchObject({
        Principal: { AWS: 'arn:aws:iam::111122223333:root' },
        Action: 'kms:*',
      });
      expect(bySid.RotationProbes).toMatchObject({
        Principal: { AWS: [KEY_ROLES.rotation] },
        Action: ['kms:GetPublicKey', 'kms:Sign'],
      });
      expect(bySid.RotationRetiresAfterTheMinimumWindow).toMatchObject({
        Principal: { AWS: [KEY_ROLES.rotation] },
        Action: 'kms:ScheduleKeyDeletion',
        Condition: { NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 7 } },
      });
      expect(bySid.MintersSign).toMatchObject({
        Principal: { AWS: KEY_ROLES.sign },
        Action: ['kms:GetPublicKey', 'kms:Sign'],
      });
      expect(bySid.VerifiersReadThePublicKey).toMatchObject({
        Principal: { AWS: KEY_ROLES.verify },
        Action: ['kms:GetPublicKey'],
      });
      // Nothing is asked of the new key before it is recorded: no call that a fresh key could refuse.
      expect(kms).not.toHaveReceivedCommand(GetPublicKeyCommand);
      expect(kms).not.toHaveReceivedCommand(SignCommand);
      expect(outcome()).toEqual({ created: 1, deleted: [], recorded: NEW_KEY.KeyId });
    });

    it('a retry after createSecret finished finds the key by the token directly and never lists KMS keys', async () => {
      // Prepare
      await step('createSecret');
      // Act
      await step('createSecret');
      // Assess
      expect(outcome()).toEqual({ created: 1, deleted: [], recorded: NEW_KEY.KeyId });
      expect(kms).not.toHaveReceivedCommand(ListKeysCommand);
      expect(kms).not.toHaveReceivedCommand(ListResourceTagsCommand);
      expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN });
    });

    it('PutSecretValue fails after CreateKey: that key is scheduled for deletion, the retry records a new one', async () => {
      // Prepare
      sm.on(PutSecretValueCommand).rejectsOnce(new Error('ThrottlingException'));
      // Act
      await expect(step('createSecret')).rejects.toThrow('ThrottlingException');
      // Assess: no value, and the unrecorded key is on its way out (KMS' minimum window)
      expect(outcome()).toEqual({ created: 1, deleted: [NEW_KEY.KeyId], recorded: undefined });
      expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, {
        KeyId: NEW_KEY.KeyId,
        PendingWindowInDays: 7,
      });

      // Act: Secrets Manager retries the step with the same token.
      wireSecretsManager();
      await step('createSecret');
      // Assess: every key made is either recorded or being deleted
      expect(outcome()).toEqual({ created: 2, deleted: [NEW_KEY.KeyId], recorded: SECOND_KEY.KeyId });
      expect(kms).not.toHaveReceivedCommand(ListKeysCommand);
    });

    it('PutSecretValue stored the value but its answer was lost: the step succeeds and keeps that key', async () => {
      // Prepare: the value lands, then the call fails (a timeout after the write).
      sm.on(PutSecretValueCommand).callsFakeOnce((input: { ClientRequestToken: string; SecretString: string }) => {
        state.values[input.ClientRequestToken] = input.SecretString;
        throw new Error('socket hang up');
      });
      // Act
      await step('createSecret');
      // Assess
      expect(outcome()).toEqual({ created: 1, deleted: [], recorded: NEW_KEY.KeyId });
      // Act: a later retry changes nothing.
      wireSecretsManager();
      await step('createSecret');
      expect(outcome()).toEqual({ created: 1, deleted: [], recorded: NEW_KEY.KeyId });
    });

    it('another attempt recorded its own key first: ours is scheduled for deletion and the step succeeds', async () => {
      // Prepare: between our CreateKey and our put, a concurrent invocation stored its key for the token.
      sm.on(PutSecretValueCommand).callsFakeOnce(() => {
        state.values[TOKEN] = value('key-of-the-other-attempt');
        throw new Error('ResourceExistsException');
      });
      // Act
      await step('createSecret');
      // Assess
      expect(outcome()).toEqual({ created: 1, deleted: [NEW_KEY.KeyId], recorded: 'key-of-the-other-attempt' });
    });

    it('if the unrecorded key cannot be scheduled for deletion either, the step fails with the original error', async () => {
      // Prepare
      sm.on(PutSecretValueCommand).rejectsOnce(new Error('ThrottlingException'));
      kms.on(ScheduleKeyDeletionCommand).rejects(new Error('KMS unavailable'));
      // Act / Assess
      await expect(step('createSecret')).rejects.toThrow('ThrottlingException');
      expect(outcome()).toEqual({ created: 1, deleted: [NEW_KEY.KeyId], recorded: undefined });
    });

    it('testSecret refused by KMS (authorization not there yet) fails the step; its retry uses the same key', async () => {
      // Prepare
      await step('createSecret');
      await step('setSecret');
      kms
        .on(GetPublicKeyCommand)
        .rejectsOnce(accessDenied())
        .resolves({ PublicKey: new Uint8Array(spki), KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
      // Act
      await expect(step('testSecret')).rejects.toThrow(/not authorized/);
      // Assess: nothing promoted, nothing deleted
      expect(state.stages[OLD]).toEqual(['AWSCURRENT']);
      expect(outcome()).toEqual({ created: 1, deleted: [], recorded: NEW_KEY.KeyId });

      // Act: the retry (and the rest of the rotation) goes through with the recorded key.
      await step('testSecret');
      await step('finishSecret');
      // Assess
      expect(state.stages[TOKEN]).toContain('AWSCURRENT');
      expect(outcome()).toEqual({ created: 1, deleted: ['prev-key'], recorded: NEW_KEY.KeyId });
      expect(kms).toHaveReceivedCommandWith(SignCommand, { KeyId: NEW_KEY.KeyId });
    });

    it('a whole rotation retried step by step after each step failed once makes exactly one key', async () => {
      // Prepare: every step fails once on its first AWS write or read of the new key.
      sm.on(PutSecretValueCommand).rejectsOnce(new Error('ThrottlingException'));
      // Act
      for (const s of ROTATION_STEPS) {
        if (s === 'testSecret') {
          kms
            .on(SignCommand)
            .rejectsOnce(accessDenied())
            .callsFake((input: { Message: Uint8Array }) => ({ Signature: kmsSign(input.Message) }));
        }
        await step(s).catch(() => {
          wireSecretsManager();
          return step(s);
        });
      }
      // Assess: the first key is being deleted, the second is AWSCURRENT
      expect(state.stages[TOKEN]).toContain('AWSCURRENT');
      expect(outcome()).toEqual({ created: 2, deleted: [NEW_KEY.KeyId, 'prev-key'], recorded: SECOND_KEY.KeyId });
    });
  });

  it('a failing testSecret leaves AWSCURRENT where it was', async () => {
    // Prepare: KMS signs with a different key than the one it publishes — the probe cannot verify.
    const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 });
    kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({
      Signature: privateEncrypt(
        { key: wrong.privateKey, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO, input.Message]),
      ),
    }));
    await step('createSecret');
    await step('setSecret');
    // Act
    const failure = await step('testSecret').catch((e: unknown) => e);
    // Assess
    expect(failure).toBeInstanceOf(RotationError);
    expect(sm).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(state.stages[OLD]).toEqual(['AWSCURRENT']);
    expect(state.stages[TOKEN]).toEqual(['AWSPENDING']);
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('checks DescribeSecret before any step', async () => {
    state.rotationEnabled = false;
    await expect(step('createSecret')).rejects.toThrow(/not enabled/);
    state.rotationEnabled = true;
    await expect(
      runRotationStep({ Step: 'createSecret', SecretId: SECRET, ClientRequestToken: 'nope' }, deps),
    ).rejects.toThrow(/no stage/);
    await expect(
      runRotationStep({ Step: 'createSecret', SecretId: SECRET, ClientRequestToken: PREV }, deps),
    ).rejects.toThrow(/not AWSPENDING/);
    // already AWSCURRENT: nothing to do, not even a read
    await runRotationStep({ Step: 'finishSecret', SecretId: SECRET, ClientRequestToken: OLD }, deps);
    expect(kms).not.toHaveReceivedAnyCommand();
    expect(sm).not.toHaveReceivedCommand(GetSecretValueCommand);
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
  });
});

describe('KMS signing-keys adapter', () => {
  const keys = () => new KmsSigningKeys(new KMSClient({ region: 'eu-central-1' }), APP_TAG);

  it('signs the SHA-256 digest of the signing input (MessageType DIGEST)', async () => {
    const input = Buffer.from('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0');
    const signature = await keys().sign('key-1', input);
    expect(kms).toHaveReceivedCommandExactlyOnceWith(SignCommand, {
      KeyId: 'key-1',
      MessageType: 'DIGEST',
      SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      Message: new Uint8Array(createHash('sha256').update(input).digest()),
    });
    const { verify } = await import('node:crypto');
    expect(verify('sha256', input, pair.publicKey, signature)).toBe(true);
  });

  it('turns GetPublicKey DER into an RS256 JWK with an RFC 7638 kid, fetched once', async () => {
    const { calculateJwkThumbprint } = await import('jose');
    const adapter = keys();
    const jwk = await adapter.publicJwk('key-1');
    await adapter.publicJwk('key-1');
    const expected = pair.publicKey.export({ format: 'jwk' });
    expect(jwk).toEqual({ kty: 'RSA', alg: 'RS256', use: 'sig', n: expected.n, e: expected.e, kid: jwk.kid });
    expect(jwk.kid).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: expected.n!, e: expected.e! }, 'sha256'));
    expect(kms).toHaveReceivedCommandTimes(GetPublicKeyCommand, 1);
  });

  it('refuses a key that is not RSA_2048 / SIGN_VERIFY, and does not cache the failure', async () => {
    kms
      .on(GetPublicKeyCommand)
      .resolvesOnce({ PublicKey: new Uint8Array(spki), KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY' })
      .resolves({ PublicKey: new Uint8Array(spki), KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    const adapter = keys();
    await expect(adapter.publicJwk('key-1')).rejects.toThrow(/RSA_2048/);
    await expect(adapter.publicJwk('key-1')).resolves.toMatchObject({ kty: 'RSA' });
  });

  it('reads SIGNING_KEY_ROLES strictly: role ARNs only', () => {
    expect(parseSigningKeyRoles(JSON.stringify(KEY_ROLES))).toEqual(KEY_ROLES);
    expect(() => parseSigningKeyRoles('{')).toThrow(/not valid JSON/);
    expect(() => parseSigningKeyRoles(JSON.stringify({ ...KEY_ROLES, sign: ['*'] }))).toThrow(/IAM role ARN/);
    expect(() => parseSigningKeyRoles(JSON.stringify({ rotation: KEY_ROLES.rotation }))).toThrow(/not valid/);
  });

  it('creates a key with KMS default policy when no roles are configured (the local tests, a bare adapter)', async () => {
    await new KmsSigningKeys(new KMSClient({ region: 'eu-central-1' }), APP_TAG).createKey(TOKEN);
    expect(kms.commandCalls(CreateKeyCommand)[0]!.args[0].input.Policy).toBeUndefined();
  });

  it('treats a key already pending deletion as scheduled', async () => {
    const { KMSInvalidStateException } = await import('@aws-sdk/client-kms');
    kms.on(ScheduleKeyDeletionCommand).rejects(new KMSInvalidStateException({ message: 'pending', $metadata: {} }));
    await expect(keys().scheduleDeletion('key-1', 7)).resolves.toBeUndefined();
    kms.on(ScheduleKeyDeletionCommand).rejects(new Error('AccessDenied'));
    await expect(keys().scheduleDeletion('key-1', 7)).rejects.toThrow('AccessDenied');
  });
});

describe('Secrets Manager adapter', () => {
  const secrets = () => new SecretsManagerSecrets(new SecretsManagerClient({ region: 'eu-central-1' }), SECRET);

  it('reads by stage and by version, and answers a missing one with undefined', async () => {
    await expect(secrets().getValue({ stage: 'AWSCURRENT' })).resolves.toEqual({
      versionId: OLD,
      value: value('old-key', OLD_KID),
      stages: ['AWSCURRENT'],
    });
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET, VersionStage: 'AWSCURRENT' });
    await expect(secrets().getValue({ versionId: TOKEN })).resolves.toBeUndefined();
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN });
  });

  it('puts values with stages and moves labels with MoveTo/RemoveFrom', async () => {
    await secrets().putValue(TOKEN, '{"keyId":"k"}', ['AWSPENDING']);
    expect(sm).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: SECRET,
      ClientRequestToken: TOKEN,
      SecretString: '{"keyId":"k"}',
      VersionStages: ['AWSPENDING'],
    });
    await secrets().updateStage('AWSCURRENT', TOKEN, OLD);
    expect(sm).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      SecretId: SECRET,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: TOKEN,
      RemoveFromVersionId: OLD,
    });
  });

  it('describes rotation state, stages and tags', async () => {
    sm.on(DescribeSecretCommand).resolves({
      RotationEnabled: true,
      VersionIdsToStages: { a: ['AWSCURRENT'] },
      Tags: [{ Key: TAG_CURRENT_SINCE, Value: '2026-01-01T00:00:00.000Z' }],
    });
    await expect(secrets().describe()).resolves.toEqual({
      rotationEnabled: true,
      versionStages: { a: ['AWSCURRENT'] },
      tags: { [TAG_CURRENT_SINCE]: '2026-01-01T00:00:00.000Z' },
    });
  });
});

describe('rotation handler (the Lambda)', () => {
  useAwsSigningAdapters();

  const invoke = (Step: RotationStep) =>
    rotationHandler({ Step, SecretId: SECRET, ClientRequestToken: TOKEN }, lambdaContext('rotate-keys', 60, 256));

  it('logs, counts and rethrows a failed step; AWSCURRENT stays put', async () => {
    // Prepare
    const added = vi.spyOn(metrics, 'addMetric');
    kms.on(CreateKeyCommand).rejects(new Error('LimitExceededException'));
    // Act
    await expect(invoke('createSecret')).rejects.toThrow('LimitExceededException');
    // Assess
    expect(added.mock.calls.map((c) => c[0])).toContain('SigningKeyRotationFailed');
    expect(state.stages[OLD]).toEqual(['AWSCURRENT']);
    expect(sm).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
  });

  it('runs all four steps through the AWS adapters and emits the key age', async () => {
    const added = vi.spyOn(metrics, 'addMetric');
    for (const s of ROTATION_STEPS) await invoke(s);
    expect(state.stages[TOKEN]).toContain('AWSCURRENT');
    const names = added.mock.calls.map((c) => c[0]);
    expect(names).toContain('SigningKeyRotationSucceeded');
    expect(names).toContain('SigningKeyAgeSeconds');
    expect(names).not.toContain('SigningKeyRotationFailed');
  });

  it("names the roles CDK set in SIGNING_KEY_ROLES in the new key's policy", async () => {
    // Prepare: as lib/constructs/signing-keys.ts sets it on the rotation function.
    vi.stubEnv('SIGNING_KEY_ROLES', JSON.stringify(KEY_ROLES));
    resetConfig();
    resetSigningAdapters();
    // Act
    await invoke('createSecret');
    // Assess
    const policy = kms.commandCalls(CreateKeyCommand)[0]!.args[0].input.Policy;
    for (const role of [KEY_ROLES.rotation, ...KEY_ROLES.sign, ...KEY_ROLES.verify]) expect(policy).toContain(role);
  });
});

describe('POST /admin/keys/rotate in AWS (the keys function)', () => {
  useAwsSigningAdapters();

  it('names the caller on the secret, starts RotateSecret with its own token and answers 202 with the documented shape', async () => {
    // Prepare: no AWSPENDING left over from an earlier rotation.
    delete state.stages[TOKEN];
    const admin = userWith(['admin'], 'key-admin');

    // Act
    const res = await callHandler('keys', { resource: '/admin/keys/rotate', method: 'POST', user: admin });

    // Assess: { status, rotationId } (no kid yet: Secrets Manager runs the steps after the answer)
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'rotation-started', rotationId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const rotationId = res.json.rotationId as string;
    expect(sm).toHaveReceivedCommandWith(RotateSecretCommand, {
      SecretId: SECRET,
      ClientRequestToken: rotationId,
      RotateImmediately: true,
    });
    expect(sm).toHaveReceivedCommandWith(TagResourceCommand, {
      SecretId: SECRET,
      Tags: [{ Key: TAG_ROTATION_REQUESTED_BY, Value: expect.any(String) }],
    });
    const calls = sm.calls().map((c) => c.args[0].constructor.name);
    expect(calls.indexOf('TagResourceCommand')).toBeLessThan(calls.indexOf('RotateSecretCommand'));

    // ... and the rotation Secrets Manager then runs puts the caller on the audit trail.
    for (const Step of ROTATION_STEPS) {
      await rotationHandler(
        { Step, SecretId: SECRET, ClientRequestToken: rotationId },
        lambdaContext('rotate-keys', 60, 256),
      );
    }
    expect(state.stages[rotationId]).toContain('AWSCURRENT');
    expect(auditRecords()).toHaveLength(1);
    expect(auditRecords()[0]).toMatchObject({
      action: 'key.rotation',
      actor: { userId: admin.userId, username: 'key-admin' },
      requestId: rotationId,
      changes: { current: { from: OLD_KID, to: publicKeyToJwk(pair.publicKey).kid } },
    });
  });
});
