import type { CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionDefinition, type FunctionId } from '#platform/routes';
import { TABLE_ACTIONS, TABLE_KEY_ACTIONS } from '#lib/constructs/app-function';
import { TABLES, type TableId } from '#platform/tables';
import { TAG_CURRENT_SINCE, TAG_ROTATION_REQUESTED_BY, TAG_ROTATION_TOKEN, TAG_SIGNING_KEY } from '#signing/ports';
import { synthesize, type SynthesizedApp } from './helpers';

let built: SynthesizedApp;
let template: Template;
const APP_TAG = 'charge-records-dev';

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
};
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  built.api.getLogicalId(construct.node.defaultChild as CfnElement);

function statementsOf(functionId: FunctionId): Statement[] {
  const roleId = logicalId(built.api.fn(functionId).serviceRole);
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const withAction = (functionId: FunctionId, action: string) =>
  statementsOf(functionId).filter((s) => actions(s).includes(action));
const keyArnPattern = {
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':kms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':key/*'],
  ],
};
const taggedOnly = { StringEquals: { [`aws:ResourceTag/${TAG_SIGNING_KEY}`]: APP_TAG } };
const SHAPE = { 'kms:KeySpec': 'RSA_2048', 'kms:KeyUsage': 'SIGN_VERIFY' };
/** The rotation role's key statements: tagged for this app AND of the signing-key shape. */
const taggedSigningKey = { StringEquals: { ...SHAPE, [`aws:ResourceTag/${TAG_SIGNING_KEY}`]: APP_TAG } };
/** The data stack's logical id of a table, as it appears (inside an import) in the API stack's policies. */
const tableLogicalId = (tableId: TableId) =>
  built.data.getLogicalId(built.data.tables[tableId].node.defaultChild as CfnElement);
const tableKeyLogicalId = () => built.data.getLogicalId(built.data.tableKey.node.defaultChild as CfnElement);

beforeAll(() => {
  // The real app with cdk-nag: synthesis throws on an unacknowledged finding.
  // Templates only: no esbuild bundling (the bundles are test/cdk/api-stack.test.ts's).
  built = synthesize('dev', { 'aws:cdk:bundling-stacks': [] });
  template = built.apiTemplate;
}, 180_000);

afterAll(() => built?.cleanup());

describe('signing keys construct', () => {
  it('creates the initial RSA_2048 SIGN_VERIFY key, tagged for this app', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'RSA_2048',
      KeyUsage: 'SIGN_VERIFY',
      Tags: Match.arrayWith([{ Key: TAG_SIGNING_KEY, Value: APP_TAG }]),
    });
  });

  it("stores a secret naming the key, rotated every 30 days by the rotate-keys function, invoked only for this account's secrets", () => {
    const keyId = logicalId(built.api.signingKeys.initialKey);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: {
        'Fn::Join': ['', ['{"keyId":"', { Ref: keyId }, '","keyArn":"', { 'Fn::GetAtt': [keyId, 'Arn'] }, '"}']],
      },
    });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: logicalId(built.api.signingKeys.secret) },
      RotationLambdaARN: { 'Fn::GetAtt': [logicalId(built.api.fn('rotate-keys')), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [logicalId(built.api.fn('rotate-keys')), 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      // Confused-deputy guard: only this account's secrets may have Secrets Manager invoke it.
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
    // And no other Secrets Manager permission without it.
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'secretsmanager.amazonaws.com' } }),
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.Properties.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
  });

  it('lets the rotation function create keys only with the right spec, usage and tag', () => {
    const [create, ...more] = withAction('rotate-keys', 'kms:CreateKey');
    expect(more).toHaveLength(0);
    expect(actions(create!)).toEqual(['kms:CreateKey']);
    expect(create!.Condition).toEqual({
      StringEquals: {
        'kms:KeySpec': 'RSA_2048',
        'kms:KeyUsage': 'SIGN_VERIFY',
        [`aws:RequestTag/${TAG_SIGNING_KEY}`]: APP_TAG,
      },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_SIGNING_KEY, TAG_ROTATION_TOKEN] },
    });
    const [tag, ...moreTags] = withAction('rotate-keys', 'kms:TagResource').filter((st) => st.Effect === 'Allow');
    expect(moreTags).toHaveLength(0);
    expect(tag!.Condition).toEqual({
      StringEquals: { ...SHAPE, [`aws:RequestTag/${TAG_SIGNING_KEY}`]: APP_TAG },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_SIGNING_KEY, TAG_ROTATION_TOKEN] },
    });
  });

  it("limits every rotation-role key action to RSA_2048 SIGN_VERIFY keys, so a tag cannot make another key 'ours'", () => {
    for (const action of ['kms:TagResource', 'kms:ScheduleKeyDeletion', 'kms:Sign', 'kms:GetPublicKey']) {
      const allows = withAction('rotate-keys', action).filter((st) => st.Effect === 'Allow');
      expect(allows.length, action).toBeGreaterThan(0);
      for (const st of allows) {
        expect(st.Resource, action).toEqual(keyArnPattern);
        expect((st.Condition?.StringEquals as Record<string, string>) ?? {}, action).toMatchObject(SHAPE);
      }
    }
    expect(withAction('rotate-keys', 'kms:Sign').find((st) => st.Effect === 'Allow')!.Condition).toEqual(
      taggedSigningKey,
    );
  });

  it("explicitly denies the rotation role deletion, tagging and signing on the app's non-signing keys", () => {
    const denies = statementsOf('rotate-keys').filter((st) => st.Effect === 'Deny');
    expect(denies).toHaveLength(1);
    const [deny] = denies;
    expect(actions(deny!).sort()).toEqual(['kms:ScheduleKeyDeletion', 'kms:Sign', 'kms:TagResource']);
    const resources = JSON.stringify(deny!.Resource);
    // The table key comes from the data stack (an import), the others are in this stack.
    expect(resources).toContain(tableKeyLogicalId());
    for (const key of [built.api.reports.key, built.api.auditTrail.encryptionKey, built.observability.topicKey]) {
      expect(resources).toContain(built.api.getLogicalId(key.node.defaultChild as CfnElement));
    }
    // Never the signing keys themselves.
    expect(resources).not.toContain(logicalId(built.api.signingKeys.initialKey));
    expect(resources).not.toContain(':key/*');
  });

  it('never lists or reads the tags of KMS keys: a retried rotation finds its key through the secret version', () => {
    for (const action of ['kms:ListKeys', 'kms:ListResourceTags'])
      expect(withAction('rotate-keys', action)).toEqual([]);
  });

  it('tells the rotation function which roles a new key must name in its key policy (SIGNING_KEY_ROLES)', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(built.api.fn('rotate-keys'))]!;
    const rendered = JSON.stringify(fn.Properties.Environment.Variables.SIGNING_KEY_ROLES);
    const roleArn = (functionId: FunctionId) =>
      JSON.stringify({ 'Fn::GetAtt': [logicalId(built.api.fn(functionId).serviceRole), 'Arn'] });
    expect(rendered).toContain(roleArn('rotate-keys'));
    for (const [functionId, definition] of Object.entries(FUNCTIONS) as [FunctionId, FunctionDefinition][]) {
      if (definition.signingKeys) expect(rendered, functionId).toContain(roleArn(functionId));
      else if (functionId !== 'rotate-keys') expect(rendered, functionId).not.toContain(roleArn(functionId));
    }
  });

  it('lets the rotation function schedule deletion only of tagged keys, with at least 7 days', () => {
    const [del, ...more] = withAction('rotate-keys', 'kms:ScheduleKeyDeletion').filter((st) => st.Effect === 'Allow');
    expect(more).toHaveLength(0);
    expect(del!.Resource).toEqual(keyArnPattern);
    expect(del!.Condition).toEqual({
      ...taggedSigningKey,
      NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 7 },
    });
    const [tagSecret] = withAction('rotate-keys', 'secretsmanager:TagResource');
    expect(tagSecret!.Condition).toEqual({ 'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_CURRENT_SINCE] } });
  });

  const ATTRIBUTION_ACTIONS = ['kms:GenerateMac', 'kms:VerifyMac'];
  it('gives minting functions only kms:Sign and kms:GetPublicKey on tagged keys; verifiers only GetPublicKey', () => {
    const users = Object.entries(FUNCTIONS) as [FunctionId, FunctionDefinition][];
    const signers = users.filter(([, d]) => d.signingKeys === 'sign').map(([id]) => id);
    // `rotate` (the keys function behind the public JWKS route) only starts rotations: no kms:Sign.
    const verifiers = users
      .filter(([, d]) => d.signingKeys === 'verify' || d.signingKeys === 'rotate')
      .map(([id]) => id);
    // auth and auth-sso mint for people, service-accounts for machine identities (client credentials).
    expect(signers).toEqual(['auth', 'auth-sso', 'service-accounts']);
    expect(verifiers).toContain('authorizer');
    expect(verifiers).toContain('keys');
    for (const id of [...signers, ...verifiers]) {
      const kmsStatements = statementsOf(id).filter((s) =>
        actions(s).some(
          (a) =>
            a.startsWith('kms:') &&
            a !== 'kms:Decrypt' &&
            a !== 'kms:DescribeKey' &&
            a !== 'kms:Encrypt' &&
            a !== 'kms:GenerateDataKey' &&
            // The attribution key's MAC rights (test/cdk/attribution-key.test.ts), not the signing keys'.
            !ATTRIBUTION_ACTIONS.includes(a),
        ),
      );
      const kmsActions = kmsStatements
        .flatMap(actions)
        .filter((a) => a.startsWith('kms:') && !ATTRIBUTION_ACTIONS.includes(a))
        .sort();
      expect(kmsActions).toEqual(signers.includes(id) ? ['kms:GetPublicKey', 'kms:Sign'] : ['kms:GetPublicKey']);
      for (const s of kmsStatements) {
        expect(s.Resource).toEqual(keyArnPattern);
        expect(s.Condition).toEqual(taggedOnly);
      }
      const env = template.findResources('AWS::Lambda::Function', {
        Properties: {
          Environment: { Variables: { SIGNING_SECRET_ID: { Ref: logicalId(built.api.signingKeys.secret) } } },
        },
      });
      expect(Object.keys(env)).toContain(logicalId(built.api.fn(id)));
    }
    // No other function touches the signing keys.
    for (const [id, d] of users) {
      if (d.signingKeys || id === 'rotate-keys') continue;
      // Other keys may be theirs (the audit digest key's public half for the verify route): not the signing keys.
      const onSigningKeys = (statement: { Resource?: unknown; Condition?: unknown }) =>
        JSON.stringify(statement.Resource) === JSON.stringify(keyArnPattern) ||
        JSON.stringify(statement.Condition) === JSON.stringify(taggedOnly);
      expect(withAction(id, 'kms:Sign').filter(onSigningKeys)).toHaveLength(0);
      expect(withAction(id, 'kms:GetPublicKey').filter(onSigningKeys)).toHaveLength(0);
    }
  });

  it('lets the rotation function append to the audit trail (key.rotation) and touch no other table', () => {
    // Prepare
    const statements = statementsOf('rotate-keys').filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
    const auditTable = tableLogicalId('audit');

    // Assess: exactly the append grant, on the audit table and its indexes only
    expect(FUNCTIONS['rotate-keys'].tables).toEqual({ audit: 'append' });
    expect(statements).toHaveLength(1);
    const [grant] = statements;
    expect(actions(grant!).sort()).toEqual([...TABLE_ACTIONS.append].sort());
    const resources = (Array.isArray(grant!.Resource) ? grant!.Resource : [grant!.Resource]).map((r) =>
      JSON.stringify(r),
    );
    expect(resources).toHaveLength(1 + TABLES.audit.indexes.length);
    for (const resource of resources) expect(resource).toContain(auditTable);
    for (const index of TABLES.audit.indexes)
      expect(resources.some((r) => r.includes(`/index/${index.indexName}`))).toBe(true);
    for (const forbidden of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(actions(grant!)).not.toContain(forbidden);
    }
    for (const other of ['charges', 'users', 'auth-state', 'reports'] as const) {
      expect(JSON.stringify(statementsOf('rotate-keys'))).not.toContain(tableLogicalId(other));
    }
    // The table's customer-managed key only through DynamoDB.
    // (The explicit Deny on the table key is checked above.)
    const onKey = statementsOf('rotate-keys').filter(
      (s) => s.Effect === 'Allow' && JSON.stringify(s.Resource).includes(tableKeyLogicalId()),
    );
    expect(onKey).toHaveLength(1);
    expect(actions(onKey[0]!).sort()).toEqual([...TABLE_KEY_ACTIONS.append].sort());
    expect(JSON.stringify(onKey[0]!.Condition)).toMatch(/"kms:ViaService":.*dynamodb\./);
    // And the env var the writer reads.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: FUNCTIONS['rotate-keys'].description,
      Environment: { Variables: Match.objectLike({ [TABLES.audit.envVar]: Match.anyValue() }) },
    });
  });

  it('lets the keys function tag the secret only with the rotation requester tag', () => {
    const tagging = withAction('keys', 'secretsmanager:TagResource');
    expect(tagging).toHaveLength(1);
    expect(actions(tagging[0]!)).toEqual(['secretsmanager:TagResource']);
    expect(tagging[0]!.Resource).toEqual({ Ref: logicalId(built.api.signingKeys.secret) });
    expect(tagging[0]!.Condition).toEqual({
      'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_ROTATION_REQUESTED_BY] },
    });
    // Nobody else may set it: the rotation function only records when AWSCURRENT moved.
    const taggers = (Object.keys(FUNCTIONS) as FunctionId[]).filter(
      (id) => withAction(id, 'secretsmanager:TagResource').length > 0,
    );
    expect(taggers.sort()).toEqual(['keys', 'rotate-keys']);
  });

  it('gives the keys function (public JWKS route) GetPublicKey and what RotateSecret needs, never kms:Sign', () => {
    expect(withAction('keys', 'kms:Sign')).toHaveLength(0);
    const kms = statementsOf('keys')
      .flatMap(actions)
      .filter((a) => a.startsWith('kms:'));
    expect(kms).toEqual(['kms:GetPublicKey']);
    // RotateSecret requires the caller to be allowed to invoke the rotation function: that one function only.
    const invoke = withAction('keys', 'lambda:InvokeFunction');
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.Resource).toEqual({ 'Fn::GetAtt': [logicalId(built.api.fn('rotate-keys')), 'Arn'] });
    expect(withAction('keys', 'secretsmanager:RotateSecret')).toHaveLength(1);
    expect(withAction('keys', 'secretsmanager:GetSecretValue')).toHaveLength(1);
  });

  it('lets only the keys function start a rotation', () => {
    const rotators = (Object.keys(FUNCTIONS) as FunctionId[]).filter(
      (id) => withAction(id, 'secretsmanager:RotateSecret').length > 0,
    );
    expect(rotators).toEqual(['keys']);
    expect(withAction('keys', 'secretsmanager:RotateSecret')[0]!.Resource).toEqual({
      Ref: logicalId(built.api.signingKeys.secret),
    });
  });
});

