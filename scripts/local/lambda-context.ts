import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * The Lambda context a handler sees in AWS, with the function's real timeout. A class, not an object
 * literal of closures: it is built for every request, and the methods then cost nothing per call.
 */
class LocalLambdaContext implements Context {
  readonly callbackWaitsForEmptyEventLoop = false;
  readonly functionVersion = '$LATEST';
  readonly awsRequestId = randomUUID();
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  private readonly deadline: number;

  constructor(
    readonly functionName: string,
    timeoutSeconds: number,
    memorySize: number,
  ) {
    this.deadline = Date.now() + timeoutSeconds * 1000;
    this.invokedFunctionArn = `arn:aws:lambda:local:000000000000:function:${functionName}`;
    this.memoryLimitInMB = String(memorySize);
    this.logGroupName = `/aws/lambda/${functionName}`;
    this.logStreamName = `local/${this.awsRequestId}`;
  }

  getRemainingTimeInMillis(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  // The callback-style completion methods are deprecated and unused by async handlers.
  done(): void {}
  fail(): void {}
  succeed(): void {}
}

export function lambdaContext(functionName: string, timeoutSeconds: number, memorySize: number): Context {
  return new LocalLambdaContext(functionName, timeoutSeconds, memorySize);
}
