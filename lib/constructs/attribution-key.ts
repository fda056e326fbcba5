import { Duration, Lazy, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, type IGrantable, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { AttributionAccess } from '#platform/routes';

/** A function that uses the attribution key: it gets the grant and ATTRIBUTION_KEY_ID in one call. */
export type AttributionKeyUser = IGrantable & { role?: IRole; addEnvironment(key: string, value: string): unknown };

export interface AttributionKeyProps {
  readonly removalPolicy: RemovalPolicy;
  readonly keyPendingWindow?: Duration;
}

/**
 * The attribution key (HMAC_256, GENERATE_VERIFY_MAC). Its key policy, not only the roles' policies, decides who
 * may use it: an explicit Deny of kms:GenerateMac to every principal but the writing functions' roles, and of
 * kms:VerifyMac to every principal but the audit stream function's — so an administrator with table access and
 * IAM rights still cannot mint a MAC without first changing this policy (which CloudTrail records).
 */
export class AttributionKey extends Construct {
  readonly key: Key;
  private readonly roles: Record<AttributionAccess, IRole[]> = { mac: [], verify: [] };

  constructor(scope: Construct, id: string, props: AttributionKeyProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      keySpec: KeySpec.HMAC_256,
      keyUsage: KeyUsage.GENERATE_VERIFY_MAC,
      description: 'Charge Records: attribution MAC of every change made through the API',
      removalPolicy: props.removalPolicy,
      pendingWindow: props.keyPendingWindow ?? Duration.days(30),
    });
    Validations.of(this.key).acknowledge({
      id: 'AwsSolutions-KMS5',
      reason: 'KMS rotates only symmetric encryption keys automatically; an HMAC key cannot have key rotation enabled.',
    });
    for (const [access, action] of [
      ['mac', 'kms:GenerateMac'],
      ['verify', 'kms:VerifyMac'],
    ] as const) {
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid: access === 'mac' ? 'OnlyTheWritingFunctionsGenerateMacs' : 'OnlyTheAuditStreamVerifiesMacs',
          effect: Effect.DENY,
          principals: [new AnyPrincipal()],
          actions: [action],
          resources: ['*'],
          conditions: {
            // The granted roles, known once every function has been granted.
            ArnNotEquals: {
              'aws:PrincipalArn': Lazy.list({ produce: () => this.roles[access].map((role) => role.roleArn) }),
            },
          },
        }),
      );
    }
  }

  /** Lets `fn` stamp (`mac`) or check (`verify`) changes, and tells it the key. */
  grant(fn: AttributionKeyUser, access: AttributionAccess): void {
    if (!fn.role) throw new Error('AttributionKey: a function without a role cannot be granted the key');
    this.roles[access].push(fn.role);
    fn.addEnvironment('ATTRIBUTION_KEY_ID', this.key.keyArn);
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [access === 'mac' ? 'kms:GenerateMac' : 'kms:VerifyMac'],
        resources: [this.key.keyArn],
      }),
    );
  }
}
