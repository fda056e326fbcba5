/**
 * `npm run bootstrap-admin -- --stage <dev|prod> [--region <region>]`: the one manual step after the first deploy.
 * Creates the first user, `admin`, in the stage's users table (functions/users/bootstrap.ts, as the local runtime
 * does at its first start), with a random password that is stored in Secrets Manager — never printed — under
 * `charge-records/<stage>/bootstrap-admin`. Read it with the command the script prints.
 *
 * Safe to run again: with any user in the table it changes nothing; a run that stored the password but failed
 * before the user was written reuses that password.
 *
 * Needs AWS credentials allowed cloudformation:DescribeStacks on the data stack, secretsmanager:CreateSecret /
 * GetSecretValue on that secret, and DynamoDB read/write plus KMS use on the users table.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { STAGES, type StageName } from '#lib/stage-config';

/** The data stack's output naming the users table (lib/data-stack.ts). */
export const USERS_TABLE_OUTPUT = 'UsersTableName';

export const dataStackName = (stage: StageName) => `ChargeRecords-${stage}-data`;
export const bootstrapSecretName = (stage: StageName) => `charge-records/${stage}/bootstrap-admin`;

export interface BootstrapOptions {
  stage: StageName;
  region: string;
  cloudFormation?: CloudFormationClient;
  secretsManager?: SecretsManagerClient;
  log?: (line: string) => void;
}

export type BootstrapResult =
  | { created: false; reason: 'users exist' }
  | { created: true; username: string; secretName: string; tableName: string };

/** The users table's name, from the data stack's outputs (CloudFormation named the table). */
async function usersTableName(cloudFormation: CloudFormationClient, stage: StageName): Promise<string> {
  const stackName = dataStackName(stage);
  const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const value = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === USERS_TABLE_OUTPUT)?.OutputValue;
  if (!value) throw new Error(`Stack ${stackName} has no output ${USERS_TABLE_OUTPUT}: is it deployed, and current?`);
  return value;
}

/** The stored password, or a new one stored first: once a user is made with it, it must not be lost. */
async function storedPassword(secretsManager: SecretsManagerClient, secretName: string, stage: StageName) {
  const read = async () => {
    try {
      const out = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretName }));
      return (JSON.parse(out.SecretString ?? '{}') as { password?: string }).password;
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  };
  const existing = await read();
  if (existing) return existing;
  const password = randomBytes(24).toString('base64url');
  try {
    await secretsManager.send(
      new CreateSecretCommand({
        Name: secretName,
        Description: `Charge Records (${stage}): password of the first admin, made by npm run bootstrap-admin`,
        SecretString: JSON.stringify({ username: 'admin', password }),
      }),
    );
    return password;
  } catch (err) {
    // Another run stored one meanwhile: that one counts.
    if (err instanceof ResourceExistsException) {
      const stored = await read();
      if (stored) return stored;
    }
    throw err;
  }
}

export async function bootstrapAdmin(options: BootstrapOptions): Promise<BootstrapResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const cloudFormation = options.cloudFormation ?? new CloudFormationClient({ region: options.region });
  const secretsManager = options.secretsManager ?? new SecretsManagerClient({ region: options.region });

  const tableName = await usersTableName(cloudFormation, options.stage);
  // The users module reads the table name and region from its configuration, on first use.
  process.env.USERS_TABLE_NAME = tableName;
  process.env.AWS_REGION = options.region;
  const { resetConfig } = await import('#platform/config');
  resetConfig();
  const { UserStore } = await import('#users/store');
  const { ensureBootstrapAdmin } = await import('#users/bootstrap');

  if (await new UserStore().any()) {
    log(`${tableName} already has users: nothing to do. Sign in as an admin you know.`);
    return { created: false, reason: 'users exist' };
  }
  const secretName = bootstrapSecretName(options.stage);
  const password = await storedPassword(secretsManager, secretName, options.stage);
  const outcome = await ensureBootstrapAdmin(password);
  if (!outcome.created) {
    log(`${tableName} got a user meanwhile: nothing to do.`);
    return { created: false, reason: 'users exist' };
  }
  log(
    `Created "${outcome.username}" in ${tableName}. Its password is in Secrets Manager:\n` +
      `  aws secretsmanager get-secret-value --region ${options.region} --secret-id ${secretName} --query SecretString --output text`,
  );
  return { created: true, username: outcome.username, secretName, tableName };
}

function argument(name: string): string | undefined {
  const args = process.argv.slice(2);
  const inline = args.find((a) => a.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const stage = argument('stage');
  const region = argument('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!stage || !(STAGES as readonly string[]).includes(stage) || !region) {
    console.error(
      `Usage: npm run bootstrap-admin -- --stage <${STAGES.join('|')}> [--region <region>] (or AWS_REGION), with AWS credentials for the account`,
    );
    process.exit(2);
  }
  try {
    await bootstrapAdmin({ stage: stage as StageName, region });
  } catch (err) {
    console.error(`bootstrap-admin failed: ${(err as Error).message}`);
    process.exit(1);
  }
}
