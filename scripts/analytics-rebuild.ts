/**
 * `npm run analytics:rebuild [-- --write] [-- --stage <dev|prod> --region <region>]`: recomputes every analytics
 * aggregate from the charges table and prints each difference from the kept ones; exits 1 when there is any.
 * `--write` then sets the kept aggregates to the recomputed values (best with no charge writes meanwhile: a change
 * the consumer applies during the rebuild's scan may be counted twice or not at all).
 *
 * Locally it reads the local runtime's DynamoDB (DYNAMODB_ENDPOINT, default port DYNAMODB_LOCAL_PORT or 8000). With
 * `--stage` it finds the stage's tables in the data stack's outputs and needs dynamodb:Scan on charges and
 * analytics, Query and GetItem on charges, PutItem on analytics for `--write`, and the table key's kms:Decrypt.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { STAGES, type StageName } from '#lib/stage-config';
import { dataStackName } from '#scripts/bootstrap-admin';

async function stageTables(stage: StageName, region: string): Promise<{ charges: string; analytics: string }> {
  const cloudFormation = new CloudFormationClient({ region });
  const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: dataStackName(stage) }));
  cloudFormation.destroy();
  const output = (key: string) => {
    const value = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value) throw new Error(`Stack ${dataStackName(stage)} has no output ${key}: is it deployed, and current?`);
    return value;
  };
  return { charges: output('ChargesTableName'), analytics: output('AnalyticsTableName') };
}

export async function main(argv = process.argv.slice(2), log = (line: string) => console.log(line)): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { stage: { type: 'string' }, region: { type: 'string' }, write: { type: 'boolean' } },
  });
  let tables: { charges?: string; analytics?: string } = {};
  if (values.stage) {
    if (!(STAGES as readonly string[]).includes(values.stage)) throw new Error(`Unknown stage ${values.stage}`);
    const region = values.region ?? process.env.AWS_REGION ?? 'eu-central-1';
    process.env.AWS_REGION = region;
    tables = await stageTables(values.stage as StageName, region);
  } else {
    process.env.DYNAMODB_ENDPOINT ??= `http://127.0.0.1:${process.env.DYNAMODB_LOCAL_PORT ?? 8000}`;
  }
  const { rebuild } = await import('#analytics/rebuild');
  const started = performance.now();
  const report = await rebuild({ write: values.write, ...tables });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `${report.charges} charges (${report.snapshots} versions; ${report.queried} charges read again by Query) → ` +
      `${report.expectedItems} aggregate items; ` +
      `${report.keptItems} kept; ${report.differences.length} difference(s); ${seconds} s`,
  );
  for (const d of report.differences.slice(0, 200)) {
    log(`  ${d.pk} ${d.sk} ${d.field}: kept ${d.kept}, recomputed ${d.expected}`);
  }
  if (report.differences.length > 200) log(`  … and ${report.differences.length - 200} more`);
  if (values.write && report.differences.length > 0) log('The kept aggregates are set to the recomputed values.');
  return report.differences.length > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
