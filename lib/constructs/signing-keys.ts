import { Duration, type RemovalPolicy, SecretValue, Stack, Tags, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SigningKeyAccess } from '../../functions/shared/routes';
import {
  TAG_CURRENT_SINCE,
  TAG_ROTATION_REQUESTED_BY,
  TAG_ROTATION_TOKEN,
  TAG_SIGNING_KEY,
} from '../../functions/shared/signing/ports';

/** A function that uses the signing keys: it gets the grants and the env vars in one call. */
export type SigningKeyUser = IFunction & IGrantable & { addEnvironment(key: string, value: string): unknown };

export interface SigningKeysProps {
  /** Value of the `charge-records:signing-key` tag: IAM lets functions touch only keys carrying it. */
  readonly appTag: string;
  /** The `rotate-keys` function (functions/rotate-keys/handler.ts). */
  readonly rotationFunction: SigningKeyUser;
  /** Default 30 days (SPEC §2). */
  readonly rotateEvery?: Duration;
  readonly removalPolicy: RemovalPolicy;
  /** Pending window of the initial key when the stack removes it. */
  readonly keyPendingWindow?: Duration;
}

/**
 * The access-token signing keys of SPEC §2/§5: an initial KMS key (RSA_2048, SIGN_VERIFY), a Secrets
 * Manager secret that names the current key, and its 30-day rotation by the rotate-keys function, which
 * creates a new KMS key per generation.
 *
 * IAM is least privilege, pinned by tags instead of key ARNs (keys made by rotation do not exist at
 * deploy time): every key of this deployment carries `charge-records:signing-key = <appTag>`, and
 * - the rotation function may create keys only with KeySpec RSA_2048, KeyUsage SIGN_VERIFY and that tag
 *   in the request, tag only with our two tag keys, and schedule deletion (≥ 7 days) only of tagged keys;
 * - token-minting functions may only kms:Sign and kms:GetPublicKey, on tagged keys;
 * - verifying functions only kms:GetPublicKey; all of them read only this one secret;
 * - the function that starts rotations may tag the secret only with the requester tag, which finishSecret
 *   reads to name the caller on the audit trail.
 *
 * The rotation function's audit append right (finishSecret records `key.rotation`) comes, like every other
 * table grant, from its `tables` entry in FUNCTIONS (`audit: 'append'`: PutItem on new keys, never Update/Delete).
 */
