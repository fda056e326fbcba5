import type { CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionId } from '#platform/routes';
import { synthesize, type SynthesizedApp } from './helpers';

let built: SynthesizedApp;
let template: Template;

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- CloudFormation JSON
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  built.api.getLogicalId(construct.node.defaultChild as CfnElement);
const roleId = (functionId: FunctionId) => logicalId(built.api.fn(functionId).serviceRole);
function statementsOf(functionId: FunctionId): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId(functionId) }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

beforeAll(() => {
  // The real app with cdk-nag: synthesis throws on an unacknowledged finding.
  // Templates only: no esbuild bundling (the bundles are test/cdk/api-stack.test.ts's).
  built = synthesize('dev', { 'aws:cdk:bundling-stacks': [] });
  template = built.apiTemplate;
}, 180_000);
afterAll(() => built?.cleanup());

describe('audit digests', () => {
  it('the bucket has Object Lock in compliance mode for 10 years, versioning, TLS only and no public access', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 3650 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it('its bucket policy denies every principal DeleteObject: no delete marker can hide the newest digest', () => {
    const bucketId = logicalId(built.api.auditDigests.bucket);
    const policies = Object.values(
      template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: bucketId } } }),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      }),
    );
  });

  it('the signing key is ECC_NIST_P256; its policy denies kms:Sign to every principal but the digest function', () => {
    const key = template.findResources('AWS::KMS::Key')[logicalId(built.api.auditDigests.signingKey)]!;
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const deny = (key.Properties.KeyPolicy.Statement as Statement[]).find(
      (s) => s.Effect === 'Deny' && actions(s).includes('kms:Sign'),
    );
    expect(deny?.Condition.ArnNotEquals['aws:PrincipalArn']).toEqual([
      { 'Fn::GetAtt': [roleId('audit-digest'), 'Arn'] },
    ]);
    const signers = (Object.keys(FUNCTIONS) as FunctionId[]).filter((id) =>
      statementsOf(id).some(
        (s) =>
          actions(s).includes('kms:Sign') &&
          JSON.stringify(s.Resource).includes(logicalId(built.api.auditDigests.signingKey)),
      ),
    );
    expect(signers).toEqual(['audit-digest']);
  });

  it('only the digest function may put objects; the audit-verify function reads them, the audit function not', () => {
    const writers = (Object.keys(FUNCTIONS) as FunctionId[]).filter((id) =>
      statementsOf(id).some(
        (s) =>
          actions(s).includes('s3:PutObject') &&
          JSON.stringify(s.Resource).includes(logicalId(built.api.auditDigests.bucket)),
      ),
    );
    expect(writers).toEqual(['audit-digest']);
    expect(statementsOf('audit-verify').some((s) => actions(s).includes('s3:GetObject'))).toBe(true);
    expect(statementsOf('audit').some((s) => actions(s).some((a) => a.startsWith('s3:')))).toBe(false);
  });

  it('EventBridge Scheduler invokes the digest function every 15 minutes', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      Target: Match.objectLike({
        Arn: Match.anyValue(),
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 3 }),
      }),
    });
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    expect(JSON.stringify(schedules)).toContain(logicalId(built.api.fn('audit-digest')));
  });
});
