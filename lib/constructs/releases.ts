import { Validations } from 'aws-cdk-lib';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import {
  type ILambdaDeploymentConfig,
  LambdaApplication,
  LambdaDeploymentConfig,
  LambdaDeploymentGroup,
} from 'aws-cdk-lib/aws-codedeploy';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Alias } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { FunctionId } from '#platform/routes';
import type { ReleaseTraffic } from '#lib/stage-config';

/** How each ReleaseTraffic moves the alias (lib/stage-config.ts). */
export const RELEASE_DEPLOYMENT_CONFIGS: Readonly<Record<ReleaseTraffic, ILambdaDeploymentConfig>> = {
  'all-at-once': LambdaDeploymentConfig.ALL_AT_ONCE,
  // Ten minutes at 10 %: long enough for a 5-minute error alarm to see the new version and stop the release.
  canary: LambdaDeploymentConfig.CANARY_10PERCENT_10MINUTES,
  linear: LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
};

/** CodeDeploy's own policy for Lambda deployments: read the alarms, move the aliases, publish to SNS. */
const CODEDEPLOY_LAMBDA_POLICY = 'service-role/AWSCodeDeployRoleForLambdaLimited';

export interface ReleasesProps {
  readonly traffic: ReleaseTraffic;
  /** The `live` alias of each function to release this way (lib/api-stack.ts: every function API Gateway calls). */
  readonly aliases: ReadonlyMap<FunctionId, Alias>;
}

/**
 * Safe releases: a new version of a function reaches its `live` alias through a CodeDeploy deployment (canary or
 * linear by stage), which rolls back by itself when the deployment fails, is stopped, or one of the alarms given
 * by `rollBackOn` goes off while it runs. All at once has no time in which an alarm could judge the new version,
 * so there no alarm is attached: one still ringing from before would only block every deploy, fixes included.
 */
export class Releases extends Construct {
  readonly application: LambdaApplication;
  readonly role: Role;
  readonly groups: ReadonlyMap<FunctionId, LambdaDeploymentGroup>;
  private readonly watchesAlarms: boolean;

  constructor(scope: Construct, id: string, props: ReleasesProps) {
    super(scope, id);
    this.application = new LambdaApplication(this, 'Application');
    // One role for every group: CodeDeploy would otherwise make one per function.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('codedeploy.amazonaws.com'),
      description: 'CodeDeploy moves the live aliases of the API functions',
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName(CODEDEPLOY_LAMBDA_POLICY)],
    });
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${CODEDEPLOY_LAMBDA_POLICY}]`,
      reason:
        "CodeDeploy's own policy for Lambda deployments (the Limited variant: only aliases, alarms and hook functions named CodeDeployHook_*).",
    });
    const deploymentConfig = RELEASE_DEPLOYMENT_CONFIGS[props.traffic];
    this.watchesAlarms = props.traffic !== 'all-at-once';
    const groups = new Map<FunctionId, LambdaDeploymentGroup>();
    for (const [functionId, alias] of props.aliases) {
      groups.set(
        functionId,
        new LambdaDeploymentGroup(this, `${functionId}Deployment`, {
          application: this.application,
          alias,
          deploymentConfig,
          role: this.role,
          autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: this.watchesAlarms },
        }),
      );
    }
    this.groups = groups;
  }

  /** While a release of `functionId` runs, any of these alarms going off rolls it back. */
  rollBackOn(functionId: FunctionId, ...alarms: IAlarm[]): void {
    const group = this.groups.get(functionId);
    if (!group) throw new Error(`No release of "${functionId}": it has no live alias`);
    if (!this.watchesAlarms) return;
    for (const alarm of alarms) group.addAlarm(alarm);
  }
}