export class SigningKeys extends Construct {
  readonly initialKey: Key;
  readonly secret: Secret;
  readonly appTag: string;
  readonly rotationFunction: SigningKeyUser;
  private readonly keyArnPattern: string;

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    this.appTag = props.appTag;
    this.rotationFunction = props.rotationFunction;
    const stack = Stack.of(this);
    this.keyArnPattern = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });

    this.initialKey = new Key(this, 'InitialKey', {
      keySpec: KeySpec.RSA_2048,
      keyUsage: KeyUsage.SIGN_VERIFY,
      description: `${props.appTag} access-token signing key (initial; rotation replaces it)`,
      removalPolicy: props.removalPolicy,
      pendingWindow: props.keyPendingWindow ?? Duration.days(7),
    });
    Tags.of(this.initialKey).add(TAG_SIGNING_KEY, props.appTag);

    // The value names the key, it holds no key material; kid and createdAt come with the first rotation.
    this.secret = new Secret(this, 'Secret', {
      description: `${props.appTag}: names the KMS key that signs access tokens (AWSCURRENT/AWSPENDING/AWSPREVIOUS)`,
      secretStringValue: SecretValue.unsafePlainText(
        stack.toJsonString({ keyId: this.initialKey.keyId, keyArn: this.initialKey.keyArn }),
      ),
      removalPolicy: props.removalPolicy,
    });

    // Grants the rotation function DescribeSecret/GetSecretValue/PutSecretValue/UpdateSecretVersionStage on
    // this secret and lets Secrets Manager invoke it.
    this.secret.addRotationSchedule('Rotation', {
      rotationLambda: props.rotationFunction,
      automaticallyAfter: props.rotateEvery ?? Duration.days(30),
    });
    this.grantRotation(props.rotationFunction);
  }

  private tagged(): Record<string, Record<string, string>> {
    return { StringEquals: { [`aws:ResourceTag/${TAG_SIGNING_KEY}`]: this.appTag } };
  }

  private bindEnvironment(fn: SigningKeyUser): void {
    fn.addEnvironment('SIGNING_SECRET_ID', this.secret.secretArn);
    fn.addEnvironment('SIGNING_KEY_TAG', this.appTag);
  }

  /** The rotation function: create, tag, test and retire keys. */
  private grantRotation(fn: SigningKeyUser): void {
    this.bindEnvironment(fn);
    const role = fn.grantPrincipal;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'CreateOnlyRsaSigningKeysTaggedForThisApp',
        actions: ['kms:CreateKey'],
        resources: ['*'], // CreateKey has no resource: the conditions are the restriction
        conditions: {
          StringEquals: {
            'kms:KeySpec': 'RSA_2048',
            'kms:KeyUsage': 'SIGN_VERIFY',
            [`aws:RequestTag/${TAG_SIGNING_KEY}`]: this.appTag,
          },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_SIGNING_KEY, TAG_ROTATION_TOKEN] },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'TagNewKeysOnlyWithOurTags',
        actions: ['kms:TagResource'],
        resources: [this.keyArnPattern],
        conditions: {
          StringEquals: { [`aws:RequestTag/${TAG_SIGNING_KEY}`]: this.appTag },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_SIGNING_KEY, TAG_ROTATION_TOKEN] },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'RetireOnlyOurKeys',
        actions: ['kms:ScheduleKeyDeletion'],
        resources: [this.keyArnPattern],
        conditions: {
          ...this.tagged(),
          NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 7 },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ProbeAndFindOurKeys',
        actions: ['kms:Sign', 'kms:GetPublicKey', 'kms:ListResourceTags'],
        resources: [this.keyArnPattern],
        conditions: this.tagged(),
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ListKeysToFindARetriedRotationsKey',
        actions: ['kms:ListKeys'],
        resources: ['*'], // ListKeys supports no resource-level permissions
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'RecordWhenCurrentMoved',
        actions: ['secretsmanager:TagResource'],
        resources: [this.secret.secretArn],
        conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_CURRENT_SINCE] } },
      }),
    );
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Secrets Manager invokes the rotation function itself, sees every failure and retries the rotation.',
    });
    Validations.of(role as unknown as Construct).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'kms:CreateKey and kms:ListKeys have no resource-level permissions; CreateKey is limited by KeySpec, KeyUsage and request-tag conditions. (Secrets Manager rotation also adds GetRandomPassword.)',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]`,
        reason: 'Keys made by rotation do not exist at deploy time; access is limited to keys tagged for this app (aws:ResourceTag).',
      },
    );
  }

  /**
   * Grants a function use of the signing keys and sets SIGNING_SECRET_ID / SIGNING_KEY_TAG:
   * `verify` reads the secret and public keys, `sign` may also kms:Sign, `rotate` may also start a rotation
   * (and name the requester on the secret with the one tag key finishSecret reads).
   */
  grant(fn: SigningKeyUser, access: SigningKeyAccess): void {
    this.bindEnvironment(fn);
    this.secret.grantRead(fn);
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: access === 'verify' ? ['kms:GetPublicKey'] : ['kms:GetPublicKey', 'kms:Sign'],
        resources: [this.keyArnPattern],
        conditions: this.tagged(),
      }),
    );
    if (access === 'rotate') {
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['secretsmanager:RotateSecret'], resources: [this.secret.secretArn] }),
      );
      // RotateSecret runs the rotation function with the caller's rights too.
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.rotationFunction.functionArn] }),
      );
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'NameTheRotationRequester',
          actions: ['secretsmanager:TagResource'],
          resources: [this.secret.secretArn],
          conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_ROTATION_REQUESTED_BY] } },
        }),
      );
    }
    Validations.of(fn.grantPrincipal as unknown as Construct).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]`,
      reason: 'Signing keys are created by rotation; access is limited to keys tagged for this app (aws:ResourceTag).',
    });
  }
}
