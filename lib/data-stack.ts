import { CfnOutput, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { BackupPlan, BackupPlanRule, BackupResource, BackupVault } from 'aws-cdk-lib/aws-backup';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
  type Attribute,
} from 'aws-cdk-lib/aws-dynamodb';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { TABLE_IDS, TABLES, type KeyAttribute, type TableDefinition, type TableId } from '#platform/tables';
import type { AuditBackupConfig, StageConfig } from './stage-config';

export interface DataStackProps extends StackProps {
  readonly config: StageConfig;
}

const attribute = (key: KeyAttribute): Attribute => ({
  name: key.name,
  type: key.type === 'N' ? AttributeType.NUMBER : AttributeType.STRING,
});

/**
 * The tables, built from the shared definitions (functions/platform/tables.ts) that
 * DynamoDB Local also uses. Physical names are left to CloudFormation; functions learn them through
 * the env var each definition names.
 */
export class DataStack extends Stack {
  /** One customer-managed key encrypts every table. */
  readonly tableKey: Key;
  readonly tables: Readonly<Record<TableId, Table>>;
  /** The audit table's backups (stages with `auditBackup`): a locked vault and a daily plan. */
  readonly auditBackup?: { readonly vault: BackupVault; readonly plan: BackupPlan };

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.tableKey = new Key(this, 'TableKey', {
      description: `Charge Records (${config.stage}): DynamoDB table encryption`,
      enableKeyRotation: true,
      removalPolicy: config.removalPolicy,
      pendingWindow: config.keyPendingWindow,
    });

    const tables = {} as Record<TableId, Table>;
    for (const tableId of TABLE_IDS) tables[tableId] = this.table(tableId, TABLES[tableId], config);
    this.tables = tables;
    // `npm run bootstrap-admin` finds the table by this output (scripts/bootstrap-admin.ts).
    new CfnOutput(this, 'UsersTableName', { value: tables.users.tableName, description: 'The users table' });
    // `npm run analytics:rebuild -- --stage <stage>` reads both (scripts/analytics-rebuild.ts).
    new CfnOutput(this, 'ChargesTableName', { value: tables.charges.tableName, description: 'The charges table' });
    new CfnOutput(this, 'AnalyticsTableName', {
      value: tables.analytics.tableName,
      description: 'The analytics table',
    });
    if (config.auditBackup) this.auditBackup = this.backUpAuditTable(config.auditBackup, config);
  }

  /**
   * Daily backups of the audit table into a vault with a compliance-mode lock: once `lockChangeableFor` has passed,
   * nobody (the account root included) can delete a recovery point before `lockMinRetention`, or shorten it.
   * Point-in-time recovery covers the last 35 days; these reach back `retention`.
   */
  private backUpAuditTable(backup: AuditBackupConfig, config: StageConfig) {
    const vault = new BackupVault(this, 'AuditBackupVault', {
      backupVaultName: `charge-records-${config.stage}-audit`,
      lockConfiguration: { minRetention: backup.lockMinRetention, changeableFor: backup.lockChangeableFor },
      // Locked recovery points outlive any stack: CloudFormation could not delete the vault anyway.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const plan = new BackupPlan(this, 'AuditBackupPlan', {
      backupPlanName: `charge-records-${config.stage}-audit`,
      backupVault: vault,
      backupPlanRules: [
        new BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: Schedule.cron({ hour: '3', minute: '0' }),
          deleteAfter: backup.retention,
        }),
      ],
    });
    const selection = plan.addSelection('AuditTable', {
      resources: [BackupResource.fromDynamoDbTable(this.tables.audit)],
      allowRestores: false,
    });
    Validations.of(selection).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason: "AWS Backup's own policy for taking backups; the selection names the audit table only.",
    });
    return { vault, plan };
  }

  private table(tableId: TableId, definition: TableDefinition, config: StageConfig): Table {
    const table = new Table(this, tableId, {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey && attribute(definition.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.tableKey,
      stream: definition.stream === 'NEW_AND_OLD_IMAGES' ? StreamViewType.NEW_AND_OLD_IMAGES : undefined,
      timeToLiveAttribute: definition.ttlAttribute,
      deletionProtection: config.deletionProtection,
      removalPolicy: config.removalPolicy,
    });
    for (const index of definition.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        projectionType: ProjectionType.ALL,
      });
    }
    return table;
  }
}
