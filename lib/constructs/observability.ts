import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  FilterPattern,
  SubscriptionFilter,
  type ILogGroup,
  type ILogSubscriptionDestination,
} from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { SECURITY_HEADERS } from '#platform/http/headers';
import { METRICS_NAMESPACE, METRICS_SERVICE_DIMENSION } from '#platform/powertools';
import type { FunctionId } from '#platform/routes';
import { isApiFunction } from '#lib/constructs/app-function';
import type { LogDestination, StageConfig } from '#lib/stage-config';

/**
 * The Powertools (EMF) metrics the alarms and the dashboard read, by the names the functions emit
 * (`metrics.addMetric(...)` in functions/); test/cdk/observability.test.ts checks each is still emitted.
 */
export const APP_METRICS = [
  'LoginSucceeded',
  'LoginFailed',
  'Lockout',
  'Revocation',
  'RefreshTokenReuse',
  'AuthorizerDenied',
  'AuthorizerUnauthorized',
  'RateLimited',
  'AuditRecordsWritten',
  'AuditRecordDuplicates',
  'AuditRecordFailures',
  'AuditLag',
  'SigningKeyRotationSucceeded',
  'SigningKeyRotationFailed',
  'SigningKeyAgeSeconds',
  'ReportRunSucceeded',
  'ReportRunFailed',
  'AnalyticsRecordsApplied',
  'AnalyticsRecordDuplicates',
  'AnalyticsRecordFailures',
  'AnalyticsLag',
  'ChargesReleased',
  'ChargesRejected',
  'ChargesBlocked',
  'QuarantineLeadTimeDays',
] as const;
export type AppMetricName = (typeof APP_METRICS)[number];

/** Alarm thresholds (docs/operations.md explains each alarm and what to do). */
export const ALARM_THRESHOLDS = {
  /** Percent of API requests answered 5xx within 5 minutes. */
  api5xxPercent: 1,
  /** Failed logins (all users together) within 5 minutes. */
  failedLoginsPer5Minutes: 50,
  /** Oldest unprocessed record of the audit stream, in milliseconds. */
  streamIteratorAgeMs: 60_000,
  /** 30-day rotation plus 5 days of grace. */
  signingKeyMaxAgeSeconds: 35 * 24 * 60 * 60,
  /** Share of a concurrency limit (the account's, or a function's reserved concurrency) that alarms. */
  concurrencyShare: 0.8,
} as const;

/** The authorizer's real failures: Lambda Errors minus the 401s (thrown `Unauthorized`) it reports as EMF. */
export const AUTHORIZER_FAILURES_EXPRESSION = 'FILL(errors, 0) - FILL(unauthorized, 0)';

/** WAF rate-based rule: requests per client IP within WAF's 5-minute window. */
export const WAF_RATE_LIMIT_PER_5_MINUTES = 2000;
/** That window; a blocked client is told to wait it out (`Retry-After`), as WAF counts over it. */
export const WAF_RATE_WINDOW_SECONDS = 300;

/**
 * Headers of WAF's own 429: the API's security headers and `Retry-After`, as every other 429 has. WAF cannot add
 * the request id (it has no variable for it), so `X-Request-ID` is missing there alone.
 */
export const WAF_RATE_LIMITED_HEADERS: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  'Retry-After': String(WAF_RATE_WINDOW_SECONDS),
};