describe('table access is what each function really calls (least privilege)', () => {
  const TABLE_IDS = Object.keys(TABLES) as TableId[];
  /** The tables on which `functionId` has `action` (statements may list several tables). */
  const tablesWith = (functionId: FunctionId, action: string) =>
    TABLE_IDS.filter((tableId) =>
      withAction(functionId, action).some(
        (st) => st.Effect === 'Allow' && JSON.stringify(st.Resource).includes(tableLogicalId(tableId)),
      ),
    );
  const everyFunction = Object.keys(FUNCTIONS) as FunctionId[];
  const holders = (action: string) =>
    everyFunction.flatMap((id) => tablesWith(id, action).map((tableId) => `${id} → ${tableId}`)).sort();

  it('gives the charges function no DeleteItem, BatchWriteItem or Scan on charges (soft delete only)', () => {
    // users, auth-state and audit: the signature on a QA decision is checked under the lockout rules (a wrong one
    // counts as a failed login and is a security event; a ticket or recovery code is spent) — by update, never delete.
    expect(FUNCTIONS.charges.tables).toEqual({
      charges: 'write',
      users: 'write',
      'auth-state': 'write',
      audit: 'append',
    });
    for (const action of ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan']) {
      expect(tablesWith('charges', action), action).toEqual([]);
    }
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:GetItem']) {
      expect(tablesWith('charges', action), action).toContain('charges');
    }
  });

  it('gives the authorizer only BatchGetItem/GetItem/UpdateItem on auth-state: no Put, Delete or Scan', () => {
    for (const action of ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:BatchWriteItem']) {
      expect(tablesWith('authorizer', action), action).not.toContain('auth-state');
    }
    for (const action of ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem']) {
      expect(tablesWith('authorizer', action), action).toContain('auth-state');
    }
    // Its only PutItem is the attribute-limited first-sign-in user (lib/api-stack.ts).
    const puts = withAction('authorizer', 'dynamodb:PutItem');
    expect(puts).toHaveLength(1);
    expect(puts[0]!.Condition).toHaveProperty(['ForAllValues:StringEquals', 'dynamodb:Attributes']);
  });

  it('allows Scan only where the code scans: metrics on auth-state (data gauges), users on users (admin count)', () => {
    expect(holders('dynamodb:Scan')).toEqual(['metrics → auth-state', 'users → users']);
  });

  it('allows DeleteItem only where the code hard-deletes, and BatchWriteItem nowhere', () => {
    // analytics: dashboards are deleted; reports: definitions; users: unlock.
    expect(holders('dynamodb:DeleteItem')).toEqual([
      'analytics → dashboards',
      'reports → reports',
      'users → auth-state',
    ]);
    expect(holders('dynamodb:BatchWriteItem')).toEqual([]);
    for (const access of Object.values(TABLE_ACTIONS)) expect(access).not.toContain('dynamodb:BatchWriteItem');
  });
});
