import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '#platform/powertools';
import { type AppFunction, PROJECT_ROOT } from './app-function';
import { grantSendOnly, SendOnlySqsDestination } from './send-only-queue';

/**
 * The From address and the SES identities a send may be authorised against. SES checks the From address's own
 * identity when that address is verified, else its domain's: both are granted, so sending works whichever of the
 * two is verified, now or later. A From address outside the identity is refused here, not at the first send.
 */
export function senderIdentities(
  senderIdentity: string,
  senderAddress?: string,
): { fromAddress: string; identities: string[] } {
  const identity = senderIdentity;
  const fromAddress = senderAddress ?? (identity.includes('@') ? identity : `reports@${identity}`);
  const at = fromAddress.lastIndexOf('@');
  const domain = fromAddress.slice(at + 1);
  if (at < 1 || domain === '') throw new Error(`Reports: the From address "${fromAddress}" is not an e-mail address`);
  // Addresses and domains compare without case, as mail does; the ARNs keep the spelling given.
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const belongs = identity.includes('@') ? same(fromAddress, identity) : same(domain, identity);
  if (!belongs) {
    throw new Error(
      `Reports: the From address "${fromAddress}" is not covered by the SES identity "${identity}" (the address itself, or an address of the domain)`,
    );
  }
  return { fromAddress, identities: [fromAddress, domain] };
}

export interface ReportsProps {
  /** The `reports` function (API exports, definitions, run now). */
  readonly reportsFunction: AppFunction;
  /** The `report-runner` function, the schedules' target. */
  readonly runnerFunction: AppFunction;
  /**
   * Other functions that mail through the same sender (the auth function's password reset links): they get
   * REPORTS_SENDER, PUBLIC_BASE_URL and the same pinned `ses:SendEmail`, nothing of the bucket or the schedules.
   */
  readonly mailFunctions?: readonly AppFunction[];
  /** The SES identity reports are sent from: an e-mail address or a domain verified in SES. */
  readonly senderIdentity: string;
  /** The From address (default: the identity, when it is an address; else `reports@<domain>`). */
  readonly senderAddress?: string;
  /** The API base URL used in mailed links, e.g. `https://api.example.com/v1`. */
  readonly publicBaseUrl?: string;
  /** Powertools' `service` dimension of the functions' metrics: the stage's (StageConfig.serviceName, `charge-records-<stage>`). */
  readonly serviceName: string;
  /** How long scheduled reports are kept (default 90 days); ad-hoc exports behind a 303 live one day. */
  readonly retentionDays?: number;
  /** The report files' key; default a new customer-managed key with rotation. */
  readonly encryptionKey?: IKey;
  readonly removalPolicy?: RemovalPolicy;
  /** Where the alarms go (the operations SNS topic). */
  readonly alarmTopic?: ITopic;
}

/**
 * Everything the reports need around the two report functions:
 * - the report bucket: SSE-KMS with a customer-managed key, versioned, all public access blocked,
 *   TLS only, lifecycle expiry (ad-hoc exports 1 day, scheduled runs `retentionDays`, old versions of both
 *   1 day, expired delete markers removed), server access logs into a log bucket;
 * - the `report-assets` layer (Noto Sans fonts at /opt/fonts) on both functions;
 * - the EventBridge Scheduler schedule group, the role Scheduler invokes the runner with (that function
 *   only) and a dead-letter queue for events it cannot deliver; the runner's own async failures go to
 *   the same queue (retries happen in-process, so Lambda does not retry again);
 * - least-privilege grants: scheduler:*Schedule on this group only, iam:PassRole on the scheduler role
 *   only, ses:SendEmail as the one From address (on its address and domain identities), S3 on the two prefixes,
 *   and of the reports key only what S3 and SQS use (GenerateDataKey, Decrypt);
 * - in a stage that is torn down (removal policy DESTROY), both buckets are emptied on delete;
 * - alarms: ReportRunFailed metric ≥ 1 and the dead-letter queue not empty.
 */
