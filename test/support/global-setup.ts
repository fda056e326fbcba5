import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '#local/dynamodb-local';
import { freePort } from '#local/free-port';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

/** Starts one in-memory DynamoDB Local (the real jar) for every test file of the run. */
export default async function setup(project: TestProject) {
  const dynamo = await startDynamoDbLocal({ port: await freePort() });
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
