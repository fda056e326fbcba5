import { randomBytes } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureTables } from '#local/tables';
import { verifyPassword } from '#users/passwords';
import { bootstrapAdmin, bootstrapSecretName, dataStackName, USERS_TABLE_OUTPUT } from '#scripts/bootstrap-admin';

const cfn = mockClient(CloudFormationClient);
const sm = mockClient(SecretsManagerClient);
const SECRET = bootstrapSecretName('dev');

/** Secrets Manager as the service would hold the stage's secrets. */
let secrets: Map<string, string>;
let logged: string[];

/** A users table of its own (DynamoDB Local), named by the data stack's output as CloudFormation would. */
async function deployedUsersTable(): Promise<string> {
  const prefix = `boot${randomBytes(4).toString('hex')}-`;
  const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'eu-central-1' });
  await ensureTables(client, prefix);
  client.destroy();
  const tableName = `${prefix}users`;
  cfn.on(DescribeStacksCommand, { StackName: dataStackName('dev') }).resolves({
    Stacks: [
      {
        StackName: dataStackName('dev'),
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [{ OutputKey: USERS_TABLE_OUTPUT, OutputValue: tableName }],
      },
    ],
  });
  return tableName;
}

/** The admin as stored in the table the script was pointed at. */
async function storedAdmin(): Promise<{ username: string; roles: string[]; passwordHash: string } | undefined> {
  const { UserStore } = await import('#users/store');
  const store = new UserStore();
  const page = await store.list(10);
  return page.items[0] as never;
}

const run = () => bootstrapAdmin({ stage: 'dev', region: 'eu-central-1', log: (line) => logged.push(line) });

beforeEach(() => {
  secrets = new Map();
  logged = [];
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    const value = secrets.get(input.SecretId);
    if (value === undefined) throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
    return { Name: input.SecretId, SecretString: value };
  });
  sm.on(CreateSecretCommand).callsFake((input: { Name: string; SecretString: string }) => {
    if (secrets.has(input.Name)) throw new ResourceExistsException({ message: 'exists', $metadata: {} });
    secrets.set(input.Name, input.SecretString);
    return { Name: input.Name };
  });
});

afterEach(() => {
  cfn.reset();
  sm.reset();
  delete process.env.USERS_TABLE_NAME;
});

describe('npm run bootstrap-admin', () => {
  it('creates admin in the stage users table with a random password stored in Secrets Manager first', async () => {
    // Prepare
    const tableName = await deployedUsersTable();
    // Act
    const result = await run();
    // Assess
    expect(result).toEqual({ created: true, username: 'admin', secretName: SECRET, tableName });
    const { username, password } = JSON.parse(secrets.get(SECRET)!) as { username: string; password: string };
    expect(username).toBe('admin');
    expect(password.length).toBeGreaterThanOrEqual(32);
    const admin = await storedAdmin();
    expect(admin).toMatchObject({ username: 'admin', roles: ['admin'] });
    // The user exists under the password in the secret; the password itself never reaches the output.
    await expect(verifyPassword(password, admin!.passwordHash)).resolves.toBe(true);
    expect(logged.join('\n')).toContain(`--secret-id ${SECRET}`);
    expect(logged.join('\n')).not.toContain(password);
    const calls = sm.calls().map((c) => c.args[0].constructor.name);
    expect(calls).toEqual(['GetSecretValueCommand', 'CreateSecretCommand']);
  });

  it('changes nothing when the table has users: no second admin, no new secret', async () => {
    // Prepare
    await deployedUsersTable();
    await run();
    const stored = secrets.get(SECRET);
    sm.resetHistory();
    // Act
    const again = await run();
    // Assess
    expect(again).toEqual({ created: false, reason: 'users exist' });
    expect(sm).not.toHaveReceivedCommand(CreateSecretCommand);
    expect(secrets.get(SECRET)).toBe(stored);
    expect(logged.at(-1)).toMatch(/already has users: nothing to do/);
  });

  it('reuses the password a failed earlier run stored, so the secret always matches the user', async () => {
    // Prepare: the secret was stored, then the run died before the user was written.
    const tableName = await deployedUsersTable();
    secrets.set(SECRET, JSON.stringify({ username: 'admin', password: 'an-earlier-random-password-0123' }));
    // Act
    const result = await run();
    // Assess
    expect(result).toMatchObject({ created: true, tableName });
    expect(sm).not.toHaveReceivedCommand(CreateSecretCommand);
    const { DynamoDBDocumentClient, QueryCommand } = await import('@aws-sdk/lib-dynamodb');
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'eu-central-1' }),
    );
    const items = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'byKind',
        KeyConditionExpression: 'kind = :k',
        ExpressionAttributeValues: { ':k': 'user' },
      }),
    );
    const hash = (items.Items?.[0] as { passwordHash: string }).passwordHash;
    await expect(verifyPassword('an-earlier-random-password-0123', hash)).resolves.toBe(true);
  });

  it('refuses a stage whose data stack has no users-table output, before touching any secret', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    });
    await expect(run()).rejects.toThrow(`Stack ${dataStackName('dev')} has no output ${USERS_TABLE_OUTPUT}`);
    expect(sm).not.toHaveReceivedAnyCommand();
  });
});