export interface ObservabilityProps {
  readonly config: StageConfig;
  readonly api: RestApi;
  /** Every Lambda function of the app: errors/throttles alarms, dashboard rows and log forwarding for each. */
  readonly functions: ReadonlyMap<FunctionId, IFunction & { readonly logGroupResource: ILogGroup }>;
  /** The audit-stream consumer, whose IteratorAge says how far the audit trail lags behind. */
  readonly streamConsumer: IFunction;
  /** Queues that must stay empty (on-failure queues and DLQs), by a readable name. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** Further log groups to forward besides the functions' (the API access log group). */
  readonly extraLogGroups?: Readonly<Record<string, ILogGroup>>;
  /**
   * The reports construct (lib/constructs/reports.ts), when wired: its own alarms are adopted (topic
   * actions, alarm widget) instead of a second ReportRunFailed alarm, its DLQ joins the dashboard. Pass
   * it without `alarmTopic` there, or the ALARM action would be added twice.
   */
  readonly reports?: {
    readonly failedRunsAlarm: Alarm;
    readonly deadLetterAlarm: Alarm;
    readonly deadLetterQueue: IQueue;
  };
  /** Tables whose read and write throttling alarms, by a readable name. */
  readonly tables?: Readonly<Record<string, ITable>>;
  /**
   * The analytics consumer (lib/constructs/analytics.ts), when wired: its lag alarm is adopted, and the business
   * numbers it emits (QA decisions per day, quarantine lead time) join the dashboard.
   */
  readonly analytics?: { readonly consumer: IFunction; readonly iteratorAgeAlarm: Alarm };
}

/**
 * Operations in CloudWatch: the alarm topic (KMS-encrypted, TLS-only, optional e-mail), the
 * alarms with OK and ALARM notifications, one dashboard, optional log forwarding of every log
 * group to Firehose or a Lambda shipper (the ELK path) and the optional WAF on the API stage.
 */
