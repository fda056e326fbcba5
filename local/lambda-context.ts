import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** What is the same for every invocation of one function: in Lambda too, an execution environment keeps one log stream. */
interface FunctionFacts {
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly timeoutMs: number;
}

const facts = new Map<string, FunctionFacts>();

function factsOf(functionName: string, timeoutSeconds: number, memorySize: number): FunctionFacts {
  const key = `${functionName}|${timeoutSeconds}|${memorySize}`;
  let known = facts.get(key);
  if (!known) {
    known = {
      functionName,
      invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
      memoryLimitInMB: String(memorySize),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
      timeoutMs: timeoutSeconds * 1000,
    };
    facts.set(key, known);
  }
  return known;
}

/**
 * The Lambda context a handler sees in AWS, with the function's real timeout. A class, not an object
 * literal of closures, and the per-function strings built once: one is made for every request.
 */
class LocalLambdaContext implements Context {
  readonly callbackWaitsForEmptyEventLoop = false;
  readonly functionVersion = '$LATEST';
  readonly awsRequestId = randomUUID();
  private readonly deadline: number;

  constructor(private readonly facts: FunctionFacts) {
    this.deadline = Date.now() + facts.timeoutMs;
  }

  get functionName() {
    return this.facts.functionName;
  }
  get invokedFunctionArn() {
    return this.facts.invokedFunctionArn;
  }
  get memoryLimitInMB() {
    return this.facts.memoryLimitInMB;
  }
  get logGroupName() {
    return this.facts.logGroupName;
  }
  get logStreamName() {
    return this.facts.logStreamName;
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
  return new LocalLambdaContext(factsOf(functionName, timeoutSeconds, memorySize));
}
