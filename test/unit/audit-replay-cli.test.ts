import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { replayInAws } from '#scripts/audit-replay';

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

const FUNCTION = 'ChargeRecords-Api-AuditStreamFunction-AbC123';
/** A response payload as the SDK hands it out (its blob adapter is a Uint8Array with helpers the CLI does not use). */
const json = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as NonNullable<InvokeCommandOutput['Payload']>;

/** Runs the CLI's AWS path against the mocked client; what it printed and its exit code. */
async function run() {
  const out: string[] = [];
  const err: string[] = [];
  const code = await replayInAws(FUNCTION, new LambdaClient({ region: 'eu-central-1' }), {
    log: (line: string) => out.push(line),
    error: (line: string) => err.push(line),
  });
  return { code, out, err };
}

describe('npm run audit:replay -- --aws <function>', () => {
  it('invokes the function with the replay request and prints its result; exit 0 when nothing still fails', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: json({ replayed: 3, failed: 0, problems: [] }) });

    const { code, out, err } = await run();

    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input).toMatchObject({ FunctionName: FUNCTION, InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual({ replay: 'on-failure-queue' });
    expect(out).toEqual([`audit:replay: 3 replayed, 0 still failing (${FUNCTION})`]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
  });

  it('records still failing: each problem printed, exit 1', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: json({ replayed: 1, failed: 2, problems: ['m1: trimmed', 'm2: 1 of 2 records failed again'] }),
    });

    const { code, out, err } = await run();

    expect(err).toEqual([
      'audit:replay: still failing: m1: trimmed',
      'audit:replay: still failing: m2: 1 of 2 records failed again',
    ]);
    expect(out).toEqual([`audit:replay: 1 replayed, 2 still failing (${FUNCTION})`]);
    expect(code).toBe(1);
  });

  it("a function error (Lambda answers 200 with FunctionError): the function's error is named, exit 1", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: json({
        errorType: 'AccessDeniedException',
        errorMessage: 'not allowed to sqs:ReceiveMessage',
        trace: [],
      }),
    });

    const { code, out, err } = await run();

    expect(out).toEqual([]);
    expect(err).toEqual([
      `audit:replay: ${FUNCTION} failed (Unhandled): AccessDeniedException: not allowed to sqs:ReceiveMessage`,
    ]);
    expect(code).toBe(1);
  });

  it('no credentials: says what to set, exit 1', async () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    lambda.on(InvokeCommand).rejects(missing);

    const { code, err } = await run();

    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^audit:replay: no AWS credentials: set AWS_PROFILE/);
    expect(code).toBe(1);
  });

  it('an unknown function name: named as such, exit 1', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(new ResourceNotFoundException({ message: `Function not found: ${FUNCTION}`, $metadata: {} }));

    const { code, err } = await run();

    expect(err[0]).toMatch(new RegExp(`^audit:replay: no function ${FUNCTION} in this account and region`));
    expect(code).toBe(1);
  });

  it('an answer that is no replay result (another function): exit 1, never a success', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: json({ batchItemFailures: [] }) });

    const { code, err } = await run();

    expect(err[0]).toMatch(/answered no replay result/);
    expect(code).toBe(1);
  });
});
