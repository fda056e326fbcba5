import { Duration, Lazy, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AnyPrincipal,
  Effect,
  type IGrantable,
  type IRole,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';

export type DigestUser = IGrantable & { role?: IRole; addEnvironment(key: string, value: string): unknown };

export interface AuditDigestsProps {
  /** The `audit-digest` function (functions/audit/digest-handler.ts). */
  readonly digestFunction: IFunction & DigestUser;
  /** AUDIT_DIGEST_INTERVAL_SECONDS: default 15 minutes. */
  readonly interval?: Duration;
  /** AUDIT_RETENTION_YEARS: default 10. */
  readonly retentionYears?: number;
  readonly removalPolicy: RemovalPolicy;
  readonly keyPendingWindow?: Duration;
}

/**
 * Where the audit trail is vouched for outside the table: signed digests of the chain heads (and monthly
 * archives) in a bucket with Object Lock in compliance mode — nobody, the account root included, can delete or
 * overwrite an object before its retention ends — signed by an ECC key only the digest function may Sign with.
 */
export class AuditDigests extends Construct {
  readonly bucket: Bucket;
  readonly signingKey: Key;
  readonly schedule: Schedule;
  private readonly signers: IRole[] = [];

  constructor(scope: Construct, id: string, props: AuditDigestsProps) {
    super(scope, id);
    const retentionYears = props.retentionYears ?? 10;
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(365 * retentionYears)),
      // Locked objects outlive any stack: CloudFormation could not empty the bucket anyway.
      removalPolicy: props.removalPolicy,
    });
    // Compliance mode keeps every version, but a plain DELETE still places a delete marker, which hides the newest
    // digest from a listing and makes an older one look newest: nobody may delete, whatever their IAM allows.
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Objects are write-once (Object Lock, compliance mode) and their reads are in CloudTrail data events.',
    });

    this.signingKey = new Key(this, 'SigningKey', {
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      description: 'Charge Records: signs the audit digests',
      removalPolicy: props.removalPolicy,
      pendingWindow: props.keyPendingWindow ?? Duration.days(30),
    });
    this.signingKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheDigestFunctionSigns',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': this.lazySigners() } },
      }),
    );

    this.grant(props.digestFunction, 'write');
    props.digestFunction.addEnvironment('AUDIT_RETENTION_YEARS', String(retentionYears));
    const scheduleRole = new Role(this, 'ScheduleRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com') });
    this.schedule = new Schedule(this, 'Schedule', {
      schedule: ScheduleExpression.rate(props.interval ?? Duration.minutes(15)),
      target: new LambdaInvoke(props.digestFunction, { retryAttempts: 3, role: scheduleRole }),
      description: 'Writes the next signed audit digest',
    });
    const functionId = Stack.of(this).getLogicalId(props.digestFunction.node.defaultChild as never);
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason: "lambda:InvokeFunction on the digest function's versions and aliases only (CDK's grantInvoke).",
    });
    Validations.of(props.digestFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked by the schedule (3 retries); a digest that is not written is made up by the next one, which lists every head changed since the last digest.',
    });
  }

  private lazySigners(): string[] {
    return Lazy.list({ produce: () => this.signers.map((r) => r.roleArn) });
  }

  /** `write`: put objects (locked) and Sign; `read`: list and get objects and read the public key. */
  grant(fn: DigestUser, access: 'read' | 'write'): void {
    fn.addEnvironment('AUDIT_DIGEST_BUCKET', this.bucket.bucketName);
    fn.addEnvironment('AUDIT_DIGEST_KEY_ID', this.signingKey.keyArn);
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects('*')] }),
    );
    if (fn.role) {
      const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as never);
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
        reason: 'The bucket holds only audit digests, their signed index files and the monthly archives.',
      });
    }
    const keyActions = ['kms:GetPublicKey'];
    if (access === 'write') {
      if (!fn.role) throw new Error('AuditDigests: a function without a role cannot sign digests');
      this.signers.push(fn.role);
      keyActions.push('kms:Sign');
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['s3:PutObject', 's3:PutObjectRetention'],
          resources: [this.bucket.arnForObjects('*')],
        }),
      );
    }
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: keyActions, resources: [this.signingKey.keyArn] }),
    );
  }
}
