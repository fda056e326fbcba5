import { Stack, type StackProps } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
  type Attribute,
} from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { TABLE_IDS, TABLES, type KeyAttribute, type TableDefinition, type TableId } from '#platform/tables';
import type { StageConfig } from './stage-config';

export interface DataStackProps extends StackProps {
  readonly config: StageConfig;
}

const attribute = (key: KeyAttribute): Attribute => ({
  name: key.name,
  type: key.type === 'N' ? AttributeType.NUMBER : AttributeType.STRING,
});

/**
 * The five tables, built from the shared definitions (functions/platform/tables.ts) that
 * DynamoDB Local also uses. Physical names are left to CloudFormation; functions learn them through
 * the env var each definition names.
 */
export class DataStack extends Stack {
  /** One customer-managed key encrypts every table. */
  readonly tableKey: Key;
  readonly tables: Readonly<Record<TableId, Table>>;

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
