import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { CfnKey } from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_IDS, TABLES, type KeyAttribute, type TableDefinition } from '#platform/tables';
import { DataStack } from '#lib/data-stack';
import { stageConfig, type StageName } from '#lib/stage-config';
import { cdkJsonContext } from './helpers';

// The data stack needs no bundling, so it is built on its own here; api-stack.test.ts covers the whole app.
function dataStack(stage: StageName) {
  const app = new App({ context: cdkJsonContext() });
  const stack = new DataStack(app, 'Data', { config: stageConfig({ stage }) });
  return { stack, template: Template.fromStack(stack) };
}

const keySchema = (definition: { partitionKey: KeyAttribute; sortKey?: KeyAttribute }) => [
  { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
  ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
];

function keyAttributes(definition: TableDefinition): KeyAttribute[] {
  const all = [
    definition.partitionKey,
    definition.sortKey,
    ...definition.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  const unique = new Map(all.filter((a): a is KeyAttribute => a !== undefined).map((a) => [a.name, a]));
  return [...unique.values()];
}

describe('data stack (dev)', () => {
  let template: Template;
  let stack: DataStack;
  let keyLogicalId: string;

  beforeAll(() => {
    ({ stack, template } = dataStack('dev'));
    keyLogicalId = stack.getLogicalId(stack.tableKey.node.defaultChild as CfnKey);
  });

  it('has one customer-managed KMS key with rotation on', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(Object.keys(template.findResources('AWS::KMS::Key'))).toEqual([keyLogicalId]);
  });

  it.each(TABLE_IDS)('table %s matches its shared definition', (tableId) => {
    const definition: TableDefinition = TABLES[tableId];
    const logicalId = stack.getLogicalId(stack.tables[tableId].node.defaultChild as CfnTable);
    const props = template.findResources('AWS::DynamoDB::Table')[logicalId]?.Properties as Record<string, unknown>;
    expect(props, `no table resource for ${tableId}`).toBeDefined();

    // Exactly this table's properties: the whole expectation must hold for one resource.
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: keySchema(definition),
      AttributeDefinitions: Match.arrayWith(
        keyAttributes(definition).map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
      ),
      GlobalSecondaryIndexes:
        definition.indexes.length === 0
          ? Match.absent()
          : definition.indexes.map((index) => ({
              IndexName: index.indexName,
              KeySchema: keySchema(index),
              Projection: { ProjectionType: 'ALL' },
            })),
      StreamSpecification: definition.stream ? { StreamViewType: definition.stream } : Match.absent(),
      TimeToLiveSpecification: definition.ttlAttribute
        ? { AttributeName: definition.ttlAttribute, Enabled: true }
        : Match.absent(),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyLogicalId, 'Arn'] } },
      // Physical names are CloudFormation's: a hard-coded name blocks replacement and clashes across stages.
      TableName: Match.absent(),
    });
    // And that resource is the one CDK built for this id (attribute types checked exactly, no extras).
    expect(props.AttributeDefinitions).toHaveLength(keyAttributes(definition).length);
  });

  it('leaves dev tables destroyable', () => {
    for (const tableId of TABLE_IDS) {
      const logicalId = stack.getLogicalId(stack.tables[tableId].node.defaultChild as CfnTable);
      const resource = template.findResources('AWS::DynamoDB::Table')[logicalId]!;
      expect(resource.DeletionPolicy).toBe('Delete');
      expect(resource.Properties.DeletionProtectionEnabled ?? false).toBe(false);
    }
  });
});

describe('data stack (prod)', () => {
  let template: Template;

  beforeAll(() => {
    ({ template } = dataStack('prod'));
  });

  it('protects every table from deletion and retains it', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(TABLE_IDS.length);
    for (const tableId of TABLE_IDS) {
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: Match.objectLike({ KeySchema: keySchema(TABLES[tableId]), DeletionProtectionEnabled: true }),
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
  });

  it('retains the table key', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true, PendingWindowInDays: 30 }),
      DeletionPolicy: 'Retain',
    });
  });

  it('backs the audit table up daily for a year into a vault with a compliance-mode lock', () => {
    const [vault] = Object.keys(template.findResources('AWS::Backup::BackupVault'));
    template.hasResource('AWS::Backup::BackupVault', {
      Properties: Match.objectLike({
        BackupVaultName: 'charge-records-prod-audit',
        // ChangeableForDays makes it compliance mode: after 3 days nobody can lift or shorten the lock.
        LockConfiguration: { MinRetentionDays: 30, ChangeableForDays: 3 },
      }),
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanName: 'charge-records-prod-audit',
        BackupPlanRule: [
          Match.objectLike({
            RuleName: 'Daily',
            TargetBackupVault: { 'Fn::GetAtt': [vault, 'BackupVaultName'] },
            ScheduleExpression: 'cron(0 3 * * ? *)',
            Lifecycle: { DeleteAfterDays: 365 },
          }),
        ],
      },
    });
    // Exactly the audit table is selected.
    const auditTable = Object.entries(template.findResources('AWS::DynamoDB::Table')).find(([id]) =>
      id.startsWith('audit'),
    )![0];
    template.hasResourceProperties('AWS::Backup::BackupSelection', {
      BackupSelection: Match.objectLike({ Resources: [{ 'Fn::GetAtt': [auditTable, 'Arn'] }] }),
    });
    expect(Object.keys(template.findResources('AWS::Backup::BackupSelection'))).toHaveLength(1);
  });

  it('names the users table in an output, for npm run bootstrap-admin', () => {
    const users = Object.keys(template.findResources('AWS::DynamoDB::Table')).find((id) => id.startsWith('users'))!;
    template.hasOutput('UsersTableName', { Value: { Ref: users } });
  });
});

it('dev has no audit backup: a locked vault would outlive the teardown dev is for', () => {
  const { template } = dataStack('dev');
  expect(template.findResources('AWS::Backup::BackupVault')).toEqual({});
  expect(template.findResources('AWS::Backup::BackupPlan')).toEqual({});
  expect(stageConfig({ stage: 'dev', auditBackup: 'true' }).auditBackup).toMatchObject({
    lockChangeableFor: Duration.days(3),
  });
  expect(stageConfig({ stage: 'prod', auditBackup: 'false' }).auditBackup).toBeUndefined();
});

it('rejects an unknown stage', () => {
  expect(() => stageConfig({ stage: 'qa' })).toThrow(/Unknown stage "qa"/);
  expect(stageConfig({}).stage).toBe('dev');
});