export class Reports extends Construct {
  readonly bucket: Bucket;
  readonly accessLogsBucket: Bucket;
  readonly key: IKey;
  readonly layer: LayerVersion;
  readonly scheduleGroup: ScheduleGroup;
  readonly schedulerRole: Role;
  readonly deadLetterQueue: Queue;
  readonly failedRunsAlarm: Alarm;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ReportsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { reportsFunction, runnerFunction } = props;
    const functions = [reportsFunction, runnerFunction];

    this.key =
      props.encryptionKey ??
      new Key(this, 'Key', {
        enableKeyRotation: true,
        description: 'Encrypts report files and the report dead-letter queue',
        removalPolicy: props.removalPolicy,
      });

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      // S3 server access log delivery supports SSE-S3 only.
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Object ownership left to CDK: log delivery needs ACLs unless the feature flag
      // @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy is on.
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: props.removalPolicy,
      // A versioned bucket that is not empty cannot be deleted: a stage meant to be torn down empties it first.
      autoDeleteObjects: props.removalPolicy === RemovalPolicy.DESTROY,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log bucket of the report bucket; logging it into itself would loop.',
    });

    const retention = props.retentionDays ?? 90;
    this.bucket = new Bucket(this, 'Files', {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'reports/',
      lifecycleRules: [
        {
          id: 'exports',
          prefix: 'exports/',
          expiration: Duration.days(1),
          noncurrentVersionExpiration: Duration.days(1),
        },
        // A replaced or deleted run file is gone the next day: nothing lives past `retentionDays` (90 days by default).
        {
          id: 'runs',
          prefix: 'runs/',
          expiration: Duration.days(retention),
          noncurrentVersionExpiration: Duration.days(1),
        },
        // Its own rule: S3 refuses ExpiredObjectDeleteMarker next to an expiration in days.
        { id: 'runs-delete-markers', prefix: 'runs/', expiredObjectDeleteMarker: true },
        { id: 'uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.removalPolicy === RemovalPolicy.DESTROY,
    });

    // The fonts every report function needs: one layer instead of a copy in each bundle.
    this.layer = new LayerVersion(this, 'Assets', {
      code: Code.fromAsset(`${PROJECT_ROOT}layers/report-assets`),
      compatibleRuntimes: [Runtime.NODEJS_24_X],
      compatibleArchitectures: [Architecture.ARM_64],
      description: 'Report assets: Noto Sans TrueType fonts (SIL OFL 1.1) for the PDF writer, at /opt/fonts',
      removalPolicy: props.removalPolicy,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    for (const rule of ['Serverless-SQSRedrivePolicy', 'AwsSolutions-SQS3']) {
      Validations.of(this.deadLetterQueue).acknowledge({
        id: rule,
        reason:
          'This is the terminal dead-letter queue of report schedules and runs; it is alarmed, nothing reads it automatically.',
      });
    }

    this.scheduleGroup = new ScheduleGroup(this, 'Schedules', {
      scheduleGroupName: `${stack.stackName}-reports`.slice(0, 64),
      removalPolicy: props.removalPolicy,
    });

    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': `arn:${stack.partition}:scheduler:${stack.region}:${stack.account}:schedule/${this.scheduleGroup.scheduleGroupName}/*`,
          },
        },
      }),
      description: 'EventBridge Scheduler invokes the report runner with this role',
    });
    this.schedulerRole.addToPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [runnerFunction.functionArn] }),
    );
    grantSendOnly(this.schedulerRole, this.deadLetterQueue);

    // Retries are the runner's (2 in-process attempts) and Scheduler's (delivery); a failed run goes to the DLQ.
    runnerFunction.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      onFailure: new SendOnlySqsDestination(this.deadLetterQueue),
    });
    Validations.of(runnerFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to the reports dead-letter queue through an on-failure destination (EventInvokeConfig), which also carries the error.',
    });

    const { fromAddress, identities } = senderIdentities(props.senderIdentity, props.senderAddress);
    const environment: Record<string, string> = {
      REPORTS_BUCKET: this.bucket.bucketName,
      REPORTS_KMS_KEY_ID: this.key.keyArn,
      REPORTS_SENDER: fromAddress,
      REPORT_FONTS_DIR: '/opt/fonts',
      ...(props.publicBaseUrl ? { PUBLIC_BASE_URL: props.publicBaseUrl } : {}),
    };
    // Schedules are managed by the reports function only (the runner naming itself would be a cycle, too).
    const schedulerEnvironment: Record<string, string> = {
      REPORTS_SCHEDULE_GROUP: this.scheduleGroup.scheduleGroupName,
      REPORT_RUNNER_ARN: runnerFunction.functionArn,
      REPORTS_SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
      REPORTS_SCHEDULER_DLQ_ARN: this.deadLetterQueue.queueArn,
    };
    for (const [name, value] of Object.entries(schedulerEnvironment)) reportsFunction.addEnvironment(name, value);

    const fileResources = [this.bucket.arnForObjects('runs/*'), this.bucket.arnForObjects('exports/*')];
    const identityArns = identities.map(
      (identity) => `arn:${stack.partition}:ses:${stack.region}:${stack.account}:identity/${identity}`,
    );
    for (const fn of functions) {
      fn.addLayers(this.layer);
      for (const [name, value] of Object.entries(environment)) fn.addEnvironment(name, value);
      // GetObject: the pre-signed download links are signed with the function's own credentials.
      fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: fileResources }));
      // SSE-KMS: GenerateDataKey to write, Decrypt to read (also through the pre-signed links); nothing else.
      fn.addToRolePolicy(
        new PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.key.keyArn] }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: identityArns,
          conditions: { StringEquals: { 'ses:FromAddress': fromAddress } },
        }),
      );
      Validations.of(fn.serviceRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as never)}.Arn>/runs/*]`,
        reason: 'Report files are written and read under the runs/ prefix; each run has its own key below it.',
      });
      Validations.of(fn.serviceRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as never)}.Arn>/exports/*]`,
        reason: 'Ad-hoc exports too large for a response are written and read under the exports/ prefix.',
      });
    }

    const sendMail = new PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: identityArns,
      conditions: { StringEquals: { 'ses:FromAddress': fromAddress } },
    });
    for (const fn of props.mailFunctions ?? []) {
      fn.addEnvironment('REPORTS_SENDER', fromAddress);
      if (props.publicBaseUrl) fn.addEnvironment('PUBLIC_BASE_URL', props.publicBaseUrl);
      fn.addToRolePolicy(sendMail);
    }

    // Only the reports function manages schedules: in this group, and it may pass only the scheduler role.
    reportsFunction.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'scheduler:CreateSchedule',
          'scheduler:UpdateSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:GetSchedule',
        ],
        resources: [
          `arn:${stack.partition}:scheduler:${stack.region}:${stack.account}:schedule/${this.scheduleGroup.scheduleGroupName}/*`,
        ],
      }),
    );
    reportsFunction.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    // cdk-nag names the resource as written, with pseudo parameters where the stack's env is not fixed.
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    Validations.of(reportsFunction.serviceRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'Partition')}:scheduler:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:schedule/${this.scheduleGroup.scheduleGroupName}/*]`,
      reason:
        'One schedule per report definition, named report-<definitionId>, all in the reports schedule group only.',
    });

    const failedRuns = new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'ReportRunFailed',
      dimensionsMap: { service: props.serviceName },
      statistic: 'Sum',
      period: Duration.minutes(5),
    });
    this.failedRunsAlarm = new Alarm(this, 'RunFailedAlarm', {
      metric: failedRuns,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A report run failed after its retries (see GET /reports/runs and the runner logs)',
    });
    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A report schedule event or a failed report run is in the dead-letter queue',
    });
    if (props.alarmTopic) {
      for (const alarm of [this.failedRunsAlarm, this.deadLetterAlarm])
        alarm.addAlarmAction(new SnsAction(props.alarmTopic));
    }
  }
}
