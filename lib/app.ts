import { App, CfnOutput, Stack, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { API_STAGE_NAME, ApiStack } from './api-stack';
import { ConsoleHosting } from '#lib/constructs/console-hosting';
import { grantSsoClientSecrets } from '#lib/constructs/sso-secrets';
import { DataStack } from './data-stack';
import { Observability } from '#lib/constructs/observability';
import { Releases } from '#lib/constructs/releases';
import {
  requireStageContext,
  STAGE_CONTEXT_KEYS,
  stageConfig,
  type StageConfig,
  type StageContext,
} from './stage-config';

export interface ChargeRecordsApp {
  readonly app: App;
  readonly config: StageConfig;
  readonly data: DataStack;
  readonly api: ApiStack;
  readonly observability: Observability;
  readonly releases: Releases;
  /** The console's bucket and the CloudFront distribution in front of console and API (its own stack). */
  readonly consoleStack: Stack;
  readonly consoleHosting: ConsoleHosting;
}

/** Stack names carry the stage so dev and prod can live in one account. */
const stackName = (config: StageConfig, part: string) => `ChargeRecords-${config.stage}-${part}`;

/**
 * The whole CDK app for one stage, checked by cdk-nag's AwsSolutions and Serverless packs as
 * validation plugins: an unacknowledged finding of either severity fails synthesis.
 * bin/app.ts runs it; the CDK tests build it the same way.
 */
export function buildApp(props: AppProps = {}): ChargeRecordsApp {
  const app = new App({
    ...props,
    context: {
      // cdk-nag reports rules of level WARN as "warning" violations; strict mode fails synth on those too.
      '@aws-cdk/core:strictCfnValidateErrors': true,
      // Explicit, as CDK asks: exports between the data and API stacks stay protected.
      '@aws-cdk/core:defaultCrossStackReferences': 'strong',
      ...props.context,
    },
  });
  const config = stageConfig(
    Object.fromEntries(STAGE_CONTEXT_KEYS.map((key) => [key, app.node.tryGetContext(key) as unknown])) as StageContext,
  );
  requireStageContext(config);
  // Environment-agnostic unless context pins it (`-c account=… -c region=…`): synth needs no AWS
  // credentials or lookups, and the CLI and the tests produce the same templates.
  const env = {
    account: app.node.tryGetContext('account') as string | undefined,
    region: app.node.tryGetContext('region') as string | undefined,
  };

  const data = new DataStack(app, 'Data', { stackName: stackName(config, 'data'), env, config });
  const api = new ApiStack(app, 'Api', { stackName: stackName(config, 'api'), env, config, tables: data.tables });
  // Alarms, dashboard, log forwarding and WAF live in the API stack, next to what they watch.
  const observability = new Observability(api, 'Observability', {
    config,
    api: api.api,
    functions: api.functions,
    streamConsumer: api.fn('audit-stream'),
    deadLetterQueues: {
      AuditOnFailureQueue: api.auditTrail.failureQueue,
      AuditOnFailureDlq: api.auditTrail.failureDeadLetterQueue,
      AnalyticsOnFailureQueue: api.analytics.failureQueue,
      AnalyticsOnFailureDlq: api.analytics.failureDeadLetterQueue,
    },
    // The reports construct's ReportRunFailed and DLQ alarms go to this topic; its DLQ joins the dashboard.
    reports: api.reports,
    // The analytics consumer's lag alarm, and the business numbers it emits, on the same topic and dashboard.
    analytics: { consumer: api.fn('analytics-stream'), iteratorAgeAlarm: api.analytics.iteratorAgeAlarm },
    extraLogGroups: { ApiAccessLogs: api.accessLogs, ApiExecutionLogs: api.executionLogs },
    tables: data.tables,
  });

  // Every function API Gateway calls is released through its live alias, and rolled back on its own error alarm
  // or the API's 5xx rate.
  const releases = new Releases(api, 'Releases', { traffic: config.releaseTraffic, aliases: api.aliases });
  for (const functionId of api.aliases.keys()) {
    releases.rollBackOn(functionId, observability.errorAlarms.get(functionId)!, observability.api5xxAlarm);
  }

  // Defence in depth for least privilege: the rotation function may never retire, re-tag or sign with
  // the app's other keys, whatever tags they carry.
  api.signingKeys.denyRotationOn([
    data.tableKey,
    api.reports.key,
    api.auditTrail.encryptionKey,
    observability.topicKey,
  ]);

  // The console and the API on one CloudFront origin, in a stack of its own (after the API's: it needs the API's
  // id, and nothing in the API needs it — the SSO callback learns the origin from X-Forwarded-Host).
  const consoleStack = new Stack(app, 'Console', { stackName: stackName(config, 'console'), env });
  const consoleHosting = new ConsoleHosting(consoleStack, 'Console', {
    api: api.api,
    stageName: API_STAGE_NAME,
    removalPolicy: config.removalPolicy,
  });
  new CfnOutput(consoleStack, 'ConsoleUrl', {
    value: `${consoleHosting.url}/console/`,
    description: 'The browser console (and the API on the same origin)',
  });
  grantSsoClientSecrets(api.fn('auth-sso'), config.functionEnvironment.OIDC_PROVIDERS);

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, config, data, api, observability, releases, consoleStack, consoleHosting };
}
