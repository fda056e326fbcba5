import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, functionDefinition, type FunctionId } from '#platform/routes';
import { synthesize, type SynthesizedApp } from './helpers';

let built: SynthesizedApp;
let template: Template;

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- CloudFormation JSON
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  built.api.getLogicalId(construct.node.defaultChild as CfnElement);
const roleId = (functionId: FunctionId) => logicalId(built.api.fn(functionId).serviceRole);

function statementsOf(functionId: FunctionId): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId(functionId) }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const functionIds = Object.keys(FUNCTIONS) as FunctionId[];
const withAccess = (access: string) => functionIds.filter((id) => functionDefinition(id).attribution === access).sort();

beforeAll(() => {
  // The real app with cdk-nag: synthesis throws on an unacknowledged finding.
  // Templates only: no esbuild bundling (the bundles are test/cdk/api-stack.test.ts's).
  built = synthesize('dev', { 'aws:cdk:bundling-stacks': [] });
  template = built.apiTemplate;
}, 180_000);
afterAll(() => built?.cleanup());

describe('attribution key', () => {
  it('is an HMAC_256 GENERATE_VERIFY_MAC key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
  });

  it('only the writing functions may GenerateMac and only the audit stream may VerifyMac (role policies)', () => {
    const keyArn = { 'Fn::GetAtt': [logicalId(built.api.attributionKey.key), 'Arn'] };
    const granted = (action: string) =>
      functionIds.filter((id) =>
        statementsOf(id).some(
          (s) => actions(s).includes(action) && JSON.stringify(s.Resource) === JSON.stringify(keyArn),
        ),
      );
    expect(granted('kms:GenerateMac').sort()).toEqual(withAccess('mac'));
    expect(withAccess('mac')).toEqual([
      'analytics',
      'auth',
      'authorizer',
      'charges',
      'password-reset',
      'reports',
      'service-accounts',
      'users',
    ]);
    expect(granted('kms:VerifyMac')).toEqual(['audit-stream']);
    // No function has a wildcard that would reach the key's MAC actions.
    for (const id of functionIds) {
      for (const s of statementsOf(id)) expect(actions(s).some((a) => a === 'kms:*' || a === '*')).toBe(false);
    }
  });

  it('the key policy denies GenerateMac and VerifyMac to every other principal, administrators included', () => {
    const key = Object.values(template.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'HMAC_256' } }))[0]!;
    const statements = key.Properties.KeyPolicy.Statement as Statement[];
    const deny = (action: string) => statements.find((s) => s.Effect === 'Deny' && actions(s).includes(action));
    const principals = (s: Statement | undefined) =>
      (s?.Condition.ArnNotEquals['aws:PrincipalArn'] as { 'Fn::GetAtt': [string, string] }[])
        .map((a) => a['Fn::GetAtt'][0])
        .sort();
    expect(principals(deny('kms:GenerateMac'))).toEqual(withAccess('mac').map(roleId).sort());
    expect(principals(deny('kms:VerifyMac'))).toEqual([roleId('audit-stream')]);
  });

  it('the functions learn the key from ATTRIBUTION_KEY_ID', () => {
    for (const id of [...withAccess('mac'), ...withAccess('verify')]) {
      const fn = template.findResources('AWS::Lambda::Function')[logicalId(built.api.fn(id))]!;
      expect(fn.Properties.Environment.Variables.ATTRIBUTION_KEY_ID, id).toEqual({
        'Fn::GetAtt': [logicalId(built.api.attributionKey.key), 'Arn'],
      });
    }
    const audit = template.findResources('AWS::Lambda::Function')[logicalId(built.api.fn('audit'))]!;
    expect(audit.Properties.Environment.Variables.ATTRIBUTION_KEY_ID).toBeUndefined();
  });
});