export class Observability extends Construct {
  readonly topic: Topic;
  /** Encrypts the alarm topic. */
  readonly topicKey: Key;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  /** Each function's error alarm (the authorizer's: errors other than 401): releases roll back on it. */
  readonly errorAlarms = new Map<FunctionId, Alarm>();
  /** The API 5xx-rate alarm: releases roll back on it too. */
  readonly api5xxAlarm: Alarm;
  readonly webAcl?: CfnWebACL;
  private readonly action: SnsAction;
  private readonly config: StageConfig;
  private readonly dlqWidget: GraphWidget;
  private readonly alarmWidget: AlarmStatusWidget;
  /** Where undeliverable alarm e-mails go (only with `alarmEmail`). */
  private alarmEmailDlq?: Queue;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.config = props.config;
    this.topicKey = new Key(this, 'TopicKey', {
      description: `Charge Records (${this.config.stage}): alarm topic encryption`,
      enableKeyRotation: true,
      removalPolicy: this.config.removalPolicy,
      pendingWindow: this.config.keyPendingWindow,
    });
    this.topic = this.alarmTopic(this.topicKey);
    this.action = new SnsAction(this.topic);

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `ChargeRecords-${props.config.stage}`,
      defaultInterval: Duration.hours(6),
    });
    this.dlqWidget = new GraphWidget({
      title: 'Dead-letter and on-failure queues: messages visible',
      width: 12,
      left: [],
      leftYAxis: { min: 0 },
    });
    // The widget reads the array when the dashboard renders, so alarms added later (watchDeadLetterQueue) show too.
    this.alarmWidget = new AlarmStatusWidget({ title: 'Alarms', width: 24, height: 6, alarms: this.alarms });

    this.api5xxAlarm = this.apiAlarms(props.api);
    this.securityAlarms();
    if (props.reports) {
      this.adoptAlarm(props.reports.failedRunsAlarm);
      this.adoptAlarm(props.reports.deadLetterAlarm);
      this.dlqWidget.addLeftMetric(
        props.reports.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: Stats.MAXIMUM,
          label: 'ReportsDlq',
        }),
      );
    } else {
      this.reportRunAlarm();
    }
    this.streamAlarm(props.streamConsumer);
    if (props.analytics) this.adoptAlarm(props.analytics.iteratorAgeAlarm);
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) this.watchDeadLetterQueue(name, queue);
    if (this.alarmEmailDlq) this.watchDeadLetterQueue('AlarmEmailDlq', this.alarmEmailDlq);
    for (const [functionId, fn] of props.functions) this.functionAlarms(functionId, fn);
    for (const [name, table] of Object.entries(props.tables ?? {})) this.tableThrottleAlarm(name, table);
    this.accountConcurrencyAlarm();
    this.buildDashboard(props);

    const destination = props.config.operations.logDestination;
    if (destination) {
      const logGroups: Record<string, ILogGroup> = { ...props.extraLogGroups };
      for (const [functionId, fn] of props.functions) logGroups[`${functionId}Function`] = fn.logGroupResource;
      this.forwardLogs(destination, logGroups);
    }
    if (props.config.operations.waf) this.webAcl = this.addWaf(props.api);
  }

  /**
   * Alarms when `queue` holds a message, and shows its depth on the dashboard. The hook for queues made
   * outside the API stack's constructor (e.g. the report runner's DLQ in lib/constructs/reports.ts).
   */
  watchDeadLetterQueue(name: string, queue: IQueue): Alarm {
    const depth = queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(5),
      statistic: Stats.MAXIMUM,
    });
    // A label would turn the alarm into a metric-math alarm: only the graph gets one.
    this.dlqWidget.addLeftMetric(depth.with({ label: name }));
    return this.alarm(`${name}NotEmpty`, {
      metric: depth,
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // SQS stops reporting for a queue that stays empty and idle: no data means nothing is waiting.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `${name} holds messages: something failed for good and waits for replay (runbook: DLQ not empty).`,
    });
  }

  /** Sends an alarm made elsewhere to the topic (ALARM and OK) and shows it in the dashboard's alarm widget. */
  adoptAlarm(alarm: Alarm): Alarm {
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  /**
   * A Powertools metric of one stage's service (StageConfig.serviceName, the functions' SERVICE_NAME): namespace
   * and dimension from functions/platform/powertools.ts.
   */
  static appMetric(
    serviceName: string,
    metricName: AppMetricName,
    statistic: string = Stats.SUM,
    period = Duration.minutes(5),
  ): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [METRICS_SERVICE_DIMENSION]: serviceName },
      statistic,
      period,
    });
  }

  private alarmTopic(key: Key): Topic {
    // CloudWatch publishes alarm notifications itself: it needs the key to encrypt them for the topic.
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: `Charge Records ${this.config.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    topic.applyRemovalPolicy(this.config.removalPolicy);
    // enforceSSL makes a topic policy, which replaces SNS's default one: without this, no alarm could publish.
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccountPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );

    const email = this.config.operations.alarmEmail;
    if (email) {
      // Undeliverable notifications land here instead of vanishing.
      const deadLetterQueue = new Queue(this, 'AlarmEmailDlq', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy: this.config.removalPolicy,
      });
      Validations.of(deadLetterQueue).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the alarm e-mail subscription.' },
        {
          id: 'Serverless-SQSRedrivePolicy',
          reason: 'Terminal dead-letter queue of the alarm e-mail subscription; nothing sits behind it.',
        },
      );
      topic.addSubscription(new EmailSubscription(email, { deadLetterQueue }));
      this.alarmEmailDlq = deadLetterQueue;
    }
    return topic;
  }

  private alarm(id: string, props: ConstructorParameters<typeof Alarm>[2]): Alarm {
    return this.adoptAlarm(
      new Alarm(this, id, {
        ...props,
        alarmDescription: `[${this.config.stage}] ${props.alarmDescription ?? ''}`.trim(),
      }),
    );
  }

  private apiAlarms(api: RestApi): Alarm {
    const period = Duration.minutes(5);
    return this.alarm('Api5xxRate', {
      metric: new MathExpression({
        expression: 'IF(requests > 0, 100 * errors / requests, 0)',
        usingMetrics: {
          errors: api.metricServerError({ period, statistic: Stats.SUM }),
          requests: api.metricCount({ period, statistic: Stats.SUM }),
        },
        period,
        label: 'API 5xx rate (%)',
      }),
      threshold: ALARM_THRESHOLDS.api5xxPercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Two bad 5-minute windows out of three: one stray error burst does not page anyone.
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      // No traffic is not an outage.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `More than ${ALARM_THRESHOLDS.api5xxPercent} % of API requests answered 5xx (runbook: API 5xx rate).`,
    });
  }

  private securityAlarms(): void {
    this.alarm('FailedLoginSpike', {
      metric: Observability.appMetric(this.config.serviceName, 'LoginFailed'),
      threshold: ALARM_THRESHOLDS.failedLoginsPer5Minutes,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // Powertools emits nothing while no login fails.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `More than ${ALARM_THRESHOLDS.failedLoginsPer5Minutes} failed logins in 5 minutes: password guessing? (runbook: failed-login spike).`,
    });
    this.alarm('SigningKeyRotationFailed', {
      metric: Observability.appMetric(this.config.serviceName, 'SigningKeyRotationFailed'),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A signing-key rotation step failed (runbook: key rotation failure).',
    });
    this.alarm('SigningKeyTooOld', {
      metric: Observability.appMetric(
        this.config.serviceName,
        'SigningKeyAgeSeconds',
        Stats.MAXIMUM,
        Duration.hours(1),
      ),
      threshold: ALARM_THRESHOLDS.signingKeyMaxAgeSeconds,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // The rotation function's hourly probe reports the age (lib/constructs/signing-keys.ts): three hours without
      // a data point mean the probe, and likely rotation, is dead, which is as bad as a key too old.
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.BREACHING,
      alarmDescription:
        'The current signing key is older than 35 days, or its age has not been reported for 3 hours: rotation has not happened or the key-age probe is failing (runbook: key older than 35 days).',
    });
  }

  private reportRunAlarm(): void {
    this.alarm('ReportRunFailed', {
      metric: Observability.appMetric(this.config.serviceName, 'ReportRunFailed'),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A report run failed (runbook: report run failures).',
    });
  }

  private streamAlarm(consumer: IFunction): void {
    this.alarm('AuditStreamIteratorAge', {
      metric: consumer.metric('IteratorAge', { period: Duration.minutes(5), statistic: Stats.MAXIMUM }),
      threshold: ALARM_THRESHOLDS.streamIteratorAgeMs,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Ten minutes of lag, not one slow batch.
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // Lambda reports IteratorAge only while records flow.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `The audit stream consumer lags more than ${ALARM_THRESHOLDS.streamIteratorAgeMs / 1000} s behind (runbook: stream iterator age).`,
    });
  }

  private functionAlarms(functionId: FunctionId, fn: IFunction): void {
    const period = Duration.minutes(5);
    const errors = fn.metricErrors({ period, statistic: Stats.SUM });
    const isAuthorizer = functionId === 'authorizer';
    const errorAlarm = this.alarm(`${functionId}Errors`, {
      // The authorizer answers 401 by throwing `Unauthorized` (API Gateway's contract), which Lambda counts as an
      // error: only errors beyond the 401s it counted itself (AuthorizerUnauthorized) are failures.
      metric:
        functionId === 'authorizer'
          ? new MathExpression({
              expression: AUTHORIZER_FAILURES_EXPRESSION,
              usingMetrics: {
                errors,
                unauthorized: Observability.appMetric(
                  this.config.serviceName,
                  'AuthorizerUnauthorized',
                  Stats.SUM,
                  period,
                ),
              },
              period,
              label: 'authorizer errors other than 401',
            })
          : errors,
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // The 401 count is an EMF metric, minutes later than Lambda's Errors: a period evaluated before it arrived
      // shows every 401 as a failure. Two of three periods, so one premature evaluation pages nobody.
      evaluationPeriods: isAuthorizer ? 3 : 1,
      datapointsToAlarm: isAuthorizer ? 2 : undefined,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `Function ${functionId} failed with an unhandled error (runbook: Lambda errors).`,
    });
    this.errorAlarms.set(functionId, errorAlarm);
    this.alarm(`${functionId}Throttles`, {
      metric: fn.metricThrottles({ period, statistic: Stats.SUM }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `Function ${functionId} was throttled (runbook: Lambda throttles).`,
    });
    const reserved = this.config.reservedConcurrency[functionId];
    if (reserved !== undefined) {
      const threshold = Math.max(1, Math.floor(reserved * ALARM_THRESHOLDS.concurrencyShare));
      this.alarm(`${functionId}ConcurrencyNearReserved`, {
        metric: fn.metric('ConcurrentExecutions', { period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `Function ${functionId} runs ${threshold} or more of its ${reserved} reserved executions at once (runbook: Lambda concurrency).`,
      });
    }
    // Invoked asynchronously (a schedule, EventBridge, Secrets Manager) or by a stream: events can be dropped, and
    // failures sent to a destination can fail to arrive. API functions have neither.
    if (!isApiFunction(functionId)) {
      this.alarm(`${functionId}AsyncEventsDropped`, {
        metric: fn.metric('AsyncEventsDropped', { period, statistic: Stats.SUM }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `Lambda dropped asynchronous events of ${functionId} without running them (runbook: async events dropped).`,
      });
      this.alarm(`${functionId}DestinationDeliveryFailures`, {
        metric: fn.metric('DestinationDeliveryFailures', { period, statistic: Stats.SUM }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `A failed event of ${functionId} could not be sent to its on-failure queue (runbook: destination delivery failures).`,
      });
    }
  }

  /** Any throttled read or write of the table (on-demand tables throttle too, past twice their previous peak). */
  private tableThrottleAlarm(name: string, table: ITable): void {
    const period = Duration.minutes(5);
    const events = (metricName: string) => table.metric(metricName, { period, statistic: Stats.SUM });
    this.alarm(`${name}TableThrottles`, {
      metric: new MathExpression({
        expression: 'FILL(reads, 0) + FILL(writes, 0)',
        usingMetrics: { reads: events('ReadThrottleEvents'), writes: events('WriteThrottleEvents') },
        period,
        label: `${name} throttle events`,
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `DynamoDB throttled reads or writes of the ${name} table (runbook: DynamoDB throttles).`,
    });
  }

  /** The region's Lambda concurrency, all functions of the account together, near the account's quota. */
  private accountConcurrencyAlarm(): void {
    const limit = this.config.lambdaConcurrencyLimit;
    const threshold = Math.floor(limit * ALARM_THRESHOLDS.concurrencyShare);
    this.alarm('AccountConcurrency', {
      metric: new Metric({
        namespace: 'AWS/Lambda',
        metricName: 'ConcurrentExecutions',
        period: Duration.minutes(1),
        statistic: Stats.MAXIMUM,
      }),
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `Lambda runs ${threshold} or more executions at once in this account and region, of a quota of ${limit} (runbook: Lambda concurrency).`,
    });
  }

  private buildDashboard(props: ObservabilityProps): void {
    const { api } = props;
    const app = (name: AppMetricName, statistic: string = Stats.SUM) =>
      Observability.appMetric(this.config.serviceName, name, statistic);
    const perFunction = (metric: (fn: IFunction) => Metric) =>
      [...props.functions].map(([functionId, fn]) => metric(fn).with({ label: functionId }));
    const period = Duration.minutes(5);

    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Charge Records (${this.config.stage})\nAlarms and runbook: docs/operations.md, section "Runbook"`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(this.alarmWidget);
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API latency p50 / p99 (ms)',
        width: 8,
        left: [
          api.metricLatency({ statistic: Stats.p(50), period, label: 'p50' }),
          api.metricLatency({ statistic: Stats.p(99), period, label: 'p99' }),
        ],
      }),
      new GraphWidget({
        title: 'API requests, 4xx and 5xx',
        width: 8,
        left: [api.metricClientError({ period, label: '4xx' }), api.metricServerError({ period, label: '5xx' })],
        right: [api.metricCount({ period, label: 'requests' })],
      }),
      new GraphWidget({
        title: 'Authorizer denials and rate-limit rejections',
        width: 8,
        left: [app('AuthorizerDenied'), app('AuthorizerUnauthorized'), app('RateLimited')],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Logins failed and lockouts',
        width: 8,
        left: [app('LoginFailed'), app('Lockout')],
        right: [app('LoginSucceeded')],
      }),
      new GraphWidget({
        title: 'Token revocations and refresh-token reuse',
        width: 8,
        left: [app('Revocation'), app('RefreshTokenReuse')],
      }),
      new GraphWidget({
        title: 'Signing key age (days) and rotations',
        width: 8,
        left: [
          new MathExpression({
            expression: 'age / 86400',
            usingMetrics: { age: app('SigningKeyAgeSeconds', Stats.MAXIMUM) },
            label: 'SigningKeyAgeSeconds (days)',
            period: Duration.hours(1),
          }),
        ],
        leftAnnotations: [{ value: ALARM_THRESHOLDS.signingKeyMaxAgeSeconds / 86400, label: 'alarm: 35 days' }],
        right: [app('SigningKeyRotationSucceeded'), app('SigningKeyRotationFailed')],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Audit lag (ms) and stream iterator age (ms)',
        width: 8,
        left: [
          app('AuditLag', Stats.MAXIMUM),
          app('AuditLag', Stats.p(99)).with({ label: 'AuditLag p99' }),
          props.streamConsumer.metric('IteratorAge', { period, statistic: Stats.MAXIMUM, label: 'IteratorAge' }),
        ],
        leftAnnotations: [{ value: ALARM_THRESHOLDS.streamIteratorAgeMs, label: 'iterator age alarm' }],
      }),
      new GraphWidget({
        title: 'Audit records written, duplicates and failures',
        width: 8,
        left: [app('AuditRecordsWritten'), app('AuditRecordDuplicates')],
        right: [app('AuditRecordFailures')],
      }),
      new GraphWidget({
        title: 'Report runs and failures',
        width: 8,
        left: [app('ReportRunSucceeded'), app('ReportRunFailed')],
      }),
    );
    if (props.analytics) this.businessWidgets(props.analytics.consumer);
    this.dashboard.addWidgets(
      this.dlqWidget,
      new SingleValueWidget({
        title: 'Signing key age now (s)',
        width: 12,
        metrics: [app('SigningKeyAgeSeconds', Stats.MAXIMUM)],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors per function',
        width: 8,
        height: 8,
        left: perFunction((fn) => fn.metricErrors({ period, statistic: Stats.SUM })),
      }),
      new GraphWidget({
        title: 'Lambda throttles per function',
        width: 8,
        height: 8,
        left: perFunction((fn) => fn.metricThrottles({ period, statistic: Stats.SUM })),
      }),
      new GraphWidget({
        title: 'Lambda duration p99 per function (ms)',
        width: 8,
        height: 8,
        left: perFunction((fn) => fn.metricDuration({ period, statistic: Stats.p(99) })),
      }),
    );
  }

  /**
   * The business numbers the analytics consumer emits as it applies each charge change once: QA decisions per day
   * and the lead time from production to the decision ending quarantine (days; p50 and p90 of the day's decisions).
   */
  private businessWidgets(consumer: IFunction): void {
    const day = Duration.days(1);
    const daily = (name: AppMetricName, statistic: string = Stats.SUM) =>
      Observability.appMetric(this.config.serviceName, name, statistic, day);
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'QA decisions per day: released, rejected, blocked',
        width: 8,
        left: [daily('ChargesReleased'), daily('ChargesRejected'), daily('ChargesBlocked')],
        leftYAxis: { min: 0 },
      }),
      new GraphWidget({
        title: 'Quarantine lead time p50 / p90 (days, per day)',
        width: 8,
        left: [
          daily('QuarantineLeadTimeDays', Stats.p(50)).with({ label: 'p50' }),
          daily('QuarantineLeadTimeDays', Stats.p(90)).with({ label: 'p90' }),
        ],
        leftYAxis: { min: 0 },
      }),
      new GraphWidget({
        title: 'Analytics lag (ms), iterator age (ms) and failures',
        width: 8,
        left: [
          Observability.appMetric(this.config.serviceName, 'AnalyticsLag', Stats.p(95)).with({
            label: 'AnalyticsLag p95',
          }),
          consumer.metric('IteratorAge', {
            period: Duration.minutes(5),
            statistic: Stats.MAXIMUM,
            label: 'IteratorAge',
          }),
        ],
        right: [
          Observability.appMetric(this.config.serviceName, 'AnalyticsRecordsApplied'),
          Observability.appMetric(this.config.serviceName, 'AnalyticsRecordFailures'),
          Observability.appMetric(this.config.serviceName, 'AnalyticsRecordDuplicates'),
        ],
      }),
    );
  }

  /**
   * Subscription filters shipping every log event of `logGroups` to the destination named by context:
   * a Kinesis Data Firehose stream (through one role CloudWatch Logs assumes) or a Lambda function that
   * ships to OpenSearch (invoke permission per log group).
   */
  private forwardLogs(destination: LogDestination, logGroups: Readonly<Record<string, ILogGroup>>): void {
    let target: ILogSubscriptionDestination;
    if (destination.kind === 'firehose') {
      const role = new Role(this, 'LogForwardingRole', {
        assumedBy: new ServicePrincipal('logs.amazonaws.com', {
          conditions: { StringLike: { 'aws:SourceArn': Stack.of(this).formatArn({ service: 'logs', resource: '*' }) } },
        }),
        description: 'CloudWatch Logs subscription filters: put records into the log delivery stream',
      });
      role.addToPolicy(
        new PolicyStatement({
          actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
          resources: [destination.arn],
        }),
      );
      // Not aws-logs-destinations' FirehoseDestination: importing a stream there adds an unused CIDR mapping
      // that CloudFormation validation (strict mode) rejects.
      target = {
        bind: (scope) => {
          // CloudWatch Logs tests the role when the filter is created: the policy must exist by then.
          scope.node.addDependency(role);
          return { arn: destination.arn, role };
        },
      };
    } else {
      // Same account and region as the log groups (subscriptions cannot cross regions): permissions are ours to add.
      const shipper = LambdaFunction.fromFunctionAttributes(this, 'LogShipper', {
        functionArn: destination.arn,
        sameEnvironment: true,
      });
      target = new LambdaDestination(shipper);
    }
    for (const [name, logGroup] of Object.entries(logGroups)) {
      new SubscriptionFilter(this, `${name}LogForwarding`, {
        logGroup,
        destination: target,
        filterPattern: FilterPattern.allEvents(),
      });
    }
  }

  /**
   * A regional WAFv2 web ACL on the API stage: AWS's common and known-bad-inputs rule groups, and a
   * per-IP rate limit in front of the stage throttling.
   */
  private addWaf(api: RestApi): CfnWebACL {
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: `ChargeRecords-${this.config.stage}-${metricName}`,
      sampledRequestsEnabled: true,
    });
    const managed = (
      name: string,
      priority: number,
      ruleActionOverrides?: CfnWebACL.RuleActionOverrideProperty[],
    ): CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ruleActionOverrides } },
      visibilityConfig: visibility(name),
    });
    const webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: `Charge Records API - ${this.config.stage}`,
      visibilityConfig: visibility('WebAcl'),
      customResponseBodies: {
        RateLimited: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'Too many requests' } }),
        },
      },
      rules: [
        // The API accepts bodies up to 1 MiB (413 above): the group's 8 KB body limit only counts.
        managed('AWSManagedRulesCommonRuleSet', 0, [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }]),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 1),
        {
          name: 'RateLimitPerIp',
          priority: 2,
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: 'RateLimited',
                responseHeaders: Object.entries(WAF_RATE_LIMITED_HEADERS).map(([name, value]) => ({ name, value })),
              },
            },
          },
          statement: {
            rateBasedStatement: {
              limit: WAF_RATE_LIMIT_PER_5_MINUTES,
              evaluationWindowSec: WAF_RATE_WINDOW_SECONDS,
              aggregateKeyType: 'IP',
            },
          },
          visibilityConfig: visibility('RateLimitPerIp'),
        },
      ],
    });
    new CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: api.deploymentStage.stageArn,
      webAclArn: webAcl.attrArn,
    });
    return webAcl;
  }
}
