import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type {
  DestinationConfig,
  IDestination,
  IEventSourceDlq,
  IEventSourceMapping,
  IFunction,
} from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * Sending to an SQS queue, and no more: sqs:SendMessage on the queue and, for a KMS-encrypted queue, the two key
 * actions a producer needs (GenerateDataKey, Decrypt). CDK's `grantSendMessages` also grants kms:Encrypt and
 * kms:ReEncrypt*, which sending never uses.
 */
export function grantSendOnly(grantee: IGrantable, queue: IQueue): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
  );
  if (queue.encryptionMasterKey) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [queue.encryptionMasterKey.keyArn],
      }),
    );
  }
}

/** A Lambda on-failure destination (asynchronous invocations) that may only send to the queue. */
export class SendOnlySqsDestination implements IDestination {
  constructor(private readonly queue: IQueue) {}

  bind(_scope: Construct, fn: IFunction): DestinationConfig {
    grantSendOnly(fn, this.queue);
    return { destination: this.queue.queueArn };
  }
}

/** An event source mapping's on-failure queue that the function may only send to. */
export class SendOnlySqsDlq implements IEventSourceDlq {
  constructor(private readonly queue: IQueue) {}

  bind(_target: IEventSourceMapping, targetHandler: IFunction): { destination: string } {
    grantSendOnly(targetHandler, this.queue);
    return { destination: this.queue.queueArn };
  }
}
