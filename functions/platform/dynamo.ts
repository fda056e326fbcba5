import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Config, config } from './config';

let client: DynamoDBClient | undefined;
let documentClient: DynamoDBDocumentClient | undefined;

/**
 * SDK clients live for the whole process (reused across warm invocations). Locally they point at
 * DynamoDB Local through DYNAMODB_ENDPOINT; in AWS that variable is unset.
 */
export function dynamoClient(): DynamoDBClient {
  client ??= new DynamoDBClient(dynamoClientConfig(config()));
  return client;
}

/**
 * In AWS, DynamoDB answers in milliseconds: a connection that hangs is an outage, to be failed fast (then 503
 * `UNAVAILABLE`, functions/platform/http/error-response.ts) rather than waited on until the Lambda times out. The SDK
 * retries up to three attempts, so a hung DynamoDB costs at most about 3 × `requestTimeout`. DynamoDB Local on a
 * busy laptop or CI machine can be slow, and there the SDK's defaults stay.
 */
export const AWS_DYNAMODB_TIMEOUTS = {
  connectionTimeout: 1_000,
  requestTimeout: 2_000,
  // Without it the SDK only logs a warning when the request timeout passes and keeps waiting.
  throwOnRequestTimeout: true,
} as const;

export function dynamoClientConfig({
  DYNAMODB_ENDPOINT,
  AWS_REGION,
}: Pick<Config, 'DYNAMODB_ENDPOINT' | 'AWS_REGION'>): DynamoDBClientConfig {
  return DYNAMODB_ENDPOINT
    ? {
        region: AWS_REGION,
        endpoint: DYNAMODB_ENDPOINT,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }
    : { region: AWS_REGION, requestHandler: { ...AWS_DYNAMODB_TIMEOUTS } };
}

export function documentDb(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(dynamoClient(), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}
