import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { Scheduler, ScheduleSpec } from './ports';

export interface EventBridgeSchedulerTarget {
  group: string;
  /** The report runner function. */
  runnerArn: string;
  /** The role Scheduler assumes to invoke it (lambda:InvokeFunction on the runner only). */
  roleArn: string;
  /** SQS queue for events Scheduler could not deliver after its retries. */
  deadLetterArn?: string;
}

/** One EventBridge Scheduler schedule per report definition, in the reports schedule group. */
export class EventBridgeScheduler implements Scheduler {
  constructor(
    private readonly client: SchedulerClient,
    private readonly target: EventBridgeSchedulerTarget,
  ) {}

  input(spec: ScheduleSpec): CreateScheduleCommandInput {
    return {
      Name: spec.name,
      GroupName: this.target.group,
      ScheduleExpression: `cron(${spec.cron})`,
      ScheduleExpressionTimezone: spec.timezone,
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Description: `Report definition ${spec.event.definitionId}`,
      Target: {
        Arn: this.target.runnerArn,
        RoleArn: this.target.roleArn,
        Input: JSON.stringify(spec.event),
        // Delivery retries; a run's own failures are retried by the runner and recorded (never silent).
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        ...(this.target.deadLetterArn ? { DeadLetterConfig: { Arn: this.target.deadLetterArn } } : {}),
      },
    };
  }

  async upsert(spec: ScheduleSpec): Promise<void> {
    const input = this.input(spec);
    try {
      await this.client.send(new CreateScheduleCommand(input));
    } catch (err) {
      if (!(err instanceof ConflictException)) throw err;
      await this.client.send(new UpdateScheduleCommand(input));
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.target.group }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
  }
}
