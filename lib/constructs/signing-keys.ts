import { Duration, Lazy, type RemovalPolicy, SecretValue, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, type IGrantable, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { CfnPermission, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { KEY_AGE_PROBE } from '#signing/rotation-probe';
import type { SigningKeyAccess } from '#platform/routes';
import { TAG_CURRENT_SINCE, TAG_ROTATION_REQUESTED_BY, TAG_ROTATION_TOKEN, TAG_SIGNING_KEY } from '#signing/ports';

/** The only kind of key rotation creates: IAM conditions pin every key action to it (kms:KeySpec/KeyUsage). */
const SIGNING_KEY_SHAPE = { 'kms:KeySpec': 'RSA_2048', 'kms:KeyUsage': 'SIGN_VERIFY' } as const;

/** A function that uses the signing keys: it gets the grants and the env vars in one call. */
export type SigningKeyUser = IFunction & IGrantable & { addEnvironment(key: string, value: string): unknown };

export interface SigningKeysProps {
  /** Value of the `charge-records:signing-key` tag: IAM lets functions touch only keys carrying it. */
  readonly appTag: string;
  /** The `rotate-keys` function (functions/signing/rotation-handler.ts). */
  readonly rotationFunction: SigningKeyUser;
  /** Default 30 days. */
  readonly rotateEvery?: Duration;
  readonly removalPolicy: RemovalPolicy;
  /** Pending window of the initial key when the stack removes it. */
  readonly keyPendingWindow?: Duration;
}

/**
 * The access-token signing keys: an initial KMS key (RSA_2048, SIGN_VERIFY), a Secrets
 * Manager secret that names the current key, and its 30-day rotation by the rotate-keys function, which
 * creates a new KMS key per generation.
 *
 * IAM is least privilege, pinned by tags instead of key ARNs (keys made by rotation do not exist at
 * deploy time): every key of this deployment carries `charge-records:signing-key = <appTag>`, and
 * - the rotation function may create keys only with KeySpec RSA_2048, KeyUsage SIGN_VERIFY and that tag
 *   in the request, tag only with our two tag keys, and schedule deletion (≥ 7 days) only of tagged keys;
 *   every key statement also requires the signing-key shape (kms:KeySpec RSA_2048, kms:KeyUsage SIGN_VERIFY),
 *   so the tag alone cannot make a table or queue key "ours", and `denyRotationOn` adds explicit Denies on the
 *   app's other keys;
 * - token-minting functions may only kms:Sign and kms:GetPublicKey, on tagged keys;
 * - verifying functions, and the one that starts rotations, only kms:GetPublicKey; all of them read only this
 *   one secret;
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
  /** Hourly key-age probe: keeps SigningKeyAgeSeconds flowing even when no rotation or JWKS request happens. */
  readonly keyAgeProbe: Rule;
  private readonly keyArnPattern: string;
  /** cdk-nag's spelling of keyArnPattern: pseudo parameters only where the stack's env is not pinned. */
  private readonly keyArnPatternShown: string;
  /** The roles granted `sign` or `verify`/`rotate`: each key rotation makes names them in its key policy. */
  private readonly keyRoles: { sign: IRole[]; verify: IRole[] } = { sign: [], verify: [] };

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    this.appTag = props.appTag;
    this.rotationFunction = props.rotationFunction;
    const stack = Stack.of(this);
    this.keyArnPattern = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    this.keyArnPatternShown = `arn:${shown(stack.partition, 'Partition')}:kms:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:key/*`;

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
    this.pinRotationInvokeToAccount(stack);
    this.grantRotation(props.rotationFunction);

    // The SigningKeyTooOld alarm treats missing data as breaching: this probe is what keeps it quiet.
    this.keyAgeProbe = new Rule(this, 'KeyAgeProbe', {
      description: `${props.appTag}: hourly signing-key age probe (SigningKeyAgeSeconds)`,
      schedule: Schedule.rate(Duration.hours(1)),
      targets: [
        new LambdaFunction(props.rotationFunction, {
          event: RuleTargetInput.fromObject(KEY_AGE_PROBE),
          retryAttempts: 2,
        }),
      ],
    });
    Validations.of(this.keyAgeProbe).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A lost probe is the signal itself: the next hour probes again, and SigningKeyTooOld treats missing data as breaching.',
    });
  }

  /**
   * The invoke permission addRotationSchedule gives Secrets Manager names only the service principal: limited
   * to this account (SourceAccount), another account's secret cannot have Secrets Manager call this function
   * (confused deputy).
   */
  private pinRotationInvokeToAccount(stack: Stack): void {
    const permissions = this.rotationFunction.node.children.filter(
      (child): child is CfnPermission =>
        child instanceof CfnPermission && child.principal === 'secretsmanager.amazonaws.com',
    );
    if (permissions.length === 0)
      throw new Error('SigningKeys: no Secrets Manager invoke permission on the rotation function');
    for (const permission of permissions) permission.sourceAccount = stack.account;
  }

  private tagged(): Record<string, Record<string, string>> {
    return { StringEquals: { [`aws:ResourceTag/${TAG_SIGNING_KEY}`]: this.appTag } };
  }

  /** Tagged, and of the signing-key shape: a tag put on a table or queue key does not make it ours. */
  private taggedSigningKey(): Record<string, Record<string, string>> {
    return { StringEquals: { ...SIGNING_KEY_SHAPE, [`aws:ResourceTag/${TAG_SIGNING_KEY}`]: this.appTag } };
  }

  /**
   * Explicit Deny for the rotation function on the app's other keys (tables, queues, topic, reports): even a
   * wrong tag or a later, broader Allow cannot let it retire, re-tag or sign with them.
   */
  denyRotationOn(keys: readonly IKey[]): void {
    if (keys.length === 0) return;
    this.rotationFunction.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'NeverTouchNonSigningKeys',
        effect: Effect.DENY,
        actions: ['kms:ScheduleKeyDeletion', 'kms:TagResource', 'kms:Sign'],
        resources: keys.map((key) => key.keyArn),
      }),
    );
  }

  private bindEnvironment(fn: SigningKeyUser): void {
    fn.addEnvironment('SIGNING_SECRET_ID', this.secret.secretArn);
    fn.addEnvironment('SIGNING_KEY_TAG', this.appTag);
  }

  /**
   * SIGNING_KEY_ROLES on the rotation function: the roles a new key's policy names (functions/signing/kms-signing-keys.ts),
   * rendered at synth so every later `grant` is in it.
   */
  private bindKeyRoles(fn: SigningKeyUser): void {
    const stack = Stack.of(this);
    const rotationRole = fn.role;
    if (!rotationRole) throw new Error('SigningKeys: the rotation function has no role to name in key policies');
    fn.addEnvironment(
      'SIGNING_KEY_ROLES',
      Lazy.string({
        produce: () =>
          stack.toJsonString({
            rotation: rotationRole.roleArn,
            sign: this.keyRoles.sign.map((role) => role.roleArn),
            verify: this.keyRoles.verify.map((role) => role.roleArn),
          }),
      }),
    );
  }

  /** The rotation function: create, tag, test and retire keys. */
  private grantRotation(fn: SigningKeyUser): void {
    this.bindEnvironment(fn);
    this.bindKeyRoles(fn);
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
          // CreateKey with Tags needs TagResource; the shape keeps it off every other kind of key.
          StringEquals: { ...SIGNING_KEY_SHAPE, [`aws:RequestTag/${TAG_SIGNING_KEY}`]: this.appTag },
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
          ...this.taggedSigningKey(),
          NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 7 },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ProbeOurKeys',
        actions: ['kms:Sign', 'kms:GetPublicKey'],
        resources: [this.keyArnPattern],
        conditions: this.taggedSigningKey(),
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
    // On the role's own policy only, where these statements are.
    Validations.of(defaultPolicyOf(fn)).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'kms:CreateKey has no resource; it is limited by KeySpec, KeyUsage and request-tag conditions. (The rotation schedule adds secretsmanager:GetRandomPassword, which has none either.)',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${this.keyArnPatternShown}]`,
        reason:
          'Keys made by rotation do not exist at deploy time; access is limited to RSA_2048 SIGN_VERIFY keys tagged for this app (aws:ResourceTag).',
      },
    );
  }

  /**
   * Grants a function use of the signing keys and sets SIGNING_SECRET_ID / SIGNING_KEY_TAG:
   * `verify` reads the secret and public keys, `sign` may also kms:Sign, `rotate` is verify plus starting a
   * rotation (and naming the requester on the secret with the one tag key finishSecret reads) — never kms:Sign:
   * in AWS it only calls RotateSecret, and it serves the public JWKS route.
   */
  grant(fn: SigningKeyUser, access: SigningKeyAccess): void {
    this.bindEnvironment(fn);
    this.secret.grantRead(fn);
    if (!fn.role) throw new Error('SigningKeys: a function without a role cannot be granted the signing keys');
    this.keyRoles[access === 'sign' ? 'sign' : 'verify'].push(fn.role);
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: access === 'sign' ? ['kms:GetPublicKey', 'kms:Sign'] : ['kms:GetPublicKey'],
        resources: [this.keyArnPattern],
        conditions: this.tagged(),
      }),
    );
    if (access === 'rotate') {
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['secretsmanager:RotateSecret'], resources: [this.secret.secretArn] }),
      );
      // RotateSecret checks that the caller may invoke the rotation function (RotateSecret's required permissions).
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
    Validations.of(defaultPolicyOf(fn)).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${this.keyArnPatternShown}]`,
      reason: 'Signing keys are created by rotation; access is limited to keys tagged for this app (aws:ResourceTag).',
    });
  }
}

/** The policy CDK keeps the role's statements in: acknowledgements go on it, not on the whole role. */
function defaultPolicyOf(fn: SigningKeyUser): Construct {
  const policy = fn.role?.node.tryFindChild('DefaultPolicy');
  if (!policy) throw new Error(`SigningKeys: ${fn.node.path} has no role policy to acknowledge findings on`);
  return policy;
}
